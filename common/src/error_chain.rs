//! Errors with their causes on one line. Transport libraries (tonic,
//! async-nats, rustls under io::Error) put the reason a connection failed in
//! the `source()` chain and only the kind ("transport error", "TLS error")
//! in the message: a user needs the chain to know what to fix.

/// `err` and its causes as `a: b: c`; a cause already in the text is left out.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    push_causes(err, &mut out);
    out
}

/// Only the causes, as `: b: c` (empty when there is none).
pub fn error_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    push_causes(err, &mut out);
    out
}

fn push_causes(err: &(dyn std::error::Error + 'static), out: &mut String) {
    let mut cause = err.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = e.source();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn chains_causes_and_drops_repeats() {
        let e = E(
            "transport error",
            Some(Box::new(E(
                "tls: bad cert",
                Some(Box::new(E("bad cert", None))),
            ))),
        );
        assert_eq!(error_chain(&e), "transport error: tls: bad cert");
        assert_eq!(error_causes(&e), ": tls: bad cert");
        assert_eq!(error_causes(&E("alone", None)), "");
    }
}
