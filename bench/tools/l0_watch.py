#!/usr/bin/env python3
"""Samples the sim's L0 model while an import runs: the most `write` CF L0
files each store held (TiKV's write-stall signal), from `GET /stores` every
INTERVAL seconds, until SIGTERM. The sim's `GET /ingests` only says how many
files L0 holds *now*, which after the import is whatever compaction left.

  l0_watch.py ADMIN_ADDR OUT.json [--interval 0.5]

OUT.json is rewritten after every sample that raises a maximum, so a killed
watcher still leaves its figures: {"samples", "errors", "max_l0_files"
(the most on any one store), "max_l0_files_sum" (all stores at one sample),
"per_store": {id: most}}.
"""
import argparse
import json
import os
import signal
import sys
import time
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("admin")
    ap.add_argument("out")
    ap.add_argument("--interval", type=float, default=0.5)
    a = ap.parse_args()
    state = {"samples": 0, "errors": 0, "max_l0_files": 0, "max_l0_files_sum": 0, "per_store": {}}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    def save():
        with open(a.out + ".tmp", "w") as f:
            json.dump(state, f)
        # Atomic, so a reader never sees half a file.
        os.replace(a.out + ".tmp", a.out)

    save()
    while not stop:
        try:
            # The sim answers at once; a slow answer means the machine is
            # loaded, and a missed sample only lowers the maximum seen.
            stores = json.load(urllib.request.urlopen(f"http://{a.admin}/stores", timeout=5))
        except (OSError, ValueError):
            state["errors"] += 1
        else:
            state["samples"] += 1
            raised = False
            total = 0
            for s in stores:
                n = int(s.get("l0_files", 0))
                total += n
                key = str(s.get("id"))
                if n > state["per_store"].get(key, 0):
                    state["per_store"][key] = n
                    raised = True
            if total > state["max_l0_files_sum"]:
                state["max_l0_files_sum"] = total
                raised = True
            state["max_l0_files"] = max(state["per_store"].values(), default=0)
            if raised:
                save()
        time.sleep(a.interval)
    save()


if __name__ == "__main__":
    sys.exit(main())
