#!/usr/bin/env python3
"""Generates Squall's collation weight tables (codec/src/collation/data/*.bin).

Squall builds index keys with TiDB's new-collation sort keys. The weights are
data, not code, so they are generated here from their sources and committed as
compact binaries that `codec/src/collation/tables.rs` loads with `include_bytes!`.

Sources (none is committed; pass their paths):

* ``--allkeys-0900``: the UCA 9.0.0 DUCET, ``allkeys-9.0.0.txt``. PyPI's
  ``pyuca`` 1.2 sdist ships it (``pip download --no-deps --no-binary :all:
  pyuca==1.2``, file ``pyuca/allkeys-9.0.0.txt``); it is also
  https://www.unicode.org/Public/UCA/9.0.0/allkeys.txt.
* ``--allkeys-0400``: the UCA 4.0.0 DUCET, ``allkeys-4.0.0.txt``
  (https://www.unicode.org/Public/UCA/4.0.0/allkeys-4.0.0.txt), if you have it.
* ``--tikv-collator-dir``: TiKV's
  ``components/tidb_query_datatype/src/codec/collation/collator`` directory.
  TiKV implements the same collations for its coprocessor and ships their
  tables: ``utf8mb4_uca/data_0400.rs`` (made from allkeys-4.0.0.txt; used for
  utf8mb4_unicode_ci when ``--allkeys-0400`` is not given, and checked against
  it when it is), ``utf8mb4_uca/data_0900.rs`` (checked against what
  ``--allkeys-0900`` gives), ``gbk_chinese_ci.data`` (MySQL's gbk_chinese_ci
  order, per BMP code point) and ``gbk_bin.data`` (checked against Python's
  codec below).

gbk_bin is generated from Python's own ``gb18030`` codec: a BMP character's
GBK code is its GB18030 encoding when that has at most two bytes, except
private-use characters (Go's GBK encoder, which TiDB uses, refuses them) and
U+20AC (TiDB's custom GBK encoder refuses the euro sign, pingcap/tidb#30581);
an unencodable character weighs '?' (0x3F) as in TiDB.

The UCA tables follow TiDB's generator (pkg/util/collate/ucadata/generator):
primary weights only, zero weights dropped, contractions ignored (a
contraction line only marks its first character as listed), U+FDFA skipped
in 4.0.0 and cut to 8 weights in 9.0.0, every code point below the table's
length that allkeys does not list gets MySQL's implicit weight, and the
0xFFFD "long rune" marker quirks are reproduced. Each binary stores only the
code points whose weights differ from the implicit rule the Rust code computes,
plus a digest of the whole effective table that a unit test recomputes.

Regenerate (from the repository root):

    pip download --no-deps --no-binary :all: pyuca==1.2 -d /tmp/pyuca
    tar xzf /tmp/pyuca/pyuca-1.2.tar.gz -C /tmp/pyuca
    python3 scripts/gen-collation-tables.py \\
        --allkeys-0900 /tmp/pyuca/pyuca-1.2/pyuca/allkeys-9.0.0.txt \\
        --tikv-collator-dir <tikv>/components/tidb_query_datatype/src/codec/collation/collator \\
        --out codec/src/collation/data
"""

import argparse
import os
import re
import struct
import sys
import zlib

LONG_RUNE = 0xFFFD
LEN_0400 = 0x10000
LEN_0900 = 0x2CEA1
MAGIC_UCA = b"SQUCA\x00\x00\x01"
MAGIC_GBK = b"SQGBK\x00\x00\x01"
HEX = set("0123456789abcdefABCDEF")


# ---------------------------------------------------------------- allkeys ---


def parse_hex(s, i):
    """Hex digits at s[i:]: (found, value, next index), as TiDB's parseCETHex."""
    j = i
    v = 0
    while j < len(s) and s[j] in HEX:
        v = v * 16 + int(s[j], 16)
        j += 1
    return j > i, v, j


def parse_weights(s, i):
    """Primary weights of `[.pppp.ssss.tttt]...` at s[i:]; None if malformed.
    A line whose key is several code points (a contraction) has no `[` after
    the first one and yields [] here, exactly like TiDB's parser."""
    out = []
    while i < len(s) and s[i] == "[":
        if i + 1 >= len(s) or s[i + 1] not in ".*":
            return None
        ok, w, i = parse_hex(s, i + 2)
        if not ok or w > 0xFFFF:
            return None
        while True:
            if i < len(s) and s[i] == ".":
                ok, _, i = parse_hex(s, i + 1)
                if not ok:
                    return None
            elif i < len(s) and s[i] == "]":
                i += 1
                break
            else:
                return None
        out.append(w)
    return out


def pack(ws):
    v = 0
    for k, w in enumerate(ws):
        v |= w << (16 * k)
    return v


