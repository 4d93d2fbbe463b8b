//! Named pause points for crash tests, set from the environment.
//!
//! `SQUALL_FAILPOINTS="detect.segment-saved=pause(3000)@2;ingest.region-done=pause(500)"`
//! makes the second time the process reaches `detect.segment-saved` print
//! `failpoint detect.segment-saved reached` to stderr and pause for 3 s. A
//! crash test waits for that line and sends the process a real signal
//! (SIGKILL, SIGINT, SIGTERM) while it is paused, so every phase can be
//! interrupted at a known point, mid-way, instead of at whatever moment a
//! log line happens to be printed. After the pause the code goes on as if
//! nothing happened (with SIGINT it then meets the cancellation).
//!
//! Unset (every production run), a point costs one load of an initialised
//! `OnceLock` and an empty-slice check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable read once, at the first point reached.
pub const ENV: &str = "SQUALL_FAILPOINTS";

struct Rule {
    name: String,
    pause: Duration,
    /// 1-based hit that triggers the pause.
    on_hit: u64,
    hits: AtomicU64,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| match std::env::var(ENV) {
        Ok(spec) => parse(&spec).unwrap_or_else(|e| {
            eprintln!("{ENV} ignored: {e}");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    })
}

/// Parses `name=pause(ms)[@n]` rules separated by `;`.
fn parse(spec: &str) -> Result<Vec<Rule>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|rule| {
            let (name, action) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?}: expected name=pause(ms)[@n]"))?;
            let (action, on_hit) = match action.split_once('@') {
                Some((a, n)) => (a, n.parse::<u64>().map_err(|e| format!("{rule:?}: {e}"))?),
                None => (action, 1),
            };
            let ms = action
                .strip_prefix("pause(")
                .and_then(|a| a.strip_suffix(')'))
                .ok_or_else(|| format!("{rule:?}: the only action is pause(ms)"))?
                .parse::<u64>()
                .map_err(|e| format!("{rule:?}: {e}"))?;
            Ok(Rule {
                name: name.trim().to_string(),
                pause: Duration::from_millis(ms),
                on_hit: on_hit.max(1),
                hits: AtomicU64::new(0),
            })
        })
        .collect()
}

/// The pause for `name` if this hit triggers it (and says so on stderr).
fn triggered(name: &str) -> Option<Duration> {
    let rule = rules().iter().find(|r| r.name == name)?;
    let hit = rule.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if hit != rule.on_hit {
        return None;
    }
    eprintln!(
        "failpoint {name} reached (hit {hit}), pausing {:?}",
        rule.pause
    );
    Some(rule.pause)
}

/// An async point: pauses the calling task only.
pub async fn point(name: &str) {
    if let Some(pause) = triggered(name) {
        tokio::time::sleep(pause).await;
    }
}

/// A point on a blocking thread (encoding, local sort).
pub fn point_blocking(name: &str) {
    if let Some(pause) = triggered(name) {
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_and_without_hit_counts() {
        let rules = parse("a.b=pause(1500)@3; c=pause(0)").expect("parses");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].name.as_str(), rules[0].pause, rules[0].on_hit),
            ("a.b", Duration::from_millis(1500), 3)
        );
        assert_eq!((rules[1].name.as_str(), rules[1].on_hit), ("c", 1));
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule() {
        for bad in ["x", "x=sleep(3)", "x=pause(a)", "x=pause(1)@z"] {
            let err = parse(bad).err().expect("refused");
            assert!(err.contains(bad.split('=').next().unwrap_or(bad)), "{err}");
        }
    }
}
