//! `wide.wide1`: one table with a column of every type family (integers
//! of each width signed and unsigned, DECIMAL, FLOAT/DOUBLE, CHAR/VARCHAR
//! with a `_ci` collation, TEXT/BLOB, the temporal types, ENUM/SET, JSON,
//! BIT, NULLs), an int primary key and three secondary indexes: a UNIQUE
//! one on a case-insensitive column, a composite one and a plain one.
//!
//! Duplicates are half primary-key repeats (any earlier row's id, a new
//! email) and half unique-key repeats (a new id, an earlier row's email,
//! half of them in upper case: equal under `utf8mb4_general_ci`).

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::dups::Dups;
use super::values::{push_date, push_datetime, push_words, WORDS};
use super::writer::{push_padded, push_u64, DumpWriter};
use super::{GenOptions, GenSummary};

const DDL: &str = "CREATE TABLE `wide1` (
  `id` bigint NOT NULL,
  `i8` tinyint NOT NULL,
  `u8` tinyint unsigned NOT NULL,
  `i16` smallint DEFAULT NULL,
  `u16` smallint unsigned NOT NULL,
  `i24` mediumint NOT NULL,
  `u24` mediumint unsigned NOT NULL,
  `i32` int NOT NULL,
  `u32` int unsigned NOT NULL,
  `i64` bigint DEFAULT NULL,
  `u64` bigint unsigned NOT NULL,
  `price` decimal(15,4) NOT NULL,
  `ratio` float DEFAULT NULL,
  `score` double NOT NULL,
  `code` char(8) COLLATE utf8mb4_general_ci NOT NULL,
  `email` varchar(64) COLLATE utf8mb4_general_ci NOT NULL,
  `name` varchar(100) NOT NULL,
  `note` text,
  `payload` blob,
  `born` date NOT NULL,
  `updated` datetime(3) NOT NULL,
  `seen` timestamp NULL DEFAULT NULL,
  `dur` time NOT NULL,
  `yr` year NOT NULL,
  `state` enum('new','active','suspended','closed') NOT NULL,
  `tags` set('red','green','blue','gold') NOT NULL DEFAULT '',
  `attrs` json DEFAULT NULL,
  `flags` bit(16) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_email` (`email`),
  KEY `idx_state_updated` (`state`,`updated`),
  KEY `idx_code` (`code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const COLUMNS: [&str; 28] = [
    "id", "i8", "u8", "i16", "u16", "i24", "u24", "i32", "u32", "i64", "u64", "price", "ratio",
    "score", "code", "email", "name", "note", "payload", "born", "updated", "seen", "dur", "yr",
    "state", "tags", "attrs", "flags",
];

const STATES: [&[u8]; 4] = [b"new", b"active", b"suspended", b"closed"];
const TAGS: [&[u8]; 6] = [
    b"",
    b"red",
    b"green,blue",
    b"gold",
    b"red,green,gold",
    b"blue",
];
/// Text that must survive both formats' quoting: separators, quotes,
/// backslashes, line breaks, multi-byte characters.
const AWKWARD: [&str; 6] = [
    "comma, inside",
    "quote \" and 'single'",
    "back\\slash \\N not null",
    "two\nlines\r\nand CRLF",
    "tab\tand ünïcödé 数据 🚀",
    "",
];

/// Days since 1970 of 2000-01-01; timestamps stay in 2000..2030.
const DAY_2000: i64 = 10_957;