def implicit_0400(r):
    first = r >> 15
    if 0x3400 <= r <= 0x4DB5:
        first += 0xFB80
    elif 0x4E00 <= r <= 0x9FA5 or 0xFA0E <= r <= 0xFA0F:
        first += 0xFB40
    else:
        first += 0xFBC0
    return [first, (r & 0x7FFF) | 0x8000]


def hangul_jamo(r):
    s = r - 0xAC00
    lead, vowel, trail = 0x1100 + s // (21 * 28), 0x1161 + (s % (21 * 28)) // 28, s % 28
    return [lead, vowel] + ([0x11A7 + trail] if trail else [])


def implicit_0900(r, first_weight_of):
    """MySQL's implicit weight in 9.0.0 (TiDB getImplicitWeight0900). Hangul
    syllables take the first weight of each of their jamo."""
    if 0xD800 <= r <= 0xDFFF or r == 0xFFFD:
        return [0xFFFD]
    if 0xAC00 <= r <= 0xD7AF:
        return [first_weight_of(j) for j in hangul_jamo(r)]
    if 0x17000 <= r <= 0x18AFF:
        return [0xFB00, ((r - 0x17000) | 0x8000) & 0xFFFF]
    first = r >> 15
    if (
        0x3400 <= r <= 0x4DB5
        or 0x20000 <= r <= 0x2A6D6
        or 0x2A700 <= r <= 0x2B734
        or 0x2B740 <= r <= 0x2B81D
        or 0x2B820 <= r <= 0x2CEA1
    ):
        first += 0xFB80
    elif 0x4E00 <= r <= 0x9FD5 or 0xFA0E <= r <= 0xFA29:
        first += 0xFB40
    else:
        first += 0xFBC0
    return [first, (r & 0x7FFF) | 0x8000]


