//! Just enough SQL text handling to run a dump's schema file against the
//! target: split it into statements, find its `CREATE TABLE` / `CREATE
//! DATABASE`, and put the target's name (after routing) and `IF NOT EXISTS`
//! in front of the definition, which is kept as written.

/// Statements of `text`, split at `;` outside quotes and comments; blank
/// ones dropped.
pub fn statements(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(b, i, q),
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' => i = skip_line(b, i),
            b';' => {
                out.push(&text[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(&text[start..]);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// What a schema statement creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creates {
    Table,
    Database,
}

/// For `CREATE TABLE|DATABASE|SCHEMA [IF NOT EXISTS] name ...`, the text
/// after the name (`(...) ENGINE=...`, `DEFAULT CHARSET ...`); `None` for
/// any other statement.
pub fn definition_after_name(stmt: &str, creates: Creates) -> Option<&str> {
    let b = stmt.as_bytes();
    let mut i = skip_space(b, 0);
    i = keyword(b, i, "CREATE")?;
    i = skip_space(b, i);
    let kinds: &[&str] = match creates {
        Creates::Table => &["TABLE"],
        Creates::Database => &["DATABASE", "SCHEMA"],
    };
    i = kinds.iter().find_map(|k| keyword(b, i, k))?;
    i = skip_space(b, i);
    if let Some(j) = keyword(b, i, "IF") {
        let j = keyword(b, skip_space(b, j), "NOT")?;
        i = skip_space(b, keyword(b, skip_space(b, j), "EXISTS")?);
    }
    i = identifier(b, i)?;
    // `db`.`t`: the name as written is replaced whole.
    let j = skip_space(b, i);
    if b.get(j) == Some(&b'.') {
        i = identifier(b, skip_space(b, j + 1))?;
    }
    Some(&stmt[i..])
}

/// `name` as a backquoted identifier.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn keyword(b: &[u8], i: usize, word: &str) -> Option<usize> {
    let end = i + word.len();
    let text = b.get(i..end)?;
    let boundary = b
        .get(end)
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
    (text.eq_ignore_ascii_case(word.as_bytes()) && boundary).then_some(end)
}

fn identifier(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'`' => {
            let end = skip_quoted(b, i, b'`');
            (end <= b.len() && b.get(end - 1) == Some(&b'`')).then_some(end)
        }
        _ => {
            let len = b[i..]
                .iter()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || **c == b'_' || **c == b'$' || **c >= 0x80
                })
                .count();
            (len > 0).then_some(i + len)
        }
    }
}

/// Whitespace and comments, but not `/*! ... */`: MySQL runs those.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_whitespace() => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                i = skip_block_comment(b, i)
            }
            Some(b'-') if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            Some(b'#') => i = skip_line(b, i),
            _ => return i,
        }
    }
}

/// Past the closing quote (a doubled quote or a backslash escapes).
fn skip_quoted(b: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q != b'`' => i += 2,
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_block_comment(b: &[u8], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < b.len() {
        if b[i] == b'*' && b[i + 1] == b'/' {
            return i + 2;
        }
        i += 1;
    }
    b.len()
}

fn skip_line(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| start + p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_schema_file_splits_and_its_name_is_found() {
        let text = "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n\
                    -- a; comment\nCREATE TABLE `o``ld` (\n  `a` int COMMENT 'x;y',\n  b text\n) ENGINE=InnoDB;\n";
        let stmts = statements(text);
        assert_eq!(stmts.len(), 3, "{stmts:?}");
        assert_eq!(definition_after_name(stmts[0], Creates::Table), None);
        let def = definition_after_name(stmts[2], Creates::Table).expect("a CREATE TABLE");
        assert!(def.starts_with(" (\n  `a` int COMMENT 'x;y'"), "{def}");
        assert!(def.trim_end().ends_with("ENGINE=InnoDB"), "{def}");
    }

    #[test]
    fn qualified_names_if_not_exists_and_databases() {
        let def =
            definition_after_name("create table if not exists db.t1 (id int)", Creates::Table);
        assert_eq!(def, Some(" (id int)"));
        let def = definition_after_name(
            "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
            Creates::Database,
        );
        assert_eq!(def, Some(" /*!40100 DEFAULT CHARACTER SET utf8mb4 */"));
        assert_eq!(
            definition_after_name("CREATE TABLEX t (a int)", Creates::Table),
            None
        );
        assert_eq!(quote("a`b"), "`a``b`");
    }
}
