//! Golden vectors from TiDB's `pkg/util/collate/collate_test.go`
//! (`TestUTF8CollatorKey`, `TestUTF8CollatorCompare`) and the table digests.

use std::cmp::Ordering;

use super::*;

/// The collations of TiDB's tables, in their column order.
const COLUMNS: [&str; 8] = [
    "binary",
    "utf8mb4_bin",
    "utf8mb4_general_ci",
    "utf8mb4_unicode_ci",
    "utf8mb4_0900_ai_ci",
    "utf8mb4_0900_bin",
    "gbk_bin",
    "gbk_chinese_ci",
];

fn key(name: &str, s: &str) -> Vec<u8> {
    Collation::from_name(name)
        .expect("supported")
        .key_of(s.as_bytes())
}

#[test]
fn tidb_utf8_collator_key() {
    let foo = "Foo © bar 𝌆 baz ☃ qux";
    #[rustfmt::skip]
    let cases: Vec<(&str, [Vec<u8>; 8])> = vec![
        ("a", [vec![0x61], vec![0x61], vec![0x0, 0x41], vec![0x0E, 0x33], vec![0x1C, 0x47], vec![0x61], vec![0x61], vec![0x41]]),
        ("A", [vec![0x41], vec![0x41], vec![0x0, 0x41], vec![0x0E, 0x33], vec![0x1C, 0x47], vec![0x41], vec![0x41], vec![0x41]]),
        (foo, [
            foo.as_bytes().to_vec(),
            foo.as_bytes().to_vec(),
            vec![0x0, 0x46, 0x0, 0x4f, 0x0, 0x4f, 0x0, 0x20, 0x0, 0xa9, 0x0, 0x20, 0x0, 0x42, 0x0, 0x41, 0x0, 0x52, 0x0, 0x20, 0xff, 0xfd, 0x0, 0x20, 0x0, 0x42, 0x0, 0x41, 0x0, 0x5a, 0x0, 0x20, 0x26, 0x3, 0x0, 0x20, 0x0, 0x51, 0x0, 0x55, 0x0, 0x58],
            vec![0x0E, 0xB9, 0x0F, 0x82, 0x0F, 0x82, 0x02, 0x09, 0x02, 0xC5, 0x02, 0x09, 0x0E, 0x4A, 0x0E, 0x33, 0x0F, 0xC0, 0x02, 0x09, 0xFF, 0xFD, 0x02, 0x09, 0x0E, 0x4A, 0x0E, 0x33, 0x10, 0x6A, 0x02, 0x09, 0x06, 0xFF, 0x02, 0x09, 0x0F, 0xB4, 0x10, 0x1F, 0x10, 0x5A],
            vec![0x1c, 0xe5, 0x1d, 0xdd, 0x1d, 0xdd, 0x2, 0x9, 0x5, 0x84, 0x2, 0x9, 0x1c, 0x60, 0x1c, 0x47, 0x1e, 0x33, 0x2, 0x9, 0xe, 0xf0, 0x2, 0x9, 0x1c, 0x60, 0x1c, 0x47, 0x1f, 0x21, 0x2, 0x9, 0x9, 0x1b, 0x2, 0x9, 0x1e, 0x21, 0x1e, 0xb5, 0x1e, 0xff],
            foo.as_bytes().to_vec(),
            vec![0x46, 0x6f, 0x6f, 0x20, 0x3f, 0x20, 0x62, 0x61, 0x72, 0x20, 0x3f, 0x20, 0x62, 0x61, 0x7a, 0x20, 0x3f, 0x20, 0x71, 0x75, 0x78],
            vec![0x46, 0x4f, 0x4f, 0x20, 0x3f, 0x20, 0x42, 0x41, 0x52, 0x20, 0x3f, 0x20, 0x42, 0x41, 0x5a, 0x20, 0x3f, 0x20, 0x51, 0x55, 0x58],
        ]),
        ("a ", [vec![0x61, 0x20], vec![0x61], vec![0x0, 0x41], vec![0x0E, 0x33], vec![0x1c, 0x47, 0x2, 0x9], vec![0x61, 0x20], vec![0x61], vec![0x41]]),
        ("ﷻ", [
            vec![0xEF, 0xB7, 0xBB],
            vec![0xEF, 0xB7, 0xBB],
            vec![0xFD, 0xFB],
            vec![0x13, 0x5E, 0x13, 0xAB, 0x02, 0x09, 0x13, 0x5E, 0x13, 0xAB, 0x13, 0x50, 0x13, 0xAB, 0x13, 0xB7],
            vec![0x23, 0x25, 0x23, 0x9c, 0x2, 0x9, 0x23, 0x25, 0x23, 0x9c, 0x23, 0xb, 0x23, 0x9c, 0x23, 0xb1],
            vec![0xEF, 0xB7, 0xBB],
            vec![0x3f],
            vec![0x3F],
        ]),
        ("中文", [
            vec![0xE4, 0xB8, 0xAD, 0xE6, 0x96, 0x87],
            vec![0xE4, 0xB8, 0xAD, 0xE6, 0x96, 0x87],
            vec![0x4E, 0x2D, 0x65, 0x87],
            vec![0xFB, 0x40, 0xCE, 0x2D, 0xFB, 0x40, 0xE5, 0x87],
            vec![0xFB, 0x40, 0xCE, 0x2D, 0xFB, 0x40, 0xE5, 0x87],
            vec![0xE4, 0xB8, 0xAD, 0xE6, 0x96, 0x87],
            vec![0xD6, 0xD0, 0xCE, 0xC4],
            vec![0xD3, 0x21, 0xC1, 0xAD],
        ]),
        ("갟감1", [
            vec![0xea, 0xb0, 0x9f, 0xea, 0xb0, 0x90, 0x31],
            vec![0xea, 0xb0, 0x9f, 0xea, 0xb0, 0x90, 0x31],
            vec![0xac, 0x1f, 0xac, 0x10, 0x0, 0x31],
            vec![0xfb, 0xc1, 0xac, 0x1f, 0xfb, 0xc1, 0xac, 0x10, 0xe, 0x2a],
            vec![0x3b, 0xf5, 0x3c, 0x74, 0x3c, 0xd3, 0x3b, 0xf5, 0x3c, 0x73, 0x3c, 0xe0, 0x1c, 0x3e],
            vec![0xea, 0xb0, 0x9f, 0xea, 0xb0, 0x90, 0x31],
            vec![0x3f, 0x3f, 0x31],
            vec![0x3f, 0x3f, 0x31],
        ]),
        ("\u{FFFFE}\u{FFFFF}", [
            vec![0xf3, 0xbf, 0xbf, 0xbe, 0xf3, 0xbf, 0xbf, 0xbf],
            vec![0xf3, 0xbf, 0xbf, 0xbe, 0xf3, 0xbf, 0xbf, 0xbf],
            vec![0xff, 0xfd, 0xff, 0xfd],
            vec![0xff, 0xfd, 0xff, 0xfd],
            vec![0xfb, 0xdf, 0xff, 0xfe, 0xfb, 0xdf, 0xff, 0xff],
            vec![0xf3, 0xbf, 0xbf, 0xbe, 0xf3, 0xbf, 0xbf, 0xbf],
            vec![0x3f, 0x3f],
            vec![0x3f, 0x3f],
        ]),
    ];
    for (s, want) in &cases {
        for (name, want) in COLUMNS.iter().zip(want) {
            assert_eq!(&key(name, s), want, "key of {s:?} under {name}");
        }
    }
}

