#!/usr/bin/env python3
"""Run one command and measure it: wall seconds, CPU seconds and peak RSS
(wait4's rusage: ru_utime+ru_stime, ru_maxrss), bytes written to and read
from disk (/proc/<pid>/io write_bytes/read_bytes, read at exit before the
process is reaped), and an RSS trace every 0.5 s.

  timed.py OUT.json STDOUT_FILE STDERR_FILE [--rss-trace FILE] -- CMD...

Writes OUT.json; exits with the command's status. Used by scripts/bench.sh.
"""
import json
import os
import subprocess
import sys
import threading
import time


def proc_io(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k: int(v) for k, v in (line.split(": ") for line in f)}
    except (OSError, ValueError):
        return {}


def main():
    out_json, stdout_file, stderr_file, *rest = sys.argv[1:]
    trace_file = None
    if rest and rest[0] == "--rss-trace":
        trace_file, rest = rest[1], rest[2:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    t0 = time.monotonic()
    with open(stdout_file, "w") as so, open(stderr_file, "w") as se:
        p = subprocess.Popen(rest, stdout=so, stderr=se)
        done = threading.Event()

        def sample():
            trace = open(trace_file, "w") if trace_file else None
            while not done.wait(0.5):
                try:
                    with open(f"/proc/{p.pid}/status") as st:
                        kib = next(int(l.split()[1]) for l in st if l.startswith("VmRSS"))
                except (OSError, StopIteration, ValueError):
                    continue
                if trace:
                    trace.write(f"{time.time():.1f}\t{kib // 1024}\n")
                    trace.flush()
            if trace:
                trace.close()

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # Wait without reaping, so /proc/<pid>/io is still there to read.
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
        io = proc_io(p.pid)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    secs = time.monotonic() - t0
    result = {
        "cmd": rest,
        "exit": p.returncode,
        "secs": secs,
        "cpu_secs": ru.ru_utime + ru.ru_stime,
        "user_secs": ru.ru_utime,
        "sys_secs": ru.ru_stime,
        "peak_rss_mib": ru.ru_maxrss / 1024,
        "write_bytes": io.get("write_bytes", 0),
        "read_bytes": io.get("read_bytes", 0),
    }
    with open(out_json, "w") as f:
        json.dump(result, f)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
