//! SQL dump files: the rows of their INSERT statements.

mod lexer;
mod reader;

pub use reader::{SqlReader, SqlSpan};

#[cfg(test)]
mod tests;
