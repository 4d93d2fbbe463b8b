//! JSON extraction: `JSON_EXTRACT(doc, path[, path ...])`, `col->'path'`
//! (the same) and `col->>'path'` / `JSON_UNQUOTE` (the result unquoted),
//! with MySQL's path language (`$`, `.key`, `."quoted key"`, `[n]`,
//! `[last]`, `[last - n]`; wildcards are refused) and TiDB's JSON text
//! (`{"a": 1, "b": [1, 2]}`, object keys in byte order).

use serde_json::Value;

use super::value::{text, V};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leg {
    Key(String),
    /// `[n]` (`from_end` false) or `[last - n]` (`from_end` true).
    Index {
        n: usize,
        from_end: bool,
    },
}

/// `JSON_EXTRACT(doc, paths...)`: NULL when the document or a path is
/// NULL; one path gives the value found (or NULL), several give an array of
/// the values found (NULL when none is).
pub(super) fn extract(vals: &[V]) -> Result<V, String> {
    if vals.len() < 2 {
        return Err("JSON_EXTRACT takes a document and at least one path".into());
    }
    if vals.iter().any(V::is_null) {
        return Ok(V::Null);
    }
    let doc = as_json(&vals[0])?;
    let mut found = Vec::new();
    for p in &vals[1..] {
        let path = parse_path(&String::from_utf8_lossy(&text(p)))?;
        if let Some(v) = walk(&doc, &path) {
            found.push(v.clone());
        }
    }
    Ok(match (vals.len(), found.len()) {
        (_, 0) => V::Null,
        (2, _) => V::Json(found.remove(0)),
        _ => V::Json(Value::Array(found)),
    })
}

/// `JSON_UNQUOTE(v)`: a JSON string's contents; other JSON values as text;
/// text that is a quoted JSON string is unquoted, other text is kept.
pub(super) fn unquote(v: &V) -> Result<V, String> {
    Ok(match v {
        V::Null => V::Null,
        V::Json(Value::String(s)) => V::Str(s.clone().into_bytes()),
        V::Json(j) => V::Str(json_text(j).into_bytes()),
        other => {
            let t = text(other);
            if t.len() >= 2 && t.starts_with(b"\"") && t.ends_with(b"\"") {
                let s: String = serde_json::from_slice(&t)
                    .map_err(|e| format!("JSON_UNQUOTE: invalid JSON text: {e}"))?;
                V::Str(s.into_bytes())
            } else {
                V::Str(t)
            }
        }
    })
}

/// A document argument: a JSON value, or text parsed as JSON.
fn as_json(v: &V) -> Result<Value, String> {
    match v {
        V::Json(j) => Ok(j.clone()),
        other => serde_json::from_slice(&text(other))
            .map_err(|e| format!("invalid JSON text in argument 1 to function json_extract: {e}")),
    }
}

fn walk<'a>(doc: &'a Value, path: &[Leg]) -> Option<&'a Value> {
    let mut at = doc;
    for leg in path {
        at = match (leg, at) {
            (Leg::Key(k), Value::Object(m)) => m.get(k)?,
            (Leg::Index { n, from_end }, Value::Array(a)) => {
                let i = if *from_end {
                    a.len().checked_sub(1 + n)?
                } else {
                    *n
                };
                a.get(i)?
            }
            // MySQL: a non-array is an array of one element for `[0]`/`[last]`.
            (Leg::Index { n: 0, .. }, v) => v,
            _ => return None,
        };
    }
    Some(at)
}

