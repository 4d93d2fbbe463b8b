//! Every dataset in every format: deterministic by seed, near the size
//! asked for, and its summary agrees with the files.

use super::*;

const ALL: [Dataset; 5] = [
    Dataset::Sysbench,
    Dataset::Shop,
    Dataset::Wide,
    Dataset::Norowid,
    Dataset::Lineitem,
];

fn opts(dataset: Dataset, format: Option<Format>, dups: f64, seed: u64) -> GenOptions {
    GenOptions {
        dataset,
        format,
        bytes: 300 << 10,
        file_bytes: 64 << 10,
        duplicate_ratio: dups,
        seed,
    }
}

/// File name → content of every file in `dir`.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for dataset in ALL {
        for format in [None, Some(Format::Csv), Some(Format::Sql)] {
            let (a, b, c) = (
                tempfile::tempdir().unwrap(),
                tempfile::tempdir().unwrap(),
                tempfile::tempdir().unwrap(),
            );
            let o = opts(dataset, format, 0.1, 5);
            let sa = generate(a.path(), &o).unwrap();
            let sb = generate(b.path(), &o).unwrap();
            generate(c.path(), &opts(dataset, format, 0.1, 6)).unwrap();
            assert_eq!(
                files(a.path()),
                files(b.path()),
                "{dataset:?} {format:?}: same seed, same files"
            );
            assert_ne!(
                files(a.path()),
                files(c.path()),
                "{dataset:?} {format:?}: another seed, other files"
            );
            assert_eq!(
                serde_json::to_string(&sa).unwrap(),
                serde_json::to_string(&sb).unwrap()
            );
        }
    }
}

#[test]
fn summary_matches_the_files_and_the_size() {
    for dataset in ALL {
        for format in [Format::Csv, Format::Sql] {
            let dir = tempfile::tempdir().unwrap();
            let s = generate(dir.path(), &opts(dataset, Some(format), 0.0, 1)).unwrap();
            let on_disk: u64 = files(dir.path())
                .iter()
                .filter(|(name, _)| !name.ends_with("schema.sql") && !name.ends_with("create.sql"))
                .map(|(_, body)| body.len() as u64)
                .sum();
            assert_eq!(s.bytes, on_disk, "{dataset:?} {format:?}");
            // Stops at the size: over by less than one row (and the
            // closing `;`), per table.
            assert!(
                s.bytes >= 300 << 10 && s.bytes < (300 << 10) + 4096,
                "{dataset:?} {format:?}: {} bytes",
                s.bytes
            );
            for t in &s.details {
                if dataset != Dataset::Shop {
                    assert!(t.files >= 2, "{}: split over files: {t:?}", t.table);
                    assert_eq!(t.conflicting_rows, Some(0), "{t:?}");
                }
                // CSV: one line per row plus a header per file, whatever
                // the strings hold (line breaks are escaped).
                if format == Format::Csv {
                    let lines: usize = files(dir.path())
                        .iter()
                        .filter(|(n, _)| {
                            n.starts_with(&format!("{}.", t.table)) && n.ends_with(".csv")
                        })
                        .map(|(_, b)| b.iter().filter(|c| **c == b'\n').count())
                        .sum();
                    assert_eq!(lines as u64, t.rows + u64::from(t.files), "{t:?}");
                }
            }
        }
    }
}

#[test]
fn duplicates_are_counted() {
    for dataset in [
        Dataset::Sysbench,
        Dataset::Wide,
        Dataset::Norowid,
        Dataset::Lineitem,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(dir.path(), &opts(dataset, None, 0.1, 9)).unwrap();
        let t = &s.details[0];
        let dups = t.duplicate_rows.unwrap();
        let share = dups as f64 / t.rows as f64;
        assert!((0.06..0.14).contains(&share), "{t:?}");
        let conflicting = t.conflicting_rows.unwrap();
        assert!(conflicting > dups && conflicting <= 2 * dups, "{t:?}");
    }
}

#[test]
fn a_ratio_out_of_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(dir.path(), &opts(Dataset::Wide, None, 1.5, 1)).unwrap_err();
    assert!(err.to_string().contains("--duplicates 1.5"), "{err}");
}
