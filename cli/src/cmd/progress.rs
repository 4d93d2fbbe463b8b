//! The progress display of `squall import`, embedded or following a
//! coordinator: a bar on a terminal (or log lines) with the engines'
//! encode and ingest, the ingest tasks of a `squall.engine-ranges` job
//! (ranges done, bytes ingested: the status API's `ranges`) and the index
//! backfill of an `index-mode = "after-data"` job (ranges done of those
//! planned, rows scanned, entries written: its `backfill`), both from the
//! records.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use squall_coordinator::backfill::BackfillView;
use squall_coordinator::service::RangeCounts;
use squall_coordinator::{Phase, ProgressView};

use super::import::ProgressMode;

/// One reading of what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub view: ProgressView,
    /// `None`: the job has no engine ranges (or none planned yet).
    pub ranges: Option<RangeCounts>,
    /// `None`: the job has no index backfill (or none planned yet).
    pub backfill: Option<BackfillView>,
}

/// Shows what `shown` says (read every few hundred ms) until it says `Done`.
pub(crate) async fn show_progress<V>(shown: V, mode: ProgressMode, log_interval: u64)
where
    V: Fn() -> Shown + Send + 'static,
{
    let bar = match mode {
        ProgressMode::None => return,
        ProgressMode::Log => false,
        ProgressMode::Bar => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    if bar {
        show_bar(shown).await
    } else {
        show_log(shown, Duration::from_secs(log_interval.max(1))).await
    }
}

async fn show_bar(shown: impl Fn() -> Shown) {
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} {prefix:>9} [{bar:30}] {bytes}/{total_bytes} encoded, {bytes_per_sec}, ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    loop {
        let s = shown();
        let v = s.view;
        pb.set_length(v.total_source_bytes);
        pb.set_position(v.encoded_bytes.min(v.total_source_bytes));
        pb.set_prefix(phase_name(&s));
        pb.set_message(bar_message(&s));
        if v.phase == Phase::Done {
            pb.finish();
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The phase shown: `indexing` while post-processing waits on a backfill
/// that has ranges left, else the job's phase.
fn phase_name(s: &Shown) -> &'static str {
    match s.backfill {
        Some(b) if s.view.phase == Phase::PostProcessing && b.ranges_done < b.ranges_total => {
            "indexing"
        }
        _ => s.view.phase.name(),
    }
}

/// The text after the bar.
fn bar_message(s: &Shown) -> String {
    let v = s.view;
    let mut text = format!(
        "| {:.1} MB ingested | engines {}/{}",
        v.ingested_bytes as f64 / 1e6,
        v.engines_done,
        v.total_engines
    );
    if let Some(r) = &s.ranges {
        text.push_str(&format!(
            " | ranges {}/{} ({:.1} MB)",
            r.ranges_done,
            r.ranges_total,
            r.ingested_bytes as f64 / 1e6
        ));
    }
    if let Some(b) = &s.backfill {
        text.push_str(" | ");
        text.push_str(&backfill_line(b));
    }
    text
}

/// The backfill's progress in words (also `squall index backfill`'s line).
pub(crate) fn backfill_line(b: &BackfillView) -> String {
    format!(
        "index backfill: {}/{} ranges, {} rows scanned, {} entries written",
        b.ranges_done, b.ranges_total, b.rows_scanned, b.entries_written
    )
}

async fn show_log(shown: impl Fn() -> Shown, every: Duration) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let s = shown();
        let v = s.view;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let pct = if v.total_source_bytes == 0 {
            0.0
        } else {
            100.0 * v.encoded_bytes as f64 / v.total_source_bytes as f64
        };
        // Absent (not zero) for a job without a backfill.
        let backfill = s.backfill.map(|b| {
            (
                format!("{}/{}", b.ranges_done, b.ranges_total),
                b.rows_scanned,
                b.entries_written,
            )
        });
        tracing::info!(
            phase = phase_name(&s),
            encoded_mb = format!("{:.1}", v.encoded_bytes as f64 / 1e6),
            total_mb = format!("{:.1}", v.total_source_bytes as f64 / 1e6),
            percent = format!("{pct:.1}"),
            ingested_mb = format!("{:.1}", v.ingested_bytes as f64 / 1e6),
            ingest_mb_per_sec = format!("{:.1}", v.ingested_bytes as f64 / 1e6 / secs),
            engines = format!("{}/{}", v.engines_done, v.total_engines),
            ranges = s
                .ranges
                .map(|r| format!("{}/{}", r.ranges_done, r.ranges_total)),
            ranges_ingested_mb = s
                .ranges
                .map(|r| format!("{:.1}", r.ingested_bytes as f64 / 1e6)),
            backfill_ranges = backfill.as_ref().map(|b| b.0.as_str()),
            backfill_rows_scanned = backfill.as_ref().map(|b| b.1),
            backfill_entries_written = backfill.as_ref().map(|b| b.2),
            "import progress"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(phase: Phase) -> ProgressView {
        ProgressView {
            phase,
            total_source_bytes: 1000,
            encoded_bytes: 1000,
            ingested_bytes: 2_500_000,
            total_engines: 4,
            engines_done: 4,
        }
    }

    #[test]
    fn a_backfill_shows_in_the_bar() {
        let plain = Shown {
            view: view(Phase::PostProcessing),
            ranges: None,
            backfill: None,
        };
        assert_eq!(bar_message(&plain), "| 2.5 MB ingested | engines 4/4");
        assert_eq!(phase_name(&plain), "verifying");

        let mut b = BackfillView {
            rows_scanned: 1200,
            entries_written: 3600,
            ranges_done: 3,
            ranges_total: 8,
            ranges_resumed: 0,
        };
        let indexing = Shown {
            view: view(Phase::PostProcessing),
            ranges: None,
            backfill: Some(b),
        };
        assert_eq!(
            bar_message(&indexing),
            "| 2.5 MB ingested | engines 4/4 | index backfill: 3/8 ranges, 1200 rows scanned, \
             3600 entries written"
        );
        assert_eq!(phase_name(&indexing), "indexing");

        // Every planned range built: the job's own phase again.
        b.ranges_done = 8;
        let built = Shown {
            view: view(Phase::PostProcessing),
            ranges: None,
            backfill: Some(b),
        };
        assert_eq!(phase_name(&built), "verifying");
        assert!(
            bar_message(&built).ends_with("8/8 ranges, 1200 rows scanned, 3600 entries written")
        );
        let importing = Shown {
            view: view(Phase::Importing),
            ranges: None,
            backfill: Some(BackfillView::default()),
        };
        assert_eq!(phase_name(&importing), "importing");
    }

    #[test]
    fn engine_ranges_show_in_the_bar() {
        let ranges = RangeCounts {
            ranges_total: 12,
            ranges_done: 5,
            ingested_bytes: 3_250_000,
            ..RangeCounts::default()
        };
        let s = Shown {
            view: view(Phase::Importing),
            ranges: Some(ranges),
            backfill: None,
        };
        assert_eq!(
            bar_message(&s),
            "| 2.5 MB ingested | engines 4/4 | ranges 5/12 (3.2 MB)"
        );
    }
}
