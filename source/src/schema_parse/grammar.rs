//! `CREATE TABLE` grammar (MySQL/TiDB dialect) into plain definitions; the
//! table model is built from them in `build.rs`.

use squall_common::schema::ColumnDefault;

use super::lexer::{Tok, Token};

/// A parse error: byte offset in the text and reason.
pub(crate) type ParseError = (usize, String);

#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnDef {
    pub name: String,
    pub type_name: String,
    /// `(M)` / `(M,D)` arguments.
    pub args: Vec<u32>,
    pub elems: Vec<String>,
    pub unsigned: bool,
    /// `BINARY` attribute on a string type (binary collation of its charset).
    pub binary_attr: bool,
    pub charset: Option<String>,
    pub collate: Option<String>,
    pub not_null: Option<bool>,
    pub default: Option<ColumnDefault>,
    pub default_offset: usize,
    pub auto_increment: bool,
    pub auto_random: Option<u32>,
    /// `AUTO_RANDOM(s, r)`: the range bits `r`.
    pub auto_random_range: Option<u32>,
    pub primary: bool,
    pub unique: bool,
    pub clustered: Option<bool>,
    pub comment: String,
    pub generated: Option<String>,
    /// `STORED` after `AS (expr)`.
    pub generated_stored: bool,
    /// Where the definition starts in the text (for errors).
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstraintKind {
    Primary,
    Unique,
    Index,
}

#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    pub kind: ConstraintKind,
    pub name: Option<String>,
    /// Column name and prefix length (an expression key part: empty name).
    pub columns: Vec<(String, Option<usize>)>,
    /// The expression of each expression key part (`((LOWER(a)))`), by
    /// key part position; `None` for a plain column.
    pub expressions: Vec<Option<String>>,
    pub clustered: Option<bool>,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct PartitionDef {
    pub kind: String,
    pub expr: String,
    pub names: Vec<String>,
    pub scheme: squall_common::schema::PartitionScheme,
    /// Where `PARTITION BY` starts (for errors).
    pub offset: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Table-level constraints, in order.
    pub constraints: Vec<Constraint>,
    pub charset: Option<String>,
    pub collate: Option<String>,
    pub auto_increment: Option<u64>,
    pub auto_random_base: Option<u64>,
    /// `SHARD_ROW_ID_BITS = n` / `PRE_SPLIT_REGIONS = n` (TiDB options).
    pub shard_row_id_bits: Option<u64>,
    pub pre_split_regions: Option<u64>,
    pub partition: Option<PartitionDef>,
}

