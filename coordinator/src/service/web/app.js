// Squall's coordinator page: polls the JSON API about once a second and
// shows the jobs, the selected job's progress per table, its workers and
// errors, with pause / resume / cancel buttons. Plain JS, no framework and
// nothing from outside, so the binary carries it whole. It reads fields
// it may not find (older coordinators answer without `control`,
// `workers`, `throughput_bytes_per_sec`, `eta_secs`, `last_errors`) and
// shows what it has. Every value goes in through textContent, never
// innerHTML: job ids and error messages come from files and are not HTML.
"use strict";

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;
const METRICS_EVERY = 5; // ticks

let selected = null; // the job shown; from the URL's #job=ID or a click
let pinned = false; // the user chose it: do not follow the running job
let acting = false; // a control call is in flight
let lastJob = null;
let ticks = 0;

const $ = (id) => document.getElementById(id);

// el("td", {class: "x"}, "text", child...)
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function call(method, path) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const r = await fetch(path, { method, cache: "no-store", signal: abort.signal });
    const text = await r.text();
    return { status: r.status, text };
  } catch (e) {
    const why = e.name === "AbortError" ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : e.message;
    throw new Error(`${method} ${path}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

async function getJson(path) {
  const r = await call("GET", path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.trim()}`);
  return JSON.parse(r.text);
}

// ---- formatting -------------------------------------------------------

function bytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return (u === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[u];
}

function count(n) {
  return n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US");
}

