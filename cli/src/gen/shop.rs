//! `shop`: a small retail schema exercising many column types, a unique
//! index, secondary indexes, a composite clustered key and a table without
//! a primary key (rows keyed by `_tidb_rowid`).

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::writer::{DumpWriter, Format};
use super::{GenOptions, GenSummary, TableSummary};

const CUSTOMERS: &str = "CREATE TABLE `customers` (
  `id` bigint NOT NULL,
  `name` varchar(64) NOT NULL,
  `email` varchar(128) NOT NULL,
  `country` char(2) DEFAULT NULL,
  `balance` decimal(12,2) NOT NULL DEFAULT '0.00',
  `created` datetime NOT NULL,
  `vip` tinyint(1) NOT NULL DEFAULT '0',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_email` (`email`),
  KEY `idx_country` (`country`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const ORDERS: &str = "CREATE TABLE `orders` (
  `order_id` bigint unsigned NOT NULL,
  `customer_id` bigint NOT NULL,
  `amount` decimal(10,2) NOT NULL,
  `status` enum('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
  `placed` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `weight` double DEFAULT NULL,
  `note` text,
  PRIMARY KEY (`order_id`),
  KEY `idx_customer` (`customer_id`,`placed`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const EVENTS: &str = "CREATE TABLE `events` (
  `uuid` char(36) NOT NULL,
  `kind` varchar(16) NOT NULL,
  `at` datetime(3) NOT NULL,
  `day` date NOT NULL,
  `score` float DEFAULT NULL,
  `flags` set('a','b','c') NOT NULL DEFAULT '',
  KEY `idx_kind` (`kind`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const COUNTRIES: [&str; 8] = ["US", "DE", "FR", "JP", "BR", "IN", "CN", "NG"];
const STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];
const KINDS: [&str; 5] = ["view", "click", "cart", "buy", "leave"];
const WORDS: [&str; 10] = [
    "swift", "amber", "delta", "lumen", "orbit", "quill", "ridge", "sable", "tonic", "vivid",
];

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "shop")?;
    DumpWriter::write_schema(dir, "shop", "customers", CUSTOMERS)?;
    DumpWriter::write_schema(dir, "shop", "orders", ORDERS)?;
    DumpWriter::write_schema(dir, "shop", "events", EVENTS)?;
    // Byte budget split: customers 20%, orders 50%, events 30%.
    let customers = customers(dir, opts, opts.bytes / 5, rng)?;
    let orders = orders(dir, opts, opts.bytes / 2, customers.rows, rng)?;
    let events = events(dir, opts, opts.bytes * 3 / 10, rng)?;
    Ok(GenSummary::of(vec![customers, orders, events]))
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn dup_or(rng: &mut StdRng, ratio: f64, next: i64) -> i64 {
    if next > 1 && rng.gen_bool(ratio.clamp(0.0, 1.0)) {
        rng.gen_range(1..next)
    } else {
        next
    }
}

fn customers(
    dir: &Path,
    opts: &GenOptions,
    budget: u64,
    rng: &mut StdRng,
) -> std::io::Result<TableSummary> {
    let cols = [
        "id", "name", "email", "country", "balance", "created", "vip",
    ];
    let mut w = DumpWriter::new(
        dir,
        "shop",
        "customers",
        &cols,
        opts.format.unwrap_or(Format::Sql),
        opts.file_bytes,
    );
    let mut id = 0i64;
    while w.bytes() < budget {
        id += 1;
        let key = dup_or(rng, opts.duplicate_ratio, id);
        let name = format!("{} {}'s", pick(rng, &WORDS), pick(rng, &WORDS));
        let country = if rng.gen_ratio(1, 10) {
            "NULL".to_string()
        } else {
            format!("'{}'", pick(rng, &COUNTRIES))
        };
        let balance = format!(
            "{}.{:02}",
            rng.gen_range(-5000..100_000),
            rng.gen_range(0..100)
        );
        let created = format!(
            "'20{:02}-{:02}-{:02} {:02}:{:02}:{:02}'",
            rng.gen_range(10..25),
            rng.gen_range(1..13),
            rng.gen_range(1..29),
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
        w.row(&[
            key.to_string(),
            format!("'{}'", name.replace('\'', "\\'")),
            format!("'user{key}@example.com'"),
            country,
            balance,
            created,
            rng.gen_range(0..2).to_string(),
        ])?;
    }
    // Duplicates here may copy a key that is itself a repeat or was never
    // written, so the conflicting rows are not known in advance.
    w.finish_table(None, None)
}

fn orders(
    dir: &Path,
    opts: &GenOptions,
    budget: u64,
    customers: u64,
    rng: &mut StdRng,
) -> std::io::Result<TableSummary> {
    let cols = [
        "order_id",
        "customer_id",
        "amount",
        "status",
        "placed",
        "weight",
        "note",
    ];
    let mut w = DumpWriter::new(
        dir,
        "shop",
        "orders",
        &cols,
        opts.format.unwrap_or(Format::Csv),
        opts.file_bytes,
    );
    let mut id = 0i64;
    while w.bytes() < budget {
        id += 1;
        let key = dup_or(rng, opts.duplicate_ratio, id) as u64 + (1 << 40);
        let note = match rng.gen_range(0..4) {
            0 => "NULL".to_string(),
            1 => "''".to_string(),
            _ => format!(
                "'{} {}, {}'",
                pick(rng, &WORDS),
                pick(rng, &WORDS),
                pick(rng, &WORDS)
            ),
        };
        let weight = if rng.gen_ratio(1, 5) {
            "NULL".to_string()
        } else {
            format!("{:.3}", rng.gen_range(0.0..50.0f64))
        };
        w.row(&[
            key.to_string(),
            rng.gen_range(1..=customers.max(1)).to_string(),
            format!("{}.{:02}", rng.gen_range(0..10_000), rng.gen_range(0..100)),
            format!("'{}'", pick(rng, &STATUSES)),
            format!(
                "'2024-{:02}-{:02} {:02}:{:02}:{:02}'",
                rng.gen_range(1..13),
                rng.gen_range(1..29),
                rng.gen_range(0..24),
                rng.gen_range(0..60),
                rng.gen_range(0..60)
            ),
            weight,
            note,
        ])?;
    }
    // Duplicates here may copy a key that is itself a repeat or was never
    // written, so the conflicting rows are not known in advance.
    w.finish_table(None, None)
}

fn events(
    dir: &Path,
    opts: &GenOptions,
    budget: u64,
    rng: &mut StdRng,
) -> std::io::Result<TableSummary> {
    let cols = ["uuid", "kind", "at", "day", "score", "flags"];
    let mut w = DumpWriter::new(
        dir,
        "shop",
        "events",
        &cols,
        opts.format.unwrap_or(Format::Sql),
        opts.file_bytes,
    );
    while w.bytes() < budget {
        let uuid = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            rng.gen::<u32>(),
            rng.gen::<u16>(),
            rng.gen::<u16>(),
            rng.gen::<u16>(),
            rng.gen::<u64>() & 0xffff_ffff_ffff
        );
        let (m, d) = (rng.gen_range(1..13), rng.gen_range(1..29));
        let flags = ["", "a", "b", "a,c", "a,b,c"][rng.gen_range(0..5)];
        let score = if rng.gen_ratio(1, 8) {
            "NULL".to_string()
        } else {
            format!("{:.2}", rng.gen_range(-1.0..1.0f32))
        };
        w.row(&[
            format!("'{uuid}'"),
            format!("'{}'", pick(rng, &KINDS)),
            format!(
                "'2025-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}'",
                rng.gen_range(0..24),
                rng.gen_range(0..60),
                rng.gen_range(0..60),
                rng.gen_range(0..1000)
            ),
            format!("'2025-{m:02}-{d:02}'"),
            score,
            format!("'{flags}'"),
        ])?;
    }
    // Duplicates here may copy a key that is itself a repeat or was never
    // written, so the conflicting rows are not known in advance.
    w.finish_table(None, None)
}
