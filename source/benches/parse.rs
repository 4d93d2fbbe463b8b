// Placeholder so the workspace manifest parses; the source engineer replaces it.
fn main() {}
