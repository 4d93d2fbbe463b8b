//! `lightning_various_types`: unusual types as primary keys, checked against
//! EXPECTED.md through `export`. Skipped when ../shared is absent.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;

use import_common::{config, export_rows, fixtures, import, sum_i128, val, Row};
use squall_tests::sim::start_sim;

const TABLES: [&str; 11] = [
    "bigint",
    "binary",
    "bit",
    "char",
    "datetime",
    "decimal",
    "double",
    "empty_strings",
    "enum-set",
    "json",
    "precise_types",
];

/// A DECIMAL(_, 4) display value as an integer of 1/10000.
fn dec4(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = int.starts_with('-');
    let whole: i64 = int
        .trim_start_matches('-')
        .parse()
        .expect("decimal integer part");
    let frac: i64 = format!("{frac:0<4}")[..4]
        .parse()
        .expect("decimal fraction");
    let v = whole * 10_000 + frac;
    if neg {
        -v
    } else {
        v
    }
}

fn refs_where(rows: &[Row], pred: impl Fn(&Row) -> bool) -> Vec<String> {
    rows.iter()
        .filter(|r| pred(r))
        .map(|r| val(r, "ref").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_various_types() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_various_types");
    let work = tempfile::tempdir().expect("temp dir");
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = config(Some(&dir.join("config.toml")), work.path());
    let source = dir.join("data");
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let mut t: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for name in TABLES {
        t.insert(
            name,
            export_rows(&sim, &source, &cfg, &format!("vt.{name}")).await,
        );
    }
    sim.shutdown().await;

    let bit = &t["bit"];
    assert_eq!(bit.len(), 16);
    let pks: Vec<u64> = bit
        .iter()
        .map(|r| val(r, "pk").parse().expect("bit value"))
        .collect();
    assert_eq!((pks.iter().min(), pks.iter().max()), (Some(&0), Some(&3)));
    assert_eq!(
        sum_i128(
            &bit.iter()
                .filter(|r| val(r, "pk") == "2")
                .cloned()
                .collect::<Vec<_>>(),
            "ref"
        ),
        82
    );

    let dec = &t["decimal"];
    assert_eq!(dec.len(), 50);
    let pks: Vec<i64> = dec.iter().map(|r| dec4(val(r, "pk"))).collect();
    assert_eq!(
        (pks.iter().min(), pks.iter().max()),
        (Some(&-999_990), Some(&999_912))
    );
    assert_eq!(pks.iter().sum::<i64>(), -99_123);
    assert_eq!(
        refs_where(dec, |r| (-10_000..=0).contains(&dec4(val(r, "pk")))),
        ["22"]
    );

    let dbl = &t["double"];
    assert_eq!(dbl.len(), 41);
    let pks: Vec<f64> = dbl
        .iter()
        .map(|r| val(r, "pk").parse().expect("double"))
        .collect();
    let min = pks.iter().copied().fold(f64::INFINITY, f64::min);
    let max = pks.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((min, max), (9.85967654375977e-305, 1.0142320547350045e304));
    assert_eq!(
        refs_where(dbl, |r| (1e100..=1e120)
            .contains(&val(r, "pk").parse::<f64>().expect("double"))),
        ["245"]
    );

    let dt = &t["datetime"];
    assert_eq!(dt.len(), 70);
    let col = |c: &str| dt.iter().map(|r| val(r, c).to_string()).collect::<Vec<_>>();
    let (pk, uk) = (col("pk"), col("uk"));
    assert_eq!(
        pk.iter().min().map(String::as_str),
        Some("1026-09-21 15:15:54.335745")
    );
    assert_eq!(
        pk.iter().max().map(String::as_str),
        Some("9889-01-08 08:51:03.389832")
    );
    assert_eq!(
        uk.iter().min().map(String::as_str),
        Some("1970-11-09 19:25:45.843")
    );
    assert_eq!(
        uk.iter().max().map(String::as_str),
        Some("2036-10-14 10:48:28.620")
    );
    assert_eq!(refs_where(dt, |r| val(r, "pk").starts_with("2882-")), ["7"]);
    assert_eq!(
        refs_where(dt, |r| val(r, "uk").starts_with("2001-")),
        ["32"]
    );

    let ch = &t["char"];
    assert_eq!(ch.len(), 50);
    let pks: Vec<&str> = ch.iter().map(|r| val(r, "pk")).collect();
    assert_eq!(
        pks.iter().min(),
        Some(&"090abbb2-f22e-4f97-a4fe-a52eb1a80a0b")
    );
    assert_eq!(
        pks.iter().max(),
        Some(&"fde1328c-409c-43a8-b1b0-8c35c8000f92")
    );
    assert_eq!(
        refs_where(ch, |r| val(r, "pk")
            == "55dc0343-db6a-4208-9872-9096305b8c07"),
        ["41"]
    );

    let bin = &t["binary"];
    assert_eq!(bin.len(), 51);
    let pks: Vec<&str> = bin.iter().map(|r| val(r, "pk")).collect();
    assert_eq!(
        pks.iter().min(),
        Some(&"0x00000000000000000000000000000000")
    );
    assert_eq!(
        pks.iter().max(),
        Some(&"0xFDE1328C409C43A8B1B08C35C8000F92")
    );
    assert_eq!(
        refs_where(bin, |r| val(r, "pk")
            == "0x55DC0343DB6A420898729096305B8C07"),
        ["41"]
    );

    let js = &t["json"];
    assert_eq!(js.len(), 92);
    let parsed: Vec<(String, serde_json::Value)> = js
        .iter()
        .map(|r| {
            (
                val(r, "pk").to_string(),
                serde_json::from_str(val(r, "js")).expect("js is JSON"),
            )
        })
        .collect();
    let distinct: std::collections::BTreeSet<String> =
        parsed.iter().map(|(_, v)| v.to_string()).collect();
    assert_eq!(distinct.len(), 92);
    let arr: Vec<&str> = parsed
        .iter()
        .filter(|(_, v)| *v == serde_json::json!([1, 2, 3]))
        .map(|(pk, _)| pk.as_str())
        .collect();
    assert_eq!(arr, ["1089"]);
    let obj = parsed
        .iter()
        .find(|(pk, _)| pk == "2000")
        .map(|(_, v)| v.clone());
    assert_eq!(
        obj,
        Some(serde_json::json!({"52": 1, "54": 1, "68": 1, "126": 1}))
    );

    let es = &t["enum-set"];
    assert_eq!(es.len(), 26);
    assert_eq!(
        es.iter()
            .filter(|r| val(r, "set").split(',').any(|m| m == "x50"))
            .count(),
        10
    );
    let set_of = |e: &str| {
        es.iter()
            .find(|r| val(r, "enum") == e)
            .map(|r| val(r, "set").to_string())
    };
    assert_eq!(
        set_of("gcc").as_deref(),
        Some("x00,x06,x07,x09,x17,x20,x23,x24,x27,x37,x44,x46,x49,x54,x55,x58,x61,x62")
    );
    assert_eq!(
        set_of("g99").as_deref(),
        Some("x07,x08,x09,x10,x11,x12,x14,x16,x17,x18,x19,x22,x25,x26,x28,x29,x30,x31,x32,x33,x35,x38,x39,x41,x44,x46,x49,x51,x53,x55,x56,x58,x61,x63")
    );

    let es = &t["empty_strings"];
    assert_eq!(es.len(), 6);
    let sum_where = |a: &str| {
        sum_i128(
            &es.iter()
                .filter(|r| val(r, "a") == a)
                .cloned()
                .collect::<Vec<_>>(),
            "pk",
        )
    };
    assert_eq!(
        (sum_where(""), sum_where("\""), sum_where("'")),
        (5, 18, 40)
    );

    let p = &t["precise_types"];
    assert_eq!(p.len(), 1);
    assert_eq!(val(&p[0], "a"), "18446744073709551614");
    assert_eq!(val(&p[0], "b"), "-9223372036854775806");
    assert_eq!(val(&p[0], "c"), "99999999999999999999.0");
    assert_eq!(
        val(&p[0], "d").parse::<f64>().expect("double"),
        1.8446744073709552e19
    );

    let bi = &t["bigint"];
    assert_eq!(bi.len(), 6);
    assert_eq!(sum_i128(bi, "id"), -3_341_565_093_352_173_667);
}
