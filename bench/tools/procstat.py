#!/usr/bin/env python3
"""Figures of running processes from /proc: CPU seconds (utime+stime),
peak RSS (VmHWM), bytes written to disk (io write_bytes).

  procstat.py NAME=PID ...   prints one JSON object {NAME: {...}}
"""
import json
import os
import sys


def stat(pid):
    out = {}
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        out["cpu_secs"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM"):
                out["peak_rss_mib"] = int(line.split()[1]) / 1024
        for line in open(f"/proc/{pid}/io"):
            k, v = line.split(": ")
            if k in ("write_bytes", "read_bytes"):
                out[k] = int(v)
    except (OSError, IndexError, ValueError) as e:
        out["error"] = f"pid {pid}: {e}"
    return out


print(json.dumps({name: stat(pid) for name, pid in (a.split("=", 1) for a in sys.argv[1:])}))
