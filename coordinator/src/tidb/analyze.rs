//! `post-restore.analyze`: `ANALYZE TABLE` once a table's data is in, so
//! the optimizer sees the imported rows. Plain SQL on any server; MySQL and
//! MariaDB answer with a status row per table, TiDB with none.

use mysql_async::prelude::Queryable;
use mysql_async::Row;

use super::connect::Session;
use super::error::TidbError;

/// Runs `ANALYZE TABLE`; `Ok` with the server's status text ("OK" when it
/// sent none), `Err` when the server reported an error row or the
/// statement failed.
pub async fn analyze_table(session: &mut Session, qualified: &str) -> Result<String, TidbError> {
    let sql = format!("ANALYZE TABLE {qualified}");
    let what = format!("`{sql}`");
    let rows: Vec<Row> = session.run(&what, |c| c.query(sql.clone())).await?;
    let mut status = Vec::new();
    for row in &rows {
        let kind: Option<String> = row.get_opt("Msg_type").and_then(Result::ok);
        let text: Option<String> = row.get_opt("Msg_text").and_then(Result::ok);
        let (kind, text) = (kind.unwrap_or_default(), text.unwrap_or_default());
        if kind.eq_ignore_ascii_case("error") {
            return Err(TidbError::Target {
                addr: session.addr().to_string(),
                reason: format!("{sql}: {text}"),
            });
        }
        status.push(format!("{kind}: {text}"));
    }
    Ok(match status.is_empty() {
        true => "OK".to_string(),
        false => status.join("; "),
    })
}
