#!/usr/bin/env python3
"""Faults for scripts/compose-e2e.sh, injected while a job's engine tasks are
in flight, and the job watched to its end.

  chaos.py --api http://127.0.0.1:P1,http://127.0.0.1:P2 --project NAME \
           --compose "docker-compose -f ... -f ..." --ack-wait SECS \
           --timeline OUT.json --deadline SECS

The faults, in order, each only once an engine task runs (on the worker it
hits, where it hits a worker):
  1. kill-worker   `docker kill` a worker container running a task
  2. scale-up      `docker-compose up --scale worker=5`: two new workers and
                   the killed one started again
  3. pause-worker  `docker pause` another worker running a task, for longer
                   than the ack wait (its tasks go to other workers; its late
                   results must be refused), then `docker unpause`
  4. kill-leader   `docker kill` the leading coordinator (while the worker
                   is paused), then `docker start` it again once the standby
                   leads

Each fault records what was in flight when it struck; watching on, the
script records when each engine it touched was done again, by which worker
and at which attempt, and how long the coordinators went without a leader.
It writes the timeline (JSON) and exits 0 when every fault struck with tasks
in flight and the job ended (verified or not: the shell script judges the
result), 1 otherwise. Every docker call is by container id or name, of
containers this project's compose file made.
"""

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request

T0 = time.monotonic()


def now():
    return time.monotonic() - T0


def say(msg):
    print(f"chaos [{now():6.1f}s] {msg}", flush=True)


