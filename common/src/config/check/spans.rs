//! Line and column of a key in the config text, from toml_edit's spans
//! (the `toml` crate's tables keep none).

use toml_edit::{ImDocument, Item, TableLike};

use super::path::{KeyPath, Seg};

pub struct Spans<'a> {
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Spans<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// 1-based (line, column) of the key at `path` (of its value when
    /// `value` is set), if the document has it.
    pub fn locate(&self, path: &KeyPath, value: bool) -> Option<(usize, usize)> {
        let offset = self.offset(path, value)?;
        Some(line_col(self.text, offset))
    }

    fn offset(&self, path: &KeyPath, value: bool) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Item(doc.as_item());
        let mut key_start = None;
        for seg in &path.0 {
            node = match seg {
                Seg::Key(k) => {
                    let (key, next) = node.table_like()?.get_key_value(k)?;
                    key_start = key.span().map(|s| s.start).or(key_start);
                    Node::Item(next)
                }
                Seg::Index(i) => {
                    let next = node.index(*i)?;
                    key_start = next.span().map(|s| s.start).or(key_start);
                    next
                }
            };
        }
        if value {
            if let Some(span) = node.span() {
                return Some(span.start);
            }
        }
        key_start
    }
}

/// Whatever a path can reach: an item, an array-of-tables element, an array element.
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn table_like(&self) -> Option<&'a dyn TableLike> {
        match *self {
            Node::Item(i) => i.as_table_like(),
            Node::Table(t) => Some(t),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    fn index(&self, i: usize) -> Option<Node<'a>> {
        match *self {
            Node::Item(item) => match item.as_array_of_tables() {
                Some(aot) => aot.get(i).map(Node::Table),
                None => item.as_array()?.get(i).map(Node::Value),
            },
            Node::Value(v) => v.as_array()?.get(i).map(Node::Value),
            Node::Table(_) => None,
        }
    }

    fn span(&self) -> Option<std::ops::Range<usize>> {
        match *self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}