def table_from_allkeys(path, length, version):
    """TiDB's MapTable4 + LongRuneMap for an allkeys file, resolved to the
    weight list TiDB's GetWeight returns for every code point < length."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    map4 = [0] * length
    long_map = {}
    explicit = [False] * length
    for line in text.split("\n"):
        ok, char, i = parse_hex(line, 0)
        if not ok:
            continue
        while i < len(line) and line[i] in " ;":
            i += 1
        weights = parse_weights(line, i)
        if weights is None or char >= length:
            continue
        if char == 0xFDFA:
            if version == 400:
                continue
            weights = weights[:8]
        explicit[char] = True
        nz = [w for w in weights if w]
        if len(nz) <= 4:
            map4[char] += pack(nz)
        elif len(nz) <= 8:
            map4[char] = LONG_RUNE
            long_map[char] = (pack(nz[:4]), pack(nz[4:]))
        else:
            sys.exit(f"{path}: U+{char:04X} has {len(nz)} primary weights")
        if version == 900 and char == 0xFFFD:
            long_map[char] = (0xFFFD, 0)
    for r in range(1, length):
        if explicit[r]:
            continue
        if version == 400:
            ws = implicit_0400(r)
        else:
            ws = implicit_0900(r, lambda j: map4[j] & 0xFFFF)
        map4[r] = pack(ws)
    return resolve(map4, long_map)


def resolve(map4, long_map):
    """Weights per code point as TiDB's GetWeight gives them: a table value of
    0xFFFD means "look in LongRuneMap", and a code point missing there weighs
    nothing (Go's zero value)."""
    out = []
    for r, v in enumerate(map4):
        if v == LONG_RUNE:
            a, b = long_map.get(r, (0, 0))
            out.append(unpack(a) + unpack(b))
        else:
            out.append(unpack(v))
    return out


def unpack(v):
    ws = []
    while v:
        ws.append(v & 0xFFFF)
        v >>= 16
    return ws


def table_from_tikv(path, length):
    """The same resolved table from TiKV's generated Rust source."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    body = text[text.index("static UNICODE_CI_TABLE") :]
    body = body[body.index("= [") + 3 : body.index("];")]
    map4 = [int(x, 0) for x in body.replace("\n", "").split(",") if x.strip()]
    if len(map4) != length:
        sys.exit(f"{path}: {len(map4)} table entries, expected {length}")
    long_map = {}
    fn = text[text.index("fn map_long_rune") :]
    for cp, v in re.findall(r"(0x[0-9A-Fa-f]+)\s*=>\s*(0x[0-9A-Fa-f]+)", fn):
        v = int(v, 16)
        long_map[int(cp, 16)] = (v & (2**64 - 1), v >> 64)
    return resolve(map4, long_map)


# ---------------------------------------------------------------- output ---


def runtime_implicit(version, r, table):
    """What codec/src/collation/uca.rs computes for a code point that is not
    stored in the binary. Must stay in step with `implicit_weights` there."""
    if version == 400:
        return implicit_0400(r)
    if 0xAC00 <= r <= 0xD7AF:
        return [table[j][0] if table[j] else 0 for j in hangul_jamo(r)]
    return implicit_0900(r, None)


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def digest(table):
    h = 0xCBF29CE484222325
    for ws in table:
        h = fnv1a(bytes([len(ws)]) + b"".join(struct.pack(">H", w) for w in ws), h)
    return h


def write_uca(path, version, table):
    length = len(table)
    body = bytearray()
    prev = -1
    count = 0
    for r, ws in enumerate(table):
        if ws == runtime_implicit(version, r, table):
            continue
        delta = r - prev - 1
        prev = r
        while True:  # LEB128 gap since the previous stored code point
            b = delta & 0x7F
            delta >>= 7
            body.append(b | (0x80 if delta else 0))
            if not delta:
                break
        body.append(len(ws))
        for w in ws:
            body += struct.pack(">H", w)
        count += 1
    head = MAGIC_UCA + struct.pack(">IIIQ", version, length, count, digest(table))
    blob = head + zlib.compress(bytes(body), 9)
    with open(path, "wb") as f:
        f.write(blob)
    print(f"{path}: {count} stored code points of {length}, {len(blob)} bytes")


def gbk_bin_code(cp):
    if 0xD800 <= cp <= 0xDFFF or 0xE000 <= cp <= 0xF8FF or cp == 0x20AC:
        return 0x3F
    e = chr(cp).encode("gb18030")
    return int.from_bytes(e, "big") if len(e) <= 2 else 0x3F


def write_gbk(path, ci_data):
    codes = [gbk_bin_code(cp) for cp in range(0x10000)]
    ci = [int.from_bytes(ci_data[2 * cp : 2 * cp + 2], "big") for cp in range(0x10000)]
    body = b"".join(struct.pack(">H", c) for c in codes) + b"".join(
        struct.pack(">H", w) for w in ci
    )
    blob = MAGIC_GBK + struct.pack(">Q", fnv1a(body)) + zlib.compress(body, 9)
    with open(path, "wb") as f:
        f.write(blob)
    print(f"{path}: {len(blob)} bytes")
    return codes


def compare(name, a, b):
    diff = [r for r in range(min(len(a), len(b))) if a[r] != b[r]]
    if diff:
        shown = ", ".join(f"U+{r:04X} {a[r]} vs {b[r]}" for r in diff[:8])
        print(f"{name}: {len(diff)} code points differ: {shown}")
    else:
        print(f"{name}: identical")
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--allkeys-0900", required=True)
    ap.add_argument("--allkeys-0400")
    ap.add_argument("--tikv-collator-dir", required=True)
    ap.add_argument("--out", default="codec/src/collation/data")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tikv = args.tikv_collator_dir

    t0900 = table_from_allkeys(args.allkeys_0900, LEN_0900, 900)
    tikv0900 = table_from_tikv(os.path.join(tikv, "utf8mb4_uca", "data_0900.rs"), LEN_0900)
    # TiKV answers 0xFFFD where TiDB's Go map gives nothing; only surrogates
    # (never in valid UTF-8) hit that, so they are left out of the check.
    d = compare("0900 allkeys vs TiKV", t0900, tikv0900)
    if any(not (0xD800 <= r <= 0xDFFF) for r in d):
        sys.exit("UCA 9.0.0 table disagrees with TiKV's; not writing")

    tikv0400 = table_from_tikv(os.path.join(tikv, "utf8mb4_uca", "data_0400.rs"), LEN_0400)
    if args.allkeys_0400:
        t0400 = table_from_allkeys(args.allkeys_0400, LEN_0400, 400)
        compare("0400 allkeys vs TiKV", t0400, tikv0400)
    else:
        t0400 = tikv0400
    odd = [r for r in range(LEN_0400) if not t0400[r] and r and not 0xD800 <= r <= 0xDFFF]
    print(f"0400: {len(odd)} ignorable code points")

    write_uca(os.path.join(args.out, "uca0400.bin"), 400, t0400)
    write_uca(os.path.join(args.out, "uca0900.bin"), 900, t0900)

    with open(os.path.join(tikv, "gbk_chinese_ci.data"), "rb") as f:
        ci = f.read()
    codes = write_gbk(os.path.join(args.out, "gbk.bin"), ci)
    with open(os.path.join(tikv, "gbk_bin.data"), "rb") as f:
        tb = f.read()
    tikv_codes = [int.from_bytes(tb[2 * c : 2 * c + 2], "big") for c in range(0x10000)]
    d = compare("gbk_bin codec vs TiKV", codes, tikv_codes)
    if d != [0x20AC]:
        sys.exit("gbk_bin differs from TiKV's table beyond the euro sign")


if __name__ == "__main__":
    main()
