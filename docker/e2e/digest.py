#!/usr/bin/env python3
"""Digests scripts/compose-e2e.sh compares between the cluster's import and
a reference import of the same dump.

  squall export --format kv ... | digest.py kv TABLE
      one JSON line: the table, its KVs, its rows (record keys, `t{id}_r`)
      and the SHA-256 of the export (key order: TiKV's scan order, so equal
      contents give equal digests)
  digest.py conflicts DIR
      one JSON line per conflicts/*.jsonl in DIR: rows in it and the SHA-256
      of its records sorted, each without `commit_ts` (the transaction that
      resolved them differs between two imports)
"""

import hashlib
import json
import os
import sys


def kv(table):
    h = hashlib.sha256()
    kvs = rows = 0
    for line in sys.stdin.buffer:
        h.update(line)
        kvs += 1
        # A TiDB record key: 't' (74), the table id (8 bytes), '_r' (5f72).
        if line[18:22] == b"5f72":
            rows += 1
    print(json.dumps({"table": table, "kvs": kvs, "rows": rows, "sha256": h.hexdigest()}))


def conflicts(directory):
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        records = []
        with open(os.path.join(directory, name)) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    r.pop("commit_ts", None)
                    records.append(json.dumps(r, sort_keys=True))
        records.sort()
        h = hashlib.sha256("\n".join(records).encode()).hexdigest()
        print(json.dumps({"file": name, "rows": len(records), "sha256": h}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "kv":
        kv(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "conflicts":
        conflicts(sys.argv[2])
    else:
        sys.exit(__doc__)