#[test]
fn tidb_utf8_collator_compare() {
    // Compared through the sort keys: that is how index keys order and
    // how unique keys collide.
    #[rustfmt::skip]
    let cases: &[(&str, &str, [i8; 8])] = &[
        ("a", "b", [-1, -1, -1, -1, -1, -1, -1, -1]),
        ("a", "A", [1, 1, 0, 0, 0, 1, 1, 0]),
        ("À", "A", [1, 1, 0, 0, 0, 1, -1, -1]),
        ("abc", "abc", [0, 0, 0, 0, 0, 0, 0, 0]),
        ("abc", "ab", [1, 1, 1, 1, 1, 1, 1, 1]),
        ("😜", "😃", [1, 1, 0, 0, 1, 1, 0, 0]),
        ("a", "a ", [-1, 0, 0, 0, -1, -1, 0, 0]),
        ("a ", "a  ", [-1, 0, 0, 0, -1, -1, 0, 0]),
        ("a\t", "a", [1, 1, 1, 1, 1, 1, 1, 1]),
        ("ß", "s", [1, 1, 0, 1, 1, 1, -1, -1]),
        ("ß", "ss", [1, 1, -1, 0, 0, 1, -1, -1]),
        ("啊", "吧", [1, 1, 1, 1, 1, 1, -1, -1]),
        ("中文", "汉字", [-1, -1, -1, -1, -1, -1, 1, 1]),
        ("æ", "ae", [1, 1, 1, 1, 0, 1, -1, -1]),
        ("A\u{30A}", "A", [1, 1, 1, 0, 0, 1, 1, 1]),
        ("Å", "A", [1, 1, 0, 0, 0, 1, -1, -1]),
        ("\u{1730F}", "啊", [1, 1, 1, 1, -1, 1, -1, -1]),
        ("가", "㉡", [1, 1, 1, 1, -1, 1, 0, 0]),
        ("갟", "감1", [1, 1, 1, 1, 1, 1, -1, -1]),
        ("\u{FFFFE}", "\u{FFFFF}", [-1, -1, 0, 0, -1, -1, 0, 0]),
    ];
    for (a, b, want) in cases {
        for (name, want) in COLUMNS.iter().zip(want) {
            let got = match key(name, a).cmp(&key(name, b)) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            };
            assert_eq!(got, *want, "{a:?} vs {b:?} under {name}");
        }
    }
}

