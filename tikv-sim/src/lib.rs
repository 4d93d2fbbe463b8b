//! A TiKV + PD protocol-compatible test cluster in one process.