/// An original row's email (unique under `_ci`: the number decides).
fn email(buf: &mut Vec<u8>, n: u64, upper: bool) {
    let (user, host): (&[u8], &[u8]) = if upper {
        (b"USER", b"@MAIL.EXAMPLE")
    } else {
        (b"User", b"@mail.example")
    };
    buf.extend_from_slice(user);
    push_u64(buf, n);
    buf.extend_from_slice(host);
}

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "wide")?;
    DumpWriter::write_schema(dir, "wide", "wide1", DDL)?;
    let mut w = DumpWriter::new(
        dir,
        "wide",
        "wide1",
        &COLUMNS,
        opts.format(),
        opts.file_bytes,
    );
    let mut dups = Dups::new(opts.duplicate_ratio);
    while w.bytes() < opts.bytes {
        // (id, email owner number, upper case, fresh email of a pk repeat)
        let (id, owner, upper, pk_repeat) = if dups.next_is_dup(rng) {
            if rng.gen_bool(0.5) {
                (dups.copy_any(rng), 0, false, dups.dup_rows)
            } else {
                let id = dups.fresh_for_dup();
                (id, dups.copy_original(rng), rng.gen_bool(0.5), 0)
            }
        } else {
            let id = dups.fresh_original();
            (id, id, false, 0)
        };
        w.begin_row()?;
        w.uint(id);
        w.int(rng.gen_range(-128..=127));
        w.uint(rng.gen_range(0..=255));
        if rng.gen_ratio(1, 10) {
            w.null();
        } else {
            w.int(rng.gen_range(-32768..=32767));
        }
        w.uint(rng.gen_range(0..=65535));
        w.int(rng.gen_range(-8_388_608..=8_388_607));
        w.uint(rng.gen_range(0..=16_777_215));
        w.int(i64::from(rng.gen::<i32>()));
        w.uint(u64::from(rng.gen::<u32>()));
        if rng.gen_ratio(1, 10) {
            w.null();
        } else {
            w.int(rng.gen::<i64>());
        }
        w.uint(rng.gen::<u64>());
        w.fixed(rng.gen_range(-99_999_999_999..=99_999_999_999), 4);
        if rng.gen_ratio(1, 10) {
            w.null();
        } else {
            // Quarters: exact in binary, so FLOAT keeps what was written.
            w.fixed(rng.gen_range(-40_000..40_000) * 25, 2);
        }
        w.fixed(rng.gen_range(-1_000_000_000_000..1_000_000_000_000), 6);
        let code = rng.gen::<u32>();
        w.str_with(|b| {
            b.extend_from_slice(if code & 1 == 0 { b"AB" } else { b"ab" });
            push_padded(b, code % 1_000_000, 6);
        });
        w.str_with(|b| {
            if owner == 0 {
                b.extend_from_slice(b"repeat");
                push_u64(b, pk_repeat);
                b.extend_from_slice(b"@mail.example");
            } else {
                email(b, owner, upper);
            }
        });
        let (first, last) = (rng.gen_range(0..WORDS.len()), rng.gen_range(0..WORDS.len()));
        w.str_with(|b| {
            b.extend_from_slice(WORDS[first].as_bytes());
            b.push(b' ');
            b.extend_from_slice(WORDS[last].as_bytes());
        });
        match rng.gen_range(0..8) {
            0 => w.null(),
            1 | 2 => w.str(AWKWARD[rng.gen_range(0..AWKWARD.len())].as_bytes()),
            _ => {
                let n = rng.gen_range(3..12);
                w.str_with(|b| push_words(b, rng, n));
            }
        }
        if rng.gen_ratio(1, 5) {
            w.null();
        } else {
            let n = rng.gen_range(8..48);
            w.str_with(|b| {
                for _ in 0..n {
                    b.push(rng.gen_range(b'0'..=b'z'));
                }
            });
        }
        let born = rng.gen_range(-20_000..20_000);
        w.str_with(|b| push_date(b, born));
        let (day, secs, ms) = (
            DAY_2000 + rng.gen_range(0..10_950),
            rng.gen_range(0..86_400),
            rng.gen_range(0..1000),
        );
        w.str_with(|b| {
            push_datetime(b, day, secs);
            b.push(b'.');
            push_padded(b, ms, 3);
        });
        if rng.gen_ratio(1, 4) {
            w.null();
        } else {
            // 04:00..23:00: away from any daylight-saving gap of the
            // session time zone.
            let (day, secs) = (
                DAY_2000 + rng.gen_range(0..10_950),
                rng.gen_range(4 * 3600..23 * 3600),
            );
            w.str_with(|b| push_datetime(b, day, secs));
        }
        let dur = rng.gen_range(0..86_400 * 30);
        w.str_with(|b| {
            // TIME goes past 24 hours (up to 838:59:59).
            push_u64(b, u64::from(dur / 3600));
            b.push(b':');
            push_padded(b, dur / 60 % 60, 2);
            b.push(b':');
            push_padded(b, dur % 60, 2);
        });
        w.uint(rng.gen_range(1901..=2155));
        w.str(STATES[rng.gen_range(0..STATES.len())]);
        w.str(TAGS[rng.gen_range(0..TAGS.len())]);
        if rng.gen_ratio(1, 6) {
            w.null();
        } else {
            let (k, word, ok) = (
                rng.gen_range(0..1000u32),
                WORDS[rng.gen_range(0..WORDS.len())],
                rng.gen_bool(0.5),
            );
            w.str_with(|b| {
                b.extend_from_slice(b"{\"k\": ");
                push_u64(b, u64::from(k));
                b.extend_from_slice(b", \"w\": \"");
                b.extend_from_slice(word.as_bytes());
                b.extend_from_slice(if ok {
                    b"\", \"ok\": true, \"l\": [1, 2.5, null]}"
                } else {
                    b"\", \"ok\": false, \"l\": []}"
                });
            });
        }
        // Printable bytes, so the CSV form stays text.
        let flags = [rng.gen_range(b'A'..=b'Z'), rng.gen_range(b'a'..=b'z')];
        w.binary(&flags);
        w.end_row()?;
    }
    let table = w.finish_table(Some(dups.dup_rows), Some(dups.conflicting_rows()))?;
    Ok(GenSummary::of(vec![table]))
}