#[test]
fn invalid_utf8_ends_the_key_except_gbk_bin() {
    // TiDB TestCampareInvalidUTF8Rune: 0xff and 0xfe compare equal.
    for name in [
        "utf8mb4_general_ci",
        "utf8mb4_unicode_ci",
        "utf8mb4_0900_ai_ci",
        "gbk_chinese_ci",
    ] {
        let c = Collation::from_name(name).expect("supported");
        assert!(c.equal(b"\xff", b"\xfe"), "{name}");
        assert!(c.equal(b"\xff", b"\xff\x3e"), "{name}");
        assert!(c.equal(b"\x3e\xff", b"\x3e\xff\x3e"), "{name}");
    }
    // gbk_bin writes `?` for the bytes its encoder refuses and goes on.
    let gbk = Collation::GbkBin;
    assert_eq!(gbk.key_of(b"a\xffb"), b"a?");
    assert_eq!(gbk.key_of(b"a\xffbcdef"), b"a?ef");
    assert_eq!(gbk.key_of("€".as_bytes()), b"?");
    assert!(gbk.equal(b"\xff", b"\xfe"));
}

#[test]
fn expansions_ignorables_and_padding() {
    let ci = Collation::UnicodeCi;
    let ai = Collation::Unicode0900AiCi;
    // Expansions: ß is `ss`, æ is `ae` under 9.0.0 only, ﬁ is `fi`.
    assert!(ci.equal("ß".as_bytes(), b"ss") && ai.equal("ß".as_bytes(), b"ss"));
    assert!(ai.equal("æ".as_bytes(), b"ae") && !ci.equal("æ".as_bytes(), b"ae"));
    assert!(ci.equal("ﬁ".as_bytes(), b"fi") && ai.equal("ﬁ".as_bytes(), b"FI"));
    // Ignorables: a zero-width space and a combining accent weigh nothing.
    assert!(ci.equal("a\u{200B}b".as_bytes(), b"ab"));
    assert!(ai.equal("e\u{301}".as_bytes(), b"E"));
    assert!(uca::weights(uca::Version::V0900, '\u{200B}').is_empty());
    // PAD SPACE vs NO PAD: the conflict examples.
    assert!(ai.equal(b"a", b"A") && !ai.equal(b"a", b"a "));
    assert!(ci.equal(b"a", b"A "));
    assert!(!Collation::BinPadding.equal(b"a", b"A"));
    assert!(Collation::BinPadding.equal(b"a", b"a  "));
    // Tabs are not spaces.
    assert!(!ci.equal(b"a\t", b"a"));
}

#[test]
fn tables_decode_to_what_the_generator_wrote() {
    for v in [uca::Version::V0400, uca::Version::V0900] {
        let (got, want) = uca::table_digest(v);
        assert_eq!(got, want, "{v:?} table digest");
    }
    assert_eq!(gbk::gbk_code('中'), 0xD6D0);
    assert_eq!(gbk::chinese_ci_weight('中'), 0xD321);
    assert_eq!(gbk::gbk_code('\u{E000}'), u16::from(b'?'));
}

#[test]
fn names_resolve_like_tidb() {
    let ok = [
        ("binary", Collation::Binary),
        ("UTF8MB4_BIN", Collation::BinPadding),
        ("utf8mb3_bin", Collation::BinPadding),
        ("latin1_bin", Collation::BinPadding),
        ("ascii_bin", Collation::BinPadding),
        ("utf8mb4_0900_bin", Collation::DerivedBin),
        ("utf8_general_ci", Collation::GeneralCi),
        ("utf8mb3_unicode_ci", Collation::UnicodeCi),
        ("utf8mb4_unicode_ci", Collation::UnicodeCi),
        ("utf8mb4_0900_ai_ci", Collation::Unicode0900AiCi),
        ("gbk_bin", Collation::GbkBin),
        ("gbk_chinese_ci", Collation::GbkChineseCi),
    ];
    for (name, want) in ok {
        assert_eq!(Collation::from_name(name), Ok(want), "{name}");
    }
    let err = Collation::from_name("latin1_swedish_ci").expect_err("unsupported");
    assert!(err.to_string().contains("latin1_swedish_ci"), "{err}");
    assert!(!Collation::is_bin_padding("gbk_bin"));
    assert!(Collation::is_bin_padding("utf8mb4_bin"));
}

#[test]
fn general_ci_stops_at_invalid_utf8_and_keeps_tabs() {
    let mut out = Vec::new();
    Collation::GeneralCi.sort_key(b"ab\xFFcd", &mut out);
    assert_eq!(out, [0x00, 0x41, 0x00, 0x42]);
    assert_eq!(Collation::BinPadding.key_of(b"a\t"), b"a\t");
    assert_eq!(Collation::GeneralCi.key_of("é".as_bytes()), [0x00, 0x45]);
    assert_eq!(Collation::GeneralCi.key_of("ß".as_bytes()), [0x00, 0x53]);
}
