//! `PARTITION BY ...` clauses: the method, its expression or columns, and
//! each partition's bound, into [`PartitionScheme`]. The worker routes rows
//! with it; `build.rs` checks that it only uses what the worker evaluates.

use squall_common::schema::{PartitionBound, PartitionExpr, PartitionMethod, PartitionScheme};

use super::grammar::{ParseError, Parser, PartitionDef};
use super::lexer::Tok;

/// Functions a partitioning expression may use (what the worker evaluates;
/// TiDB allows a few more, which are refused by name).
pub(crate) const FUNCTIONS: &[&str] = &[
    "YEAR",
    "MONTH",
    "DAY",
    "DAYOFMONTH",
    "TO_DAYS",
    "TO_SECONDS",
    "UNIX_TIMESTAMP",
    "FLOOR",
    "CEILING",
    "CEIL",
    "ABS",
    "MOD",
];

/// Functions a generated column's expression may use (what the worker
/// evaluates; anything else is refused at planning, by name).
pub const GENERATED_FUNCTIONS: &[&str] = &[
    "CONCAT",
    "LOWER",
    "LCASE",
    "UPPER",
    "UCASE",
    "SUBSTRING",
    "SUBSTR",
    "LEFT",
    "RIGHT",
    "LENGTH",
    "CHAR_LENGTH",
    "IFNULL",
    "COALESCE",
    "ABS",
    "YEAR",
    "MONTH",
    "DAY",
    "DAYOFMONTH",
    "TO_DAYS",
    "DATE",
    "HOUR",
    "MINUTE",
    "SECOND",
    "QUARTER",
    "DAYOFWEEK",
    "WEEKDAY",
    "DAYOFYEAR",
    "DATEDIFF",
    "DATE_FORMAT",
    "JSON_EXTRACT",
    "JSON_UNQUOTE",
    "CAST",
];

/// Parses an expression as written in a schema (`a + 1`, `CONCAT(a, 'x')`)
/// into the shared expression tree: numbers, strings, NULL, columns,
/// `+ - * / DIV MOD %`, unary minus, comparisons, `col->'$.p'` /
/// `col->>'$.p'` (as `JSON_EXTRACT` / `JSON_UNQUOTE(JSON_EXTRACT(..))`,
/// which is what TiDB rewrites them to) and function calls. Anything else
/// (`CASE`, `AND`/`OR`, ...) is an error.
pub fn parse_expression(text: &str) -> Result<PartitionExpr, String> {
    let toks = super::lexer::tokenize(text).map_err(|(_, r)| r)?;
    let mut p = Parser::new(&toks, text);
    let e = p.cmp_expr().map_err(|(_, r)| r)?;
    if p.i != toks.len() {
        return Err(format!("cannot read `{}`", &text[toks[p.i].start..]));
    }
    Ok(e)
}