class Cluster:
    def __init__(self, args):
        self.apis = args.api.split(",")
        self.project = args.project
        self.compose = shlex.split(args.compose)
        self.docker = args.docker
        self.leader = None

    # -- HTTP (the coordinators' published ports) ---------------------------

    def get(self, api, path, timeout=3):
        with urllib.request.urlopen(api + path, timeout=timeout) as r:
            return r.read().decode()

    def get_any(self, path):
        """From the first coordinator that answers (any answers reads)."""
        errors = []
        for api in self.apis:
            try:
                return self.get(api, path)
            except (urllib.error.URLError, OSError) as e:
                errors.append(f"{api}: {e}")
        raise RuntimeError("no coordinator answered " + path + ": " + "; ".join(errors))

    def jobs(self):
        return json.loads(self.get_any("/jobs"))

    def status(self, job_id):
        """From the leader when known (a standby answers from etcd alone:
        no live phase, no summary), else from any coordinator."""
        if self.leader:
            try:
                return json.loads(self.get(self.leader, f"/jobs/{job_id}"))
            except (urllib.error.URLError, OSError):
                self.leader = None
        return json.loads(self.get_any(f"/jobs/{job_id}"))

    def leader_api(self):
        """The API whose /metrics says it leads, or None."""
        for api in self.apis:
            try:
                text = self.get(api, "/metrics")
            except (urllib.error.URLError, OSError):
                continue
            if re.search(r"^squall_leader 1$", text, re.M):
                self.leader = api
                return api
        return None

    # -- docker ------------------------------------------------------------

    def run(self, *cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def containers(self, service, all_states=False):
        """{short id: name} of this project's containers of a service."""
        cmd = [self.docker, "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}",
               "--filter", f"label=com.docker.compose.project={self.project}",
               "--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            cmd.insert(2, "-a")
        out = {}
        for line in self.run(*cmd).splitlines():
            cid, name = line.split()
            out[cid[:12]] = name
        return out

    def worker_container(self, worker_id):
        """A worker's id is `<hostname>-<pid>`; its hostname is the
        container's short id."""
        host = worker_id.rsplit("-", 1)[0]
        return self.containers("worker", all_states=True).get(host)

    def coordinator_container(self, api):
        # The published port says which service it is: the API list is in
        # service order (coordinator-1, coordinator-2).
        service = f"coordinator-{self.apis.index(api) + 1}"
        names = list(self.containers(service, all_states=True).values())
        if len(names) != 1:
            raise RuntimeError(f"expected one {service} container, found {names}")
        return names[0]


def running_by_worker(status):
    out = {}
    for e in status["engines"]:
        if e["state"] == "running" and e.get("worker"):
            out.setdefault(e["worker"], []).append((e["table_id"], e["engine_id"]))
    return out


def in_flight(status):
    p = status["progress"]
    running = sum(1 for e in status["engines"] if e["state"] == "running")
    return {"running": running, "done": p["engines_done"], "total": p["total_engines"],
            "phase": status["phase"]}


def engines_left(status):
    p = status["progress"]
    return p["total_engines"] == 0 or p["engines_done"] < p["total_engines"]


class Chaos:
    def __init__(self, args):
        self.args = args
        self.c = Cluster(args)
        self.timeline = []
        self.job_id = None
        self.deadline = T0 + args.deadline
        self.watch = {}  # (table, engine) -> fault index, for engines a fault touched
        self.done_at = {}  # (table, engine) -> (t, worker, attempt)
        self.history = {}  # (table, engine) -> [(t, state, worker, attempt)] once touched
        self.leaderless_since = None

    def record(self, fault, target, status, **detail):
        entry = {"t": round(now(), 1), "fault": fault, "target": target,
                 "in_flight": in_flight(status) if status else None, **detail}
        self.timeline.append(entry)
        say(f"{fault} {target}: " + json.dumps({k: v for k, v in entry.items()
                                                  if k not in ("t", "fault", "target")}))
        return len(self.timeline) - 1

    def poll(self):
        """The job's status; notes engines a fault touched as they finish."""
        s = self.c.status(self.job_id)
        for e in s["engines"]:
            key = (e["table_id"], e["engine_id"])
            if key not in self.watch:
                continue
            seen = (e["state"], e.get("worker"), e["attempt"])
            h = self.history.setdefault(key, [])
            if not h or h[-1][1:] != seen:
                h.append((round(now(), 1), *seen))
            if e["state"] == "done" and key not in self.done_at:
                self.done_at[key] = (round(now(), 1), e.get("worker"), e["attempt"])
        return s

    def wait_for(self, what, check, timeout=None):
        """Polls every 0.25 s until check(status) is truthy; returns it."""
        limit = min(self.deadline, time.monotonic() + timeout) if timeout else self.deadline
        while time.monotonic() < limit:
            try:
                s = self.poll()
            except (RuntimeError, ValueError, KeyError) as e:
                say(f"status unavailable ({e}); retrying")
                time.sleep(0.5)
                continue
            got = check(s)
            if got:
                return s, got
            if not engines_left(s) and s["progress"]["total_engines"] > 0:
                raise RuntimeError(f"every engine finished before {what}: the faults came too "
                                   "late (a bigger E2E_SIZE or smaller E2E_BATCH gives them time)")
            time.sleep(0.25)
        raise RuntimeError(f"timed out waiting for {what}")

    def find_job(self):
        while time.monotonic() < self.deadline:
            try:
                jobs = self.c.jobs()
            except (RuntimeError, ValueError):
                jobs = []
            if jobs:
                self.job_id = jobs[0]["job_id"]
                say(f"job {self.job_id} submitted; leader {self.c.leader_api()}")
                return
            time.sleep(0.25)
        raise RuntimeError("no job appeared on the coordinators")

    def busy_worker(self, exclude=()):
        def check(s):
            for worker, engines in running_by_worker(s).items():
                cname = self.c.worker_container(worker)
                if worker not in exclude and cname:
                    return worker, cname, engines
            return None
        return self.wait_for("a worker running a task", check)

    def watch_engines(self, engines, fault_index):
        for key in engines:
            self.watch.setdefault(tuple(key), fault_index)

    # -- the faults ----------------------------------------------------------

    def kill_worker(self):
        s, (worker, cname, engines) = self.busy_worker()
        self.c.run(self.c.docker, "kill", cname)
        i = self.record("kill-worker", cname, s, worker=worker, held=engines)
        self.watch_engines(engines, i)
        return worker

    def scale_up(self):
        s = self.poll()
        before = set(self.c.containers("worker"))
        self.c.run(*self.c.compose, "up", "-d", "--no-deps", "--no-build", "--no-recreate",
                   "--scale", "worker=5", "worker")
        after = self.c.containers("worker")
        self.record("scale-up", "worker=5", s, running_before=len(before),
                    running_after=len(after),
                    started=sorted(name for cid, name in after.items() if cid not in before))

    def pause_worker(self, exclude):
        s, (worker, cname, engines) = self.busy_worker(exclude=exclude)
        self.freeze(cname)
        i = self.record("pause-worker", cname, s, worker=worker, held=engines,
                        for_secs=self.pause_secs())
        self.watch_engines(engines, i)
        return cname, time.monotonic() + self.pause_secs()

    def freeze(self, cname):
        """`docker pause`, tried again when the cgroup freezer gives up: runc
        reports "unable to freeze" when a process stays in uninterruptible
        sleep (disk I/O) through its own retries, which a busy worker does."""
        for attempt in range(1, 6):
            try:
                self.c.run(self.c.docker, "pause", cname)
                return
            except RuntimeError as e:
                if "unable to freeze" not in str(e) or attempt == 5:
                    raise
                print(f"chaos: docker pause {cname} attempt {attempt}: {e}; trying again",
                      flush=True)
                time.sleep(0.5 * attempt)

    def pause_secs(self):
        # Past the ack wait with room: the queue hands the paused worker's
        # tasks to others only once the ack wait lapses.
        return self.args.ack_wait * 2

    def kill_leader(self):
        s, api = self.wait_for("a leading coordinator",
                               lambda st: self.c.leader_api())
        cname = self.c.coordinator_container(api)
        self.c.run(self.c.docker, "kill", cname)
        killed_at = now()
        self.record("kill-leader", cname, s, api=api)
        # The standby campaigns once the dead leader's lease lapses.
        other = [a for a in self.c.apis if a != api]

        def new_leader(_st):
            lead = self.c.leader_api()
            return lead if lead in other else None
        s2, lead = self.wait_for("the standby to lead", new_leader, timeout=120)
        took = round(now() - killed_at, 1)
        self.record("leader-elected", self.c.coordinator_container(lead), s2,
                    api=lead, after_secs=took)
        self.c.run(self.c.docker, "start", cname)
        self.record("restart-coordinator", cname, self.poll(), note="back as a standby")

    def run(self):
        self.find_job()
        killed = self.kill_worker()
        self.scale_up()
        paused, unpause_at = self.pause_worker(exclude={killed})
        self.kill_leader()
        while time.monotonic() < unpause_at:
            time.sleep(0.2)
            self.poll()
        self.c.run(self.c.docker, "unpause", paused)
        self.record("unpause-worker", paused, self.poll())
        # Watch the job to its end: when did each touched engine finish?
        s, _ = self.wait_until_end()
        self.record("job-ended", self.job_id, s, verified=s.get("verified"),
                    error=s.get("error"))
        self.count_refusals(paused)
        self.check_in_flight()

    def count_refusals(self, cname):
        """The paused worker's results that came too late: its log says so."""
        r = subprocess.run([self.c.docker, "logs", cname], capture_output=True, text=True,
                           timeout=60)
        n = (r.stdout + r.stderr).count("taken over by a newer attempt")
        for entry in self.timeline:
            if entry["fault"] == "pause-worker" and entry["target"] == cname:
                entry["late_results_refused"] = n

    def check_in_flight(self):
        """Each fault must have struck with engine tasks running and engines
        left to do, or it proved nothing."""
        faults = ("kill-worker", "scale-up", "pause-worker", "kill-leader")
        for entry in self.timeline:
            if entry["fault"] not in faults:
                continue
            f = entry["in_flight"]
            if not (f["running"] > 0 and f["done"] < f["total"]):
                raise RuntimeError(f"{entry['fault']} did not strike while tasks were in "
                                   f"flight ({f}); a bigger E2E_SIZE gives the faults time")

    def wait_until_end(self):
        while time.monotonic() < self.deadline:
            try:
                s = self.poll()
            except (RuntimeError, ValueError, KeyError) as e:
                say(f"status unavailable ({e}); retrying")
                time.sleep(1)
                continue
            if not s["running"] and s["phase"] in ("done", "stopped"):
                return s, True
            time.sleep(0.5)
        raise RuntimeError("the job did not end before the deadline")

    def costs(self):
        """Per fault: the engines it touched, when and where each was done."""
        out = []
        for i, entry in enumerate(self.timeline):
            touched = [k for k, f in self.watch.items() if f == i]
            if not touched:
                continue
            lines = []
            for key in sorted(touched):
                done = self.done_at.get(key)
                steps = "; ".join(f"{t}s {state} {worker or ''} #{attempt}".replace("  ", " ")
                                  for t, state, worker, attempt in self.history.get(key, []))
                if done:
                    t, worker, attempt = done
                    lines.append(f"engine {key[0]}/{key[1]} done again {t - entry['t']:.1f}s "
                                 f"after the fault, by {worker} at attempt {attempt} "
                                 f"[{steps}]")
                else:
                    lines.append(f"engine {key[0]}/{key[1]} never seen done [{steps}]")
            refused = entry.get("late_results_refused")
            if refused is not None:
                lines.append(f"its late results, once unpaused: {refused} refused by the "
                             "attempt check (\"taken over by a newer attempt\")")
            out.append({"fault": entry["fault"], "target": entry["target"], "engines": lines})
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--compose", required=True)
    ap.add_argument("--docker", default="docker")
    ap.add_argument("--ack-wait", type=int, required=True)
    ap.add_argument("--timeline", required=True)
    ap.add_argument("--deadline", type=int, default=1800)
    args = ap.parse_args()
    chaos = Chaos(args)
    ok = True
    try:
        chaos.run()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        say(f"FAILED: {e}")
        ok = False
    result = {"job_id": chaos.job_id, "timeline": chaos.timeline, "costs": chaos.costs(),
              "ok": ok}
    with open(args.timeline, "w") as f:
        json.dump(result, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
