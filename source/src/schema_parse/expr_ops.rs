//! Expression operators beyond partition arithmetic, for generated columns
//! and expression indexes: comparisons and the JSON arrows. The lexer gives
//! one-character punctuation, so `<=`, `->>` and friends are read as
//! adjacent characters.

use squall_common::schema::PartitionExpr;

use super::grammar::{ParseError, Parser};
use super::lexer::Tok;

/// Comparison operators, longest first (`<=>` before `<=` before `<`).
const COMPARISONS: &[&str] = &["<=>", "<=", ">=", "<>", "!=", "=", "<", ">"];

impl Parser<'_> {
    /// `sum (cmp sum)?`: a comparison is not associative in practice, and
    /// MySQL's `a < b < c` is rare enough in schemas to be refused.
    pub(crate) fn cmp_expr(&mut self) -> Result<PartitionExpr, ParseError> {
        let left = self.part_expr()?;
        let Some(op) = COMPARISONS.iter().find(|op| self.is_op(op)) else {
            return Ok(left);
        };
        self.i += op.chars().count();
        let right = self.part_expr()?;
        if COMPARISONS.iter().any(|op| self.is_op(op)) {
            return self.err("chained comparisons are not supported; use parentheses");
        }
        let op = if *op == "!=" { "<>" } else { op };
        Ok(PartitionExpr::Binary(
            op.to_string(),
            Box::new(left),
            Box::new(right),
        ))
    }

    /// `col->'path'` and `col->>'path'` after a column name.
    pub(crate) fn json_arrows(&mut self, col: PartitionExpr) -> Result<PartitionExpr, ParseError> {
        let unquote = if self.is_op("->>") {
            true
        } else if self.is_op("->") {
            false
        } else {
            return Ok(col);
        };
        self.i += if unquote { 3 } else { 2 };
        let path = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            _ => {
                return self.err(format!(
                    "expected a JSON path string after `->`, found {}",
                    self.describe()
                ))
            }
        };
        self.i += 1;
        let extract =
            PartitionExpr::Call("JSON_EXTRACT".into(), vec![col, PartitionExpr::Str(path)]);
        Ok(if unquote {
            PartitionExpr::Call("JSON_UNQUOTE".into(), vec![extract])
        } else {
            extract
        })
    }

    /// `CAST(expr AS type)` after the `CAST` word, as `CAST(expr, 'TYPE')`
    /// with the type one of `CHAR[(n)]`, `SIGNED`, `UNSIGNED`, `DATE`
    /// (what expression indexes over JSON or text need); other types are
    /// refused here, by name.
    pub(crate) fn cast(&mut self) -> Result<PartitionExpr, ParseError> {
        self.expect_punct('(')?;
        let e = self.cmp_expr()?;
        self.expect_kw("AS")?;
        let ty = match self.peek() {
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            _ => {
                return self.err(format!(
                    "expected a type after AS, found {}",
                    self.describe()
                ))
            }
        };
        self.i += 1;
        let ty = match ty.as_str() {
            "CHAR" => {
                if self.eat_punct('(') {
                    let n = self.number()?;
                    self.expect_punct(')')?;
                    format!("CHAR({n})")
                } else {
                    "CHAR".to_string()
                }
            }
            "SIGNED" | "UNSIGNED" => {
                self.eat_kw("INTEGER");
                self.eat_kw("INT");
                ty
            }
            "DATE" => ty,
            other => {
                return self.err(format!(
                    "CAST(... AS {other}) cannot be evaluated by Squall (it casts to CHAR, SIGNED, UNSIGNED, DATE)"
                ))
            }
        };
        self.expect_punct(')')?;
        Ok(PartitionExpr::Call(
            "CAST".into(),
            vec![e, PartitionExpr::Str(ty)],
        ))
    }

    /// Whether the next tokens are the characters of `op`, with no space
    /// between them.
    fn is_op(&self, op: &str) -> bool {
        let mut prev_end = None;
        for (k, c) in op.chars().enumerate() {
            let Some(t) = self.toks.get(self.i + k) else {
                return false;
            };
            if t.tok != Tok::Punct(c) || prev_end.is_some_and(|e| e != t.start) {
                return false;
            }
            prev_end = Some(t.end);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::schema_parse::parse_expression;

    #[test]
    fn comparisons_and_json_arrows() {
        let show = |s: &str| parse_expression(s).expect("parses").to_string();
        assert_eq!(show("a + 1 >= b"), "((`a` + 1) >= `b`)");
        assert_eq!(show("a != 'x'"), "(`a` <> 'x')");
        assert_eq!(show("a <=> NULL"), "(`a` <=> NULL)");
        assert_eq!(show("j->'$.a[0]'"), "JSON_EXTRACT(`j`, '$.a[0]')");
        assert_eq!(
            show("LOWER(j->>\"$.name\")"),
            "LOWER(JSON_UNQUOTE(JSON_EXTRACT(`j`, '$.name')))"
        );
        assert_eq!(show("(a < 3)"), "(`a` < 3)");
        assert!(parse_expression("a < b < c").is_err());
        assert_eq!(
            show("CAST(j->>'$.n' AS CHAR(8))"),
            "CAST(JSON_UNQUOTE(JSON_EXTRACT(`j`, '$.n')), 'CHAR(8)')"
        );
        assert_eq!(show("cast(a as unsigned integer)"), "CAST(`a`, 'UNSIGNED')");
        assert!(parse_expression("CAST(a AS DECIMAL(4, 2))").is_err());
        // `a - > b` with a space is not an arrow.
        assert!(parse_expression("a - > 'x'").is_err());
    }
}