impl Parser<'_> {
    /// `PARTITION BY [LINEAR] method (expr | cols) [PARTITIONS n]
    /// [(PARTITION p [VALUES ...] [options], ...)]`.
    pub(crate) fn partition(&mut self) -> Result<PartitionDef, ParseError> {
        let offset = self.offset();
        self.expect_kw("PARTITION")?;
        self.expect_kw("BY")?;
        let mut kind = Vec::new();
        while let Some(Tok::Word(w)) = self.peek() {
            kind.push(w.to_ascii_uppercase());
            self.i += 1;
            if kind.last().is_some_and(|k| k == "ALGORITHM") {
                // `KEY ALGORITHM = 2 (a)`: the algorithm does not change TiDB's hash.
                self.eat_punct('=');
                self.number()?;
                kind.pop();
            }
        }
        let words: Vec<&str> = kind
            .iter()
            .map(String::as_str)
            .filter(|w| *w != "LINEAR")
            .collect();
        let method = match words.as_slice() {
            ["RANGE"] => PartitionMethod::Range,
            ["RANGE", "COLUMNS"] => PartitionMethod::RangeColumns,
            ["LIST"] => PartitionMethod::List,
            ["LIST", "COLUMNS"] => PartitionMethod::ListColumns,
            ["HASH"] => PartitionMethod::Hash,
            ["KEY"] => PartitionMethod::Key,
            _ => return self.err(format!("unsupported partitioning `{}`", kind.join(" "))),
        };
        let expr_start = self.i;
        let expr_text = self.skip_group()?;
        let after = self.i;
        self.i = expr_start;
        self.expect_punct('(')?;
        let (expr, columns) = match method {
            PartitionMethod::Range | PartitionMethod::List | PartitionMethod::Hash => {
                (Some(self.part_expr()?), Vec::new())
            }
            _ => {
                let mut cols = Vec::new();
                while !self.is_punct(')') {
                    cols.push(self.ident()?);
                    if !self.eat_punct(',') {
                        break;
                    }
                }
                (None, cols)
            }
        };
        self.expect_punct(')')?;
        if self.i != after {
            return self.err("unexpected text in the partitioning expression");
        }
        let mut names = Vec::new();
        let mut bounds = Vec::new();
        if self.eat_kw("PARTITIONS") {
            let n = self.number()?;
            names = (0..n).map(|i| format!("p{i}")).collect();
            bounds = vec![PartitionBound::Numbered; names.len()];
        }
        if self.is_kw("SUBPARTITION") {
            return self.err("SUBPARTITION BY is not supported");
        }
        if self.eat_punct('(') {
            names.clear();
            bounds.clear();
            loop {
                self.expect_kw("PARTITION")?;
                names.push(self.ident()?);
                bounds.push(self.partition_bound(method)?);
                // Options: ENGINE = x, COMMENT = '...', placement, ...
                while self.peek().is_some() && !self.is_punct(',') && !self.is_punct(')') {
                    if self.is_punct('(') {
                        self.skip_group()?;
                    } else {
                        self.i += 1;
                    }
                }
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        if names.is_empty() {
            names.push("p0".into());
            bounds.push(PartitionBound::Numbered);
        }
        Ok(PartitionDef {
            kind: kind.join(" "),
            expr: expr_text,
            names,
            scheme: PartitionScheme {
                method,
                expr,
                columns,
                bounds,
            },
            offset,
        })
    }

    fn partition_bound(&mut self, method: PartitionMethod) -> Result<PartitionBound, ParseError> {
        if self.eat_kw("DEFAULT") {
            return Ok(PartitionBound::Default);
        }
        if !self.eat_kw("VALUES") {
            return Ok(PartitionBound::Numbered);
        }
        if self.eat_kw("LESS") {
            self.expect_kw("THAN")?;
            if self.eat_kw("MAXVALUE") {
                return Ok(PartitionBound::LessThan(vec![PartitionExpr::MaxValue]));
            }
            return Ok(PartitionBound::LessThan(self.expr_list()?));
        }
        self.expect_kw("IN")?;
        self.expect_punct('(')?;
        if self.eat_kw("DEFAULT") {
            self.expect_punct(')')?;
            return Ok(PartitionBound::Default);
        }
        let mut tuples = Vec::new();
        loop {
            // LIST COLUMNS with several columns lists tuples `(a, b)`.
            if method == PartitionMethod::ListColumns && self.is_punct('(') {
                tuples.push(self.expr_list()?);
            } else {
                tuples.push(vec![self.part_expr()?]);
            }
            if !self.eat_punct(',') {
                break;
            }
        }
        self.expect_punct(')')?;
        Ok(PartitionBound::In(tuples))
    }

    fn expr_list(&mut self) -> Result<Vec<PartitionExpr>, ParseError> {
        self.expect_punct('(')?;
        let mut out = Vec::new();
        loop {
            out.push(self.part_expr()?);
            if !self.eat_punct(',') {
                break;
            }
        }
        self.expect_punct(')')?;
        Ok(out)
    }

    /// `term (('+' | '-') term)*`.
    pub(crate) fn part_expr(&mut self) -> Result<PartitionExpr, ParseError> {
        let mut left = self.part_term()?;
        loop {
            let op = if self.eat_punct('+') {
                "+"
            } else if self.eat_punct('-') {
                "-"
            } else {
                return Ok(left);
            };
            let right = self.part_term()?;
            left = PartitionExpr::Binary(op.into(), Box::new(left), Box::new(right));
        }
    }

    fn part_term(&mut self) -> Result<PartitionExpr, ParseError> {
        let mut left = self.part_unary()?;
        loop {
            let op = if self.eat_punct('*') {
                "*"
            } else if self.eat_punct('/') {
                "/"
            } else if self.eat_punct('%') || self.eat_kw("MOD") {
                "MOD"
            } else if self.eat_kw("DIV") {
                "DIV"
            } else {
                return Ok(left);
            };
            let right = self.part_unary()?;
            left = PartitionExpr::Binary(op.into(), Box::new(left), Box::new(right));
        }
    }

    fn part_unary(&mut self) -> Result<PartitionExpr, ParseError> {
        if self.eat_punct('-') {
            return Ok(match self.part_unary()? {
                PartitionExpr::Number(n) if !n.starts_with('-') => {
                    PartitionExpr::Number(format!("-{n}"))
                }
                e => PartitionExpr::Neg(Box::new(e)),
            });
        }
        if self.eat_punct('+') {
            return self.part_unary();
        }
        if self.is_punct('(') {
            self.expect_punct('(')?;
            let e = self.cmp_expr()?;
            self.expect_punct(')')?;
            return Ok(e);
        }
        let tok = self.peek().cloned();
        match tok {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(PartitionExpr::Number(n))
            }
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(PartitionExpr::Str(s))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => {
                self.i += 1;
                Ok(PartitionExpr::Null)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("MAXVALUE") => {
                self.i += 1;
                Ok(PartitionExpr::MaxValue)
            }
            Some(Tok::Word(w))
                if w.starts_with('_')
                    && matches!(self.toks.get(self.i + 1).map(|t| &t.tok), Some(Tok::Str(_))) =>
            {
                // `_utf8mb4'abc'`: the introducer does not change the value.
                self.i += 1;
                self.part_unary()
            }
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("CAST")
                    && self.toks.get(self.i + 1).map(|t| &t.tok) == Some(&Tok::Punct('(')) =>
            {
                self.i += 1;
                self.cast()
            }
            Some(Tok::Word(w))
                if self.toks.get(self.i + 1).map(|t| &t.tok) == Some(&Tok::Punct('(')) =>
            {
                self.i += 1;
                self.expect_punct('(')?;
                let mut args = Vec::new();
                while !self.is_punct(')') {
                    args.push(self.cmp_expr()?);
                    if !self.eat_punct(',') {
                        break;
                    }
                }
                self.expect_punct(')')?;
                Ok(PartitionExpr::Call(w.to_ascii_uppercase(), args))
            }
            Some(Tok::Word(w) | Tok::Ident(w)) => {
                self.i += 1;
                self.json_arrows(PartitionExpr::Column(w))
            }
            _ => self.err(format!(
                "expected a value in the partition definition, found {}",
                self.describe()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_parse::lexer::tokenize;

    fn parse(sql: &str) -> PartitionDef {
        let toks = tokenize(sql).expect("tokens");
        let mut p = Parser::new(&toks, sql);
        p.partition().expect("parses")
    }

    #[test]
    fn range_on_year_with_maxvalue() {
        let d = parse(
            "PARTITION BY RANGE (YEAR(`d`)) (PARTITION p0 VALUES LESS THAN (2020) ENGINE = InnoDB, \
             PARTITION p1 VALUES LESS THAN (2021 + 1), PARTITION pm VALUES LESS THAN MAXVALUE)",
        );
        assert_eq!(d.names, ["p0", "p1", "pm"]);
        assert_eq!(d.scheme.method, PartitionMethod::Range);
        assert_eq!(
            d.scheme.expr,
            Some(PartitionExpr::Call(
                "YEAR".into(),
                vec![PartitionExpr::Column("d".into())]
            ))
        );
        assert_eq!(
            d.scheme.bounds[2],
            PartitionBound::LessThan(vec![PartitionExpr::MaxValue])
        );
        assert_eq!(d.expr, "YEAR(`d`)");
    }

    #[test]
    fn list_columns_tuples_default_and_linear_key() {
        let d = parse(
            "PARTITION BY LIST COLUMNS(a, b) (PARTITION p0 VALUES IN ((1, 'x'), (2, NULL)), PARTITION pd DEFAULT)",
        );
        assert_eq!(d.scheme.columns, ["a", "b"]);
        assert_eq!(
            d.scheme.bounds[0],
            PartitionBound::In(vec![
                vec![
                    PartitionExpr::Number("1".into()),
                    PartitionExpr::Str("x".into())
                ],
                vec![PartitionExpr::Number("2".into()), PartitionExpr::Null],
            ])
        );
        assert_eq!(d.scheme.bounds[1], PartitionBound::Default);
        let k = parse("PARTITION BY LINEAR KEY ALGORITHM = 2 (id) PARTITIONS 4");
        assert_eq!(k.scheme.method, PartitionMethod::Key);
        assert_eq!(k.names.len(), 4);
        let h = parse("PARTITION BY HASH (`id` DIV 10 - -3) PARTITIONS 2");
        assert_eq!(
            h.scheme.expr.map(|e| e.to_string()).as_deref(),
            Some("((`id` DIV 10) - -3)")
        );
    }
}