fn parse_path(p: &str) -> Result<Vec<Leg>, String> {
    let bad = |why: &str| format!("invalid JSON path expression {p:?}: {why}");
    let s = p.trim();
    let mut rest = s
        .strip_prefix('$')
        .ok_or_else(|| bad("it must start with $"))?;
    let mut legs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(legs);
        }
        if rest.starts_with("**") || rest.starts_with(".*") || rest.starts_with("[*") {
            return Err(bad("wildcards are not supported by Squall"));
        }
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if let Some(q) = r.strip_prefix('"') {
                let end = closing_quote(q).ok_or_else(|| bad("unterminated quoted key"))?;
                let key: String = serde_json::from_str(&format!("\"{}\"", &q[..end]))
                    .map_err(|_| bad("bad quoted key"))?;
                legs.push(Leg::Key(key));
                rest = &q[end + 1..];
            } else {
                let end = r
                    .find(|c: char| c == '.' || c == '[' || c.is_whitespace())
                    .unwrap_or(r.len());
                if end == 0 {
                    return Err(bad("empty key"));
                }
                legs.push(Leg::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("unterminated `[`"))?;
            let inner = r[..end].trim();
            let leg = if let Some(tail) = inner.strip_prefix("last") {
                let tail = tail.trim();
                let n = match tail.strip_prefix('-') {
                    Some(k) => k.trim().parse().map_err(|_| bad("bad [last - n]"))?,
                    None if tail.is_empty() => 0,
                    None => return Err(bad("bad [last ...]")),
                };
                Leg::Index { n, from_end: true }
            } else {
                let n = inner
                    .parse()
                    .map_err(|_| bad("array index is not a number"))?;
                Leg::Index { n, from_end: false }
            };
            legs.push(leg);
            rest = &r[end + 1..];
        } else {
            return Err(bad("expected `.key` or `[n]`"));
        }
    }
}

/// The index of the `"` closing a quoted key (`\"` does not close it).
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// TiDB's JSON text: `", "` and `": "` separators, object keys in byte
/// order, strings with `"`, `\` and control characters escaped.
pub(super) fn json_text(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(k, out);
                out.push_str(": ");
                write_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(t: &str) -> V {
        V::Str(t.as_bytes().to_vec())
    }

    #[test]
    fn extract_follows_mysql_paths() {
        let doc = V::Json(json!({"a": {"b": [10, {"c": "x"}]}, "k y": 1}));
        let get = |p: &str| extract(&[doc.clone(), s(p)]).expect("extracts");
        assert_eq!(get("$.a.b[0]"), V::Json(json!(10)));
        assert_eq!(get("$.a.b[1].c"), V::Json(json!("x")));
        assert_eq!(get("$.a.b[last]"), V::Json(json!({"c": "x"})));
        assert_eq!(get("$.a.b[last - 1]"), V::Json(json!(10)));
        assert_eq!(get("$.\"k y\""), V::Json(json!(1)));
        assert_eq!(get("$.a.b[5]"), V::Null, "missing: NULL");
        assert_eq!(get("$.a.zz"), V::Null);
        // A scalar is an array of one for [0].
        assert_eq!(get("$.\"k y\"[0]"), V::Json(json!(1)));
        // Several paths: an array of what is found.
        assert_eq!(
            extract(&[doc.clone(), s("$.a.b[0]"), s("$.nope")]).expect("two paths"),
            V::Json(json!([10]))
        );
        // NULL propagates; text documents are parsed.
        assert_eq!(extract(&[V::Null, s("$.a")]).expect("null"), V::Null);
        assert_eq!(
            extract(&[s("{\"n\": [1, 2]}"), s("$.n[1]")]).expect("text doc"),
            V::Json(json!(2))
        );
        assert!(
            extract(&[doc.clone(), s("$.a.*")]).is_err(),
            "wildcard refused"
        );
        assert!(extract(&[doc, s("a.b")]).is_err(), "no $");
        assert!(extract(&[s("{oops"), s("$")]).is_err(), "invalid JSON");
    }

    #[test]
    fn unquote_and_text_follow_tidb() {
        assert_eq!(unquote(&V::Json(json!("a\"b"))).expect("s"), s("a\"b"));
        assert_eq!(
            unquote(&V::Json(json!([1, "x"]))).expect("a"),
            s("[1, \"x\"]")
        );
        assert_eq!(unquote(&s("\"q\\n\"")).expect("text"), s("q\n"));
        assert_eq!(unquote(&s("plain")).expect("text"), s("plain"));
        assert_eq!(
            json_text(&json!({"b": 1, "aa": {"x": null, "w": true}})),
            "{\"aa\": {\"w\": true, \"x\": null}, \"b\": 1}"
        );
    }
}
