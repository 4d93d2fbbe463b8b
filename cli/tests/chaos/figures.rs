//! The figures of a scenario and the table of a tier: faults injected, tasks
//! redone (engines whose attempt went past 1), deliveries made by the queue,
//! time, extra time against the run without faults, and whether the result
//! was exact.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Figures {
    pub scenario: &'static str,
    pub faults: u64,
    pub redone: usize,
    pub engines: usize,
    pub deliveries: u64,
    pub took: Duration,
    /// Processes that exited by themselves and were started again.
    pub supervisor_restarts: usize,
    pub notes: Vec<String>,
    /// Empty when the import ended verified and exact.
    pub problems: Vec<String>,
    pub skipped: Option<String>,
}

impl Figures {
    pub fn new(scenario: &'static str, took: Duration) -> Self {
        Self {
            scenario,
            faults: 0,
            redone: 0,
            engines: 0,
            deliveries: 0,
            took,
            supervisor_restarts: 0,
            notes: Vec::new(),
            problems: Vec::new(),
            skipped: None,
        }
    }

    pub fn skipped(scenario: &'static str, reason: &str) -> Self {
        Self {
            skipped: Some(reason.to_string()),
            ..Self::new(scenario, Duration::ZERO)
        }
    }

    pub fn exact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A Markdown table of `rows`; extra time is against `baseline` (the run
/// without faults).
pub fn table(
    tier: &str,
    rows: &[Figures],
    baseline: Option<Duration>,
    reference: Duration,
) -> String {
    let mut t = format!(
        "chaos tier {tier}: embedded reference import {:.1} s\n\n\
         | scenario | faults | tasks redone | deliveries | time | extra vs no faults | exact | notes |\n\
         |---|---:|---:|---:|---:|---:|---|---|\n",
        reference.as_secs_f64()
    );
    for f in rows {
        if let Some(reason) = &f.skipped {
            let _ = writeln!(
                t,
                "| {} | – | – | – | – | – | skipped | {reason} |",
                f.scenario
            );
            continue;
        }
        let extra = baseline.map_or("–".to_string(), |b| {
            format!("{:+.1} s", f.took.as_secs_f64() - b.as_secs_f64())
        });
        let _ = writeln!(
            t,
            "| {} | {} | {} of {} | {} | {:.1} s | {} | {} | {} |",
            f.scenario,
            f.faults,
            f.redone,
            f.engines,
            f.deliveries,
            f.took.as_secs_f64(),
            extra,
            if f.exact() { "yes" } else { "no" },
            notes(f)
        );
    }
    t
}

fn notes(f: &Figures) -> String {
    let mut notes = f.notes.clone();
    if f.supervisor_restarts > 0 {
        notes.push(format!(
            "{} processes exited and were restarted",
            f.supervisor_restarts
        ));
    }
    notes.join("; ")
}