pub(crate) struct Parser<'a> {
    pub toks: &'a [Token],
    pub i: usize,
    pub text: &'a str,
}

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Token], text: &'a str) -> Self {
        Self { toks, i: 0, text }
    }

    pub(crate) fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    pub(crate) fn offset(&self) -> usize {
        // Past the end: just after the statement's last token.
        self.toks
            .get(self.i)
            .map_or_else(|| self.toks.last().map_or(0, |t| t.end), |t| t.start)
    }

    pub(crate) fn err<T>(&self, reason: impl Into<String>) -> Result<T, ParseError> {
        Err((self.offset(), reason.into()))
    }

    pub(crate) fn describe(&self) -> String {
        match self.peek() {
            None => "end of statement".into(),
            Some(Tok::Word(w) | Tok::Ident(w)) => format!("`{w}`"),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(Tok::Num(n)) => n.clone(),
            Some(Tok::Bytes(_)) => "a hex/bit literal".into(),
            Some(Tok::Punct(c)) => format!("`{c}`"),
        }
    }

    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    pub fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.i += 1;
        }
        hit
    }

    pub(crate) fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        if self.eat_kw(kw) {
            return Ok(());
        }
        self.err(format!("expected {kw}, found {}", self.describe()))
    }

    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    pub(crate) fn eat_punct(&mut self, c: char) -> bool {
        let hit = self.is_punct(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    pub(crate) fn expect_punct(&mut self, c: char) -> Result<(), ParseError> {
        if self.eat_punct(c) {
            return Ok(());
        }
        self.err(format!("expected `{c}`, found {}", self.describe()))
    }

    pub fn ident(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Word(w) | Tok::Ident(w)) => {
                self.i += 1;
                Ok(w.clone())
            }
            _ => self.err(format!("expected a name, found {}", self.describe())),
        }
    }

    pub(crate) fn number(&mut self) -> Result<u64, ParseError> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let v = n
                    .parse()
                    .or_else(|_| self.err(format!("expected an integer, found {n}")))?;
                self.i += 1;
                Ok(v)
            }
            _ => self.err(format!("expected a number, found {}", self.describe())),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            _ => self.err(format!("expected a string, found {}", self.describe())),
        }
    }

    /// Skips a balanced `( ... )` group, returning its inner text.
    pub(crate) fn skip_group(&mut self) -> Result<String, ParseError> {
        let open = self.offset();
        self.expect_punct('(')?;
        let inner_start = self.offset();
        let mut depth = 1;
        while let Some(t) = self.toks.get(self.i) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        let text = self.text[inner_start..t.start].trim().to_string();
                        self.i += 1;
                        return Ok(text);
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err((open, "unbalanced parentheses".into()))
    }

    /// `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) options [partitions]`.
    pub fn create_table(&mut self) -> Result<TableDef, ParseError> {
        self.expect_kw("CREATE")?;
        self.eat_kw("TEMPORARY");
        self.expect_kw("TABLE")?;
        if self.eat_kw("IF") {
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
        }
        let mut name = self.ident()?;
        if self.eat_punct('.') {
            name = self.ident()?;
        }
        if self.is_kw("LIKE") {
            return self.err("CREATE TABLE ... LIKE is not supported in schema files");
        }
        let mut def = TableDef {
            name,
            ..TableDef::default()
        };
        self.expect_punct('(')?;
        loop {
            self.create_definition(&mut def)?;
            if self.eat_punct(')') {
                break;
            }
            self.expect_punct(',')?;
        }
        self.table_options(&mut def)?;
        if self.peek().is_some() {
            return self.err(format!(
                "unexpected {} after the table definition",
                self.describe()
            ));
        }
        Ok(def)
    }

    fn create_definition(&mut self, def: &mut TableDef) -> Result<(), ParseError> {
        let offset = self.offset();
        let mut name = None;
        if self.eat_kw("CONSTRAINT")
            && !self.is_kw("PRIMARY")
            && !self.is_kw("UNIQUE")
            && !self.is_kw("FOREIGN")
            && !self.is_kw("CHECK")
        {
            name = Some(self.ident()?);
        }
        let kind = if self.eat_kw("PRIMARY") {
            self.expect_kw("KEY")?;
            Some(ConstraintKind::Primary)
        } else if self.eat_kw("UNIQUE") {
            let _ = self.eat_kw("KEY") || self.eat_kw("INDEX");
            Some(ConstraintKind::Unique)
        } else if self.eat_kw("KEY") || self.eat_kw("INDEX") {
            Some(ConstraintKind::Index)
        } else if self.eat_kw("FULLTEXT") || self.eat_kw("SPATIAL") {
            // TiDB accepts and ignores these.
            let _ = self.eat_kw("KEY") || self.eat_kw("INDEX");
            self.skip_to_definition_end()?;
            return Ok(());
        } else if self.eat_kw("FOREIGN") || self.eat_kw("CHECK") {
            // Foreign keys and checks are not enforced on import.
            self.skip_to_definition_end()?;
            return Ok(());
        } else {
            None
        };
        match kind {
            Some(kind) => {
                let c = self.index_definition(kind, name, offset)?;
                def.constraints.push(c);
            }
            None => {
                let col = self.column_definition()?;
                def.columns.push(col);
            }
        }
        Ok(())
    }

    fn skip_to_definition_end(&mut self) -> Result<(), ParseError> {
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct(',') | Tok::Punct(')') => return Ok(()),
                Tok::Punct('(') => {
                    self.skip_group()?;
                }
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    fn index_definition(
        &mut self,
        kind: ConstraintKind,
        mut name: Option<String>,
        offset: usize,
    ) -> Result<Constraint, ParseError> {
        if !self.is_punct('(') && !self.is_kw("USING") {
            name = Some(self.ident()?);
        }
        if self.eat_kw("USING") {
            self.ident()?;
        }
        self.expect_punct('(')?;
        let mut columns = Vec::new();
        let mut expressions = Vec::new();
        loop {
            if self.is_punct('(') {
                // MySQL 8 functional key part: `(expr)`, kept as text.
                expressions.push(Some(self.skip_group()?));
                columns.push((String::new(), None));
                let _ = self.eat_kw("ASC") || self.eat_kw("DESC");
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
                continue;
            }
            expressions.push(None);
            let col = self.ident()?;
            let prefix = if self.eat_punct('(') {
                let n = self.number()? as usize;
                self.expect_punct(')')?;
                Some(n)
            } else {
                None
            };
            let _ = self.eat_kw("ASC") || self.eat_kw("DESC");
            columns.push((col, prefix));
            if self.eat_punct(')') {
                break;
            }
            self.expect_punct(',')?;
        }
        let mut clustered = None;
        loop {
            if self.eat_kw("CLUSTERED") {
                clustered = Some(true);
            } else if self.eat_kw("NONCLUSTERED") {
                clustered = Some(false);
            } else if self.eat_kw("USING") || self.eat_kw("KEY_BLOCK_SIZE") || self.eat_kw("WITH") {
                self.eat_punct('=');
                self.eat_kw("PARSER");
                self.i += 1;
            } else if self.eat_kw("COMMENT") {
                self.string()?;
            } else if self.eat_kw("VISIBLE")
                || self.eat_kw("INVISIBLE")
                || self.eat_kw("GLOBAL")
                || self.eat_kw("LOCAL")
            {
            } else {
                break;
            }
        }
        Ok(Constraint {
            kind,
            name,
            columns,
            expressions,
            clustered,
            offset,
        })
    }

    fn column_definition(&mut self) -> Result<ColumnDef, ParseError> {
        let offset = self.offset();
        let name = self.ident()?;
        let mut col = ColumnDef {
            name,
            offset,
            ..ColumnDef::default()
        };
        self.data_type(&mut col)?;
        while self.peek().is_some() && !self.is_punct(',') && !self.is_punct(')') {
            self.column_attribute(&mut col)?;
        }
        Ok(col)
    }

    fn data_type(&mut self, col: &mut ColumnDef) -> Result<(), ParseError> {
        let mut ty = match self.peek() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => return self.err(format!("expected a column type, found {}", self.describe())),
        };
        self.i += 1;
        // Two-word type names.
        if (ty == "double" && self.eat_kw("PRECISION"))
            || (ty == "character" || ty == "char") && self.eat_kw("VARYING")
        {
            if ty != "double" {
                ty = "varchar".into();
            }
        } else if ty == "long" {
            ty = if self.eat_kw("VARBINARY") {
                "mediumblob".into()
            } else {
                self.eat_kw("VARCHAR");
                "mediumtext".into()
            };
        } else if ty == "national" {
            let w = self.ident()?.to_ascii_lowercase();
            ty = if self.eat_kw("VARYING") {
                "varchar".into()
            } else {
                w
            };
            col.charset = Some("utf8".into());
        }
        col.type_name = ty;
        if matches!(col.type_name.as_str(), "enum" | "set") {
            self.expect_punct('(')?;
            loop {
                col.elems.push(self.string()?);
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        } else if self.eat_punct('(') {
            loop {
                col.args.push(
                    u32::try_from(self.number()?).or_else(|_| self.err("type length too large"))?,
                );
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        loop {
            if self.eat_kw("UNSIGNED") {
                col.unsigned = true;
            } else if self.eat_kw("SIGNED") || self.eat_kw("ZEROFILL") {
            } else if self.eat_kw("BINARY") {
                col.binary_attr = true;
            } else if self.eat_kw("ASCII") {
                col.charset = Some("latin1".into());
            } else if self.eat_kw("UNICODE") {
                col.charset = Some("ucs2".into());
            } else if self.is_kw("CHARACTER") || self.is_kw("CHARSET") {
                col.charset = Some(self.charset_clause()?);
            } else if self.eat_kw("COLLATE") {
                col.collate = Some(self.ident_or_string()?);
            } else {
                return Ok(());
            }
        }
    }

    fn ident_or_string(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            _ => self.ident(),
        }
    }

    /// `CHARACTER SET [=] x` or `CHARSET [=] x`.
    fn charset_clause(&mut self) -> Result<String, ParseError> {
        if self.eat_kw("CHARACTER") {
            self.expect_kw("SET")?;
        } else {
            self.expect_kw("CHARSET")?;
        }
        self.eat_punct('=');
        self.ident_or_string()
    }

    fn column_attribute(&mut self, col: &mut ColumnDef) -> Result<(), ParseError> {
        if self.eat_kw("NOT") {
            self.expect_kw("NULL")?;
            col.not_null = Some(true);
        } else if self.eat_kw("NULL") {
            col.not_null = Some(false);
        } else if self.eat_kw("DEFAULT") {
            col.default_offset = self.offset();
            col.default = Some(self.default_value()?);
        } else if self.eat_kw("AUTO_INCREMENT") {
            col.auto_increment = true;
        } else if self.eat_kw("AUTO_RANDOM") {
            let mut bits = 5;
            if self.eat_punct('(') {
                bits = self.number()? as u32;
                if self.eat_punct(',') {
                    col.auto_random_range = Some(self.number()? as u32);
                }
                self.expect_punct(')')?;
            }
            col.auto_random = Some(bits);
        } else if self.eat_kw("PRIMARY") {
            self.expect_kw("KEY")?;
            col.primary = true;
        } else if self.eat_kw("KEY") {
            col.primary = true;
        } else if self.eat_kw("UNIQUE") {
            self.eat_kw("KEY");
            col.unique = true;
        } else if self.eat_kw("CLUSTERED") {
            col.clustered = Some(true);
        } else if self.eat_kw("NONCLUSTERED") {
            col.clustered = Some(false);
        } else if self.eat_kw("COMMENT") {
            col.comment = self.string()?;
        } else if self.eat_kw("COLLATE") {
            col.collate = Some(self.ident_or_string()?);
        } else if self.is_kw("CHARACTER") || self.is_kw("CHARSET") {
            col.charset = Some(self.charset_clause()?);
        } else if self.eat_kw("ON") {
            self.expect_kw("UPDATE")?;
            self.default_value()?;
        } else if self.eat_kw("GENERATED") {
            self.expect_kw("ALWAYS")?;
            self.expect_kw("AS")?;
            col.generated = Some(self.skip_group()?);
        } else if self.eat_kw("AS") {
            col.generated = Some(self.skip_group()?);
        } else if self.eat_kw("STORED") {
            col.generated_stored = true;
        } else if self.eat_kw("VIRTUAL") || self.eat_kw("VISIBLE") || self.eat_kw("INVISIBLE") {
        } else if self.eat_kw("COLUMN_FORMAT") || self.eat_kw("STORAGE") || self.eat_kw("SRID") {
            self.i += 1;
        } else if self.eat_kw("SERIAL") {
            self.expect_kw("DEFAULT")?;
            self.expect_kw("VALUE")?;
            col.auto_increment = true;
            col.not_null = Some(true);
            col.unique = true;
        } else if self.eat_kw("CHECK") || self.eat_kw("REFERENCES") {
            if !self.is_punct('(') {
                self.ident()?;
            }
            self.skip_group()?;
            while self.eat_kw("ON") || self.eat_kw("MATCH") {
                self.i += 1;
                let _ = self.eat_kw("NULL") || self.eat_kw("DEFAULT") || self.eat_kw("ACTION");
            }
            self.eat_kw("ENFORCED");
        } else {
            return self.err(format!(
                "unsupported column attribute {} (column `{}`)",
                self.describe(),
                col.name
            ));
        }
        Ok(())
    }

    /// A DEFAULT (or ON UPDATE) value.
    fn default_value(&mut self) -> Result<ColumnDefault, ParseError> {
        let neg = if self.eat_punct('-') {
            true
        } else {
            self.eat_punct('+');
            false
        };
        let tok = self.peek().cloned();
        let value = match tok {
            Some(Tok::Num(n)) => {
                self.i += 1;
                return Ok(ColumnDefault::Literal(if neg {
                    format!("-{n}")
                } else {
                    n
                }));
            }
            _ if neg => return self.err("expected a number after `-` in DEFAULT"),
            Some(Tok::Str(s)) => {
                self.i += 1;
                ColumnDefault::Literal(s)
            }
            Some(Tok::Bytes(b)) => {
                self.i += 1;
                if b.len() > 8 {
                    return self
                        .err("hex/bit DEFAULT values longer than 8 bytes are not supported");
                }
                let v = b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
                ColumnDefault::Literal(v.to_string())
            }
            Some(Tok::Punct('(')) => {
                self.i += 1;
                let v = self.default_value()?;
                self.expect_punct(')')?;
                v
            }
            Some(Tok::Word(w)) => {
                self.i += 1;
                self.default_word(&w)?
            }
            _ => return self.err(format!("unsupported DEFAULT value {}", self.describe())),
        };
        Ok(value)
    }

    fn default_word(&mut self, w: &str) -> Result<ColumnDefault, ParseError> {
        let lw = w.to_ascii_lowercase();
        Ok(match lw.as_str() {
            "null" => ColumnDefault::Null,
            "true" => ColumnDefault::Literal("1".into()),
            "false" => ColumnDefault::Literal("0".into()),
            "current_timestamp" | "now" | "localtime" | "localtimestamp" => {
                if self.is_punct('(') {
                    self.skip_group()?;
                }
                ColumnDefault::CurrentTimestamp
            }
            _ if lw.starts_with('_') => match self.peek().cloned() {
                Some(Tok::Str(s)) => {
                    self.i += 1;
                    ColumnDefault::Literal(s)
                }
                _ => return self.err(format!("expected a string after {w}")),
            },
            _ => {
                return self.err(format!(
                    "unsupported DEFAULT expression `{w}`: only literals and CURRENT_TIMESTAMP"
                ))
            }
        })
    }

    fn table_options(&mut self, def: &mut TableDef) -> Result<(), ParseError> {
        while self.peek().is_some() {
            if self.eat_punct(',') {
                continue;
            }
            if self.is_kw("PARTITION") {
                def.partition = Some(self.partition()?);
                continue;
            }
            self.eat_kw("DEFAULT");
            if self.is_kw("CHARACTER") || self.is_kw("CHARSET") {
                def.charset = Some(self.charset_clause()?);
                continue;
            }
            let Some(Tok::Word(word)) = self.peek() else {
                return self.err(format!("unexpected {} in table options", self.describe()));
            };
            let opt = word.to_ascii_uppercase();
            self.i += 1;
            self.eat_punct('=');
            match opt.as_str() {
                "COLLATE" => def.collate = Some(self.ident_or_string()?),
                "AUTO_INCREMENT" => def.auto_increment = Some(self.number()?),
                "AUTO_RANDOM_BASE" => def.auto_random_base = Some(self.number()?),
                "SHARD_ROW_ID_BITS" => def.shard_row_id_bits = Some(self.number()?),
                "PRE_SPLIT_REGIONS" => def.pre_split_regions = Some(self.number()?),
                "DEFAULT" => {}
                _ => {
                    // ENGINE, COMMENT, ROW_FORMAT, ...: no effect on encoding.
                    if self.peek().is_some() && !self.is_punct(',') {
                        self.i += 1;
                    }
                }
            }
        }
        Ok(())
    }
}