function duration(secs) {
  if (secs === undefined || secs === null) return "–";
  let s = Math.round(Number(secs));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

function pct(done, total) {
  if (!total) return 0;
  return Math.max(0, Math.min(100, (100 * done) / total));
}

// A serde enum tagged with `state` ({"state": "failed", "reason": ..}) or a
// plain string.
function stateName(s) {
  if (s === undefined || s === null) return "–";
  if (typeof s === "string") return s;
  return s.state || JSON.stringify(s);
}

function bar(percent, cls) {
  return el("div", { class: "bar" }, el("div", { class: "fill " + (cls || ""), style: `width: ${percent.toFixed(1)}%` }));
}

// ---- the job list -----------------------------------------------------

function controlOf(job) {
  if (typeof job.control === "string") return job.control;
  return job.running ? "running" : null;
}

// One word for where the job stands: its outcome once it has one, else
// what the operator asked for (running, paused, cancelled).
function statusWord(job) {
  if (job.verified) return "verified";
  if (job.error) return "failed";
  // Ended, but no checksum matched (checksum off, or optional and wrong).
  if (job.state && job.state.state === "imported") return "unchecked";
  const control = controlOf(job);
  if (control === "paused" || control === "cancelled") return control;
  return job.running ? "running" : "stopped";
}

const STATUS_CLASS = { verified: "ok", failed: "err", cancelled: "err", paused: "warn", unchecked: "warn" };

function result(job) {
  const word = statusWord(job);
  return el("span", { class: STATUS_CLASS[word] || "muted", title: job.error || null }, word);
}

function chooseJob(jobs) {
  const fromHash = /^#job=(.+)$/.exec(location.hash);
  if (fromHash) {
    selected = decodeURIComponent(fromHash[1]);
    pinned = true;
  }
  if (pinned && selected) return selected;
  const ids = jobs.map((j) => j.job_id);
  const running = jobs.find((j) => j.running);
  if (running) return running.job_id;
  if (selected && ids.includes(selected)) return selected;
  return ids.length ? ids[ids.length - 1] : null;
}

function renderJobs(jobs) {
  const rows = jobs.map((j) => {
    const p = j.progress || {};
    const row = el(
      "tr",
      { "data-job-id": j.job_id, class: j.job_id === selected ? "selected" : "" },
      el("td", { class: "mono" }, j.job_id),
      el("td", {}, j.phase),
      el("td", {}, bar(pct(p.engines_done, p.total_engines)), ` ${count(p.engines_done)}/${count(p.total_engines)} engines`),
      el("td", {}, result(j)),
    );
    row.addEventListener("click", () => {
      selected = j.job_id;
      pinned = true;
      history.replaceState(null, "", "#job=" + encodeURIComponent(j.job_id));
      tick(true);
    });
    return row;
  });
  $("jobs").tBodies[0].replaceChildren(...rows);
  $("no-jobs").hidden = jobs.length > 0;
}

// ---- one job ----------------------------------------------------------

// Source bytes of the engines done and engines running, per table.
function perTable(job) {
  const t = new Map();
  for (const e of job.engines || []) {
    const x = t.get(e.table_id) || { done: 0, doneEngines: 0, running: 0 };
    if (e.state === "done") {
      x.done += e.source_bytes || 0;
      x.doneEngines++;
    } else if (e.state === "running") {
      x.running++;
    }
    t.set(e.table_id, x);
  }
  return t;
}

function renderTables(job) {
  const by = perTable(job);
  const ranges = new Map(((job.ranges && job.ranges.tables) || []).map((r) => [r.table_id, r]));
  const rows = (job.tables || []).map((t) => {
    const x = by.get(t.table_id) || { done: 0, doneEngines: 0, running: 0 };
    const state = stateName(t.state);
    // Past `pending` every engine of the table is in: full, whatever the
    // engine records say (a restarted job may not list them all).
    const done = state === "pending" ? x.done : t.source_bytes;
    const p = pct(done, t.source_bytes);
    const cls = state === "pending" ? (x.running ? "active" : "") : "ok";
    return el(
      "tr",
      { "data-table": t.name, "data-done-bytes": done, "data-source-bytes": t.source_bytes },
      el("td", { class: "mono" }, t.name, t.last_error ? el("div", { class: "err small" }, t.last_error) : null),
      el("td", {}, state),
      el("td", { class: "wide" }, bar(p, cls), el("span", { class: "small" }, ` ${bytes(done)} / ${bytes(t.source_bytes)} · ${p.toFixed(0)}%`)),
      el(
        "td",
        {},
        `${x.doneEngines}/${t.engines}`,
        x.running ? el("span", { class: "muted small" }, ` (${x.running} running)`) : null,
        ranges.has(t.table_id) ? el("div", { class: "muted small" }, `ranges ${ranges.get(t.table_id).ranges_done}/${ranges.get(t.table_id).ranges_total}`) : null,
      ),
      el("td", { class: "num" }, count(t.rows)),
      el("td", { class: "num" }, count(t.kvs)),
      el("td", { class: "num" }, count(t.conflicts)),
    );
  });
  $("tables").tBodies[0].replaceChildren(...rows);
}

function doingText(d) {
  if (d === undefined || d === null || d === "") return "idle";
  return typeof d === "string" ? d : JSON.stringify(d);
}

function renderWorkers(job) {
  let workers = job.workers;
  if (!Array.isArray(workers)) {
    // Without the coordinator's list, the engine records still tell who
    // runs what.
    const m = new Map();
    for (const e of job.engines || []) {
      if (e.state !== "running" || !e.worker) continue;
      const d = m.get(e.worker) || [];
      d.push(`table ${e.table_id} engine ${e.engine_id}`);
      m.set(e.worker, d);
    }
    workers = [...m].map(([id, d]) => ({ id, alive: null, doing: d.join(", ") }));
  }
  const rows = workers.map((w) =>
    el(
      "tr",
      { "data-worker": w.id },
      el("td", { class: "mono" }, w.id),
      el("td", {}, w.alive === null || w.alive === undefined ? "–" : w.alive ? el("span", { class: "ok" }, "yes") : el("span", { class: "err" }, "no")),
      el("td", {}, doingText(w.doing)),
    ),
  );
  $("workers").tBodies[0].replaceChildren(...rows);
  $("no-workers").hidden = rows.length > 0;
}

function renderErrors(job) {
  const seen = new Set();
  const items = [];
  const add = (what, text) => {
    if (!text || seen.has(text)) return;
    seen.add(text);
    items.push(el("li", {}, what ? el("strong", {}, what + ": ") : null, text));
  };
  if (Array.isArray(job.last_errors)) {
    // The coordinator's own list already holds the job's, the tables' and
    // the engines' errors.
    for (const e of job.last_errors) add(null, typeof e === "string" ? e : JSON.stringify(e));
    add("job", job.error);
  } else {
    add("job", job.error);
    for (const t of job.tables || []) add(t.name, t.last_error);
    for (const e of job.engines || []) add(`table ${e.table_id} engine ${e.engine_id}`, e.reason);
  }
  $("errors").replaceChildren(...items);
  $("no-errors").hidden = items.length > 0;
}

function renderEngines(job) {
  const names = new Map((job.tables || []).map((t) => [t.table_id, t.name]));
  const rows = (job.engines || []).map((e) =>
    el(
      "tr",
      { class: "engine-" + e.state },
      el("td", { class: "mono" }, names.get(e.table_id) || e.table_id),
      el("td", { class: "num" }, e.engine_id),
      el("td", {}, e.state),
      el("td", { class: "mono" }, e.worker || "–"),
      el("td", { class: "num" }, e.attempt),
      el("td", { class: "num" }, bytes(e.source_bytes)),
      el("td", { class: "err small" }, e.reason || ""),
    ),
  );
  $("engines").tBodies[0].replaceChildren(...rows);
}

function renderButtons(job) {
  const control = controlOf(job);
  const live = job.running && control !== "cancelled";
  $("pause").disabled = acting || !(live && control === "running");
  $("resume").disabled = acting || control !== "paused";
  $("cancel").disabled = acting || !(live || control === "paused") || control === "cancelled";
}

function renderJob(job) {
  lastJob = job;
  selected = job.job_id;
  $("job").hidden = false;
  $("job").dataset.jobId = job.job_id;
  $("job-title").textContent = job.job_id;
  $("job-phase").textContent = job.phase;
  $("job-phase").className = "badge phase-" + String(job.phase).replace(/[^a-z-]/g, "-");
  const word = statusWord(job);
  $("job-status").textContent = word;
  $("job-status").className = "badge status-" + word;

  const p = job.progress || {};
  $("bar-encoded").style.width = pct(p.encoded_bytes, p.total_source_bytes).toFixed(1) + "%";
  $("encoded").textContent = `${bytes(p.encoded_bytes)} / ${bytes(p.total_source_bytes)} source`;
  $("bar-engines").style.width = pct(p.engines_done, p.total_engines).toFixed(1) + "%";
  $("engines-done").textContent = `${count(p.engines_done)} / ${count(p.total_engines)} encoded and ingested`;
  $("ingested").textContent = `${bytes(p.ingested_bytes)} of KVs`;
  // Engine ranges' ingest tasks and the index backfill: shown when the job has them.
  const r = job.ranges;
  $("ranges-figure").hidden = !r;
  if (r) {
    $("bar-ranges").style.width = pct(r.ranges_done, r.ranges_total).toFixed(1) + "%";
    $("ranges-done").textContent = `${count(r.ranges_done)} / ${count(r.ranges_total)} ingested, ${bytes(r.ingested_bytes)}`;
  }
  const b = job.backfill;
  $("backfill-figure").hidden = !b;
  if (b) {
    $("bar-backfill").style.width = pct(b["ranges-done"], b["ranges-total"]).toFixed(1) + "%";
    $("backfill-done").textContent = `${count(b["ranges-done"])} / ${count(b["ranges-total"])} ranges, ${count(b["rows-scanned"])} rows, ${count(b["entries-written"])} entries`;
  }
  const tput = job.throughput_bytes_per_sec;
  $("throughput").textContent = tput === undefined || tput === null ? "–" : bytes(tput) + "/s";
  $("eta").textContent = job.verified ? "done" : word === "paused" ? "paused" : duration(job.eta_secs);
  $("job-state").textContent = stateName(job.state);

  renderTables(job);
  renderWorkers(job);
  renderErrors(job);
  renderEngines(job);
  renderButtons(job);
}

// ---- control ----------------------------------------------------------

async function control(action) {
  if (!lastJob) return;
  const id = lastJob.job_id;
  if (action === "cancel" && !confirm(`Cancel job ${id}? Its tasks are withdrawn; what was written is reported.`)) return;
  acting = true;
  renderButtons(lastJob);
  const out = $("action-result");
  out.className = "muted";
  out.textContent = `${action}: asking the coordinator…`;
  try {
    const r = await call("POST", `/jobs/${encodeURIComponent(id)}/${action}`);
    if (r.status >= 200 && r.status < 300) {
      out.textContent = `${action}: accepted`;
      setTimeout(() => {
        if (out.textContent === `${action}: accepted`) out.textContent = "";
      }, 5000);
      try {
        renderJob(JSON.parse(r.text));
      } catch (_) {
        // The answer had no status in it; the next poll brings it.
      }
    } else {
      out.className = "err";
      const why = {
        404: "this coordinator does not know that job or has no such control",
        409: "refused in the job's current state",
        503: "this coordinator is a standby; open the leader's page",
      }[r.status];
      out.textContent = `${action}: ${r.status}${why ? " (" + why + ")" : ""}: ${r.text.trim()}`;
    }
  } catch (e) {
    out.className = "err";
    out.textContent = `${action}: ${e.message}`;
  } finally {
    acting = false;
    tick(true);
  }
}

// ---- polling ----------------------------------------------------------

function setBanner(text) {
  $("banner").hidden = !text;
  $("banner").textContent = text || "";
}

// Leader or standby and the registered workers, from the Prometheus text.
async function readMetrics() {
  try {
    const r = await call("GET", "/metrics");
    if (r.status !== 200) return;
    const value = (name) => {
      const m = new RegExp("^" + name + " ([0-9.e+-]+)$", "m").exec(r.text);
      return m ? Number(m[1]) : null;
    };
    const leader = value("squall_leader");
    const workers = value("squall_workers");
    const parts = [];
    if (leader !== null) parts.push(leader >= 1 ? "this coordinator leads" : "this coordinator is a standby");
    if (workers !== null) parts.push(`${workers} worker${workers === 1 ? "" : "s"} registered`);
    $("coordinator").textContent = parts.join(" · ");
  } catch (_) {
    // The job poll reports an unreachable coordinator.
  }
}

let timer = null;
let inFlight = false;

async function tick(now) {
  if (inFlight) return;
  inFlight = true;
  clearTimeout(timer);
  try {
    const jobs = await getJson("/jobs");
    const id = chooseJob(jobs);
    selected = id;
    renderJobs(jobs);
    if (id) {
      renderJob(await getJson("/jobs/" + encodeURIComponent(id)));
    } else {
      $("job").hidden = true;
      lastJob = null;
    }
    setBanner(null);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    setBanner(`Cannot read the coordinator: ${e.message}. Retrying every second.`);
  } finally {
    inFlight = false;
    if (now === true || ticks % METRICS_EVERY === 0) readMetrics();
    ticks++;
    timer = setTimeout(tick, POLL_MS);
  }
}

$("pause").addEventListener("click", () => control("pause"));
$("resume").addEventListener("click", () => control("resume"));
$("cancel").addEventListener("click", () => control("cancel"));
window.addEventListener("hashchange", () => tick(true));
tick(true);
