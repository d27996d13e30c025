/*
 * akc.js: the live page. It draws the node's view from akc-httpd's JSON
 * endpoints and keeps it current: the event stream (/events) says when
 * something changed (the members are then read again) and feeds the event
 * list and the singletons; /metrics and /jobs are polled for what has no
 * events (phi, traffic, the queue). Plain JavaScript, no libraries, nothing
 * from outside this server; the DOM is built with textContent only.
 */
"use strict";

const MEMBERS_EVERY = 5000;	// ms: /cluster/members also without events
const METRICS_EVERY = 5000;
const JOBS_EVERY = 2000;
const PLOT_SPAN = 300;		// s of throughput shown
const PLOT_BIN = 10;		// s per bar
const EVENTS_KEPT = 60;

const state = {
  view: null,			// the last /cluster/members answer
  phi: {},			// member -> phi, from /metrics
  traffic: null,		// [time, messages total] of the previous scrape
  singletons: new Map(),	// name -> node, from SingletonStarted/Stopped
  samples: [],			// [time s, jobs finished total] from /jobs
  jobsSeen: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.status + " " + r.statusText);
  return body;
}

/* ---- members, leaders, reachability ---- */

function reachabilityOf(view) {
  // subject -> the observers that see it unreachable
  const m = new Map();
  for (const u of view.unreachable || []) m.set(u.node, u.observed_by || []);
  return m;
}

function renderBanner(view) {
  const b = $("banner");
  const members = view.members || [];
  const unreach = (view.unreachable || []).filter((u) => u.status !== "Down");
  const down = members.filter((m) => m.status === "Down");
  const moving = members.filter((m) => !["Up", "Down", "Removed"].includes(m.status));
  if (unreach.length > 0) {
    b.className = "banner bad";
    b.textContent = unreach.map((u) => u.node + " UNREACHABLE (observed by " +
      ((u.observed_by || []).join(", ") || "?") + ")").join(" · ");
  } else if (down.length > 0) {
    b.className = "banner bad";
    b.textContent = down.map((m) => m.node).join(", ") + " DOWN: waiting for the leader to remove " +
      (down.length > 1 ? "them" : "it");
  } else if (moving.length > 0 || !view.convergence) {
    b.className = "banner warn";
    b.textContent = moving.length > 0
      ? moving.map((m) => m.node + " " + m.status).join(", ")
      : "Not converged: the members have not all seen the latest state";
  } else {
    b.className = "banner ok";
    b.textContent = "All " + members.length + " member" + (members.length === 1 ? "" : "s") +
      " Up, reachable, converged";
  }
}

function renderMembers(view) {
  const unreach = reachabilityOf(view);
  const body = $("members").tBodies[0];
  const rows = [];
  for (const m of view.members || []) {
    const tr = el("tr");
    const reachable = m.reachable !== false && !unreach.has(m.node);
    tr.dataset.node = m.node;
    tr.dataset.status = m.status;
    tr.dataset.reachable = String(reachable);
    if (!reachable) tr.classList.add("unreachable");
    if (m.status === "Down" || m.status === "Removed") tr.classList.add("gone");

    const name = el("td", "node", m.node);
    if (m.node === view.leader) name.append(el("span", "mark leader", "leader"));
    if (m.node === view.oldest) name.append(el("span", "mark oldest", "oldest"));
    if (m.node === view.self) name.append(el("span", "mark self", "this node"));
    tr.append(name);
    const st = el("td");
    st.append(el("span", "pill " + m.status, m.status));
    tr.append(st);
    const re = el("td");
    re.append(reachable ? el("span", "pill reach", "reachable") : el("span", "pill unreach", "UNREACHABLE"));
    tr.append(re);
    const roles = el("td", "roles");
    for (const r of m.roles || []) roles.append(el("span", null, r));
    tr.append(roles);
    tr.append(el("td", "num", m.up_number === undefined || m.up_number === null ? "–" : m.up_number));
    const phi = state.phi[m.node];
    tr.append(el("td", "num", phi === undefined ? "–" : phi >= 1000 ? "∞" : phi.toFixed(2)));
    tr.append(el("td", "addr", m.address));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  $("member-count").textContent = String(rows.length);
}

function renderMatrix(view) {
  const unreach = reachabilityOf(view);
  const nodes = (view.members || []).map((m) => m.node);
  const t = $("matrix");
  const head = el("tr");
  head.append(el("th"));
  for (const s of nodes) head.append(el("th", null, s));
  const rows = [head];
  for (const o of nodes) {
    const tr = el("tr");
    tr.append(el("th", "obs", o));
    for (const s of nodes) {
      let td;
      if (o === s) td = el("td", "self", "·");
      else if ((unreach.get(s) || []).includes(o)) td = el("td", "no", "✗");
      else td = el("td", "ok", "✓");
      td.title = o + " → " + s;
      tr.append(td);
    }
    rows.push(tr);
  }
  t.replaceChildren(...rows);
  $("matrix-note").textContent = unreach.size === 0
    ? "every member reaches every other"
    : "✗: the observer's failure detector marked the subject unreachable";
}

function renderLeaders(view) {
  const dl = $("leaders");
  const items = [];
  const add = (k, v) => {
    items.push(el("dt", null, k));
    items.push(el("dd", v ? null : "none", v || "none"));
  };
  add("leader", view.leader);
  add("oldest", view.oldest);
  for (const [role, node] of Object.entries(view.role_leaders || {})) add("leader of " + role, node);
  dl.replaceChildren(...items);
}

function renderSingletons() {
  const dl = $("singletons");
  const items = [];
  const self = state.view ? state.view.self : null;
  for (const [name, node] of [...state.singletons.entries()].sort()) {
    items.push(el("dt", null, "singleton " + name));
    const dd = el("dd", node ? null : "none", node || "not running");
    if (node && node === self) dd.append(el("span", "here", "(this node)"));
    items.push(dd);
  }
  if (items.length === 0) {
    items.push(el("dt", null, "singletons"));
    items.push(el("dd", "none", "none running"));
  }
  dl.replaceChildren(...items);
}

function render() {
  const v = state.view;
  if (!v) return;
  $("cluster").textContent = v.cluster || "akc";
  $("self").textContent = v.self || "?";
  $("leader").textContent = v.leader || "none";
  const c = $("convergence");
  c.textContent = v.convergence ? "converged" : "not converged";
  c.className = "tag " + (v.convergence ? "ok" : "no");
  document.title = "akc · " + (v.self || "") + ((v.unreachable || []).length ? " · UNREACHABLE" : "");
  renderBanner(v);
  renderMembers(v);
  renderMatrix(v);
  renderLeaders(v);
  renderSingletons();
}

let membersTimer = null;
let membersBusy = false;

async function refreshMembers() {
  if (membersBusy) return;
  membersBusy = true;
  try {
    state.view = await getJSON("/cluster/members");
    render();
  } catch (e) {
    const b = $("banner");
    b.className = "banner bad";
    b.textContent = "This node does not answer: " + e.message;
  } finally {
    membersBusy = false;
  }
}

/* Events come in bursts: read the members (and phi) once the burst is over. */
function soon() {
  clearTimeout(membersTimer);
  membersTimer = setTimeout(() => {
    refreshMembers();
    refreshMetrics();
  }, 150);
}

/* ---- the event stream ---- */

const eventKind = {
  MemberUp: "good", MemberWeaklyUp: "info", MemberJoined: "info", ReachableMember: "good",
  MemberLeft: "warn", MemberExited: "warn", LeaderChanged: "info", RoleLeaderChanged: "info",
  SingletonStarted: "good", SingletonStopped: "warn",
  UnreachableMember: "bad", MemberDowned: "bad", MemberRemoved: "bad",
};

function subjectOf(ev) {
  switch (ev.type) {
  case "LeaderChanged": return "leader: " + (ev.leader || "none");
  case "RoleLeaderChanged": return ev.role + ": " + (ev.leader || "none");
  case "SingletonStarted": case "SingletonStopped": return ev.name + " on " + ev.node;
  case "MemberRemoved": return ev.node + " (was " + ev.previous_status + ")";
  default: return ev.node + (ev.status ? " · " + ev.status : "");
  }
}

function addEvent(ev) {
  const li = el("li");
  const t = (ev.time || "").slice(11, 19);
  li.append(el("span", "t", t));
  li.append(el("span", "e " + (eventKind[ev.type] || ""), ev.type));
  li.append(el("span", "s", subjectOf(ev)));
  li.title = JSON.stringify(ev);
  const list = $("events");
  list.prepend(li);
  while (list.children.length > EVENTS_KEPT) list.lastChild.remove();
}

function onEvent(ev) {
  addEvent(ev);
  if (ev.type === "SingletonStarted") state.singletons.set(ev.name, ev.node);
  else if (ev.type === "SingletonStopped" && state.singletons.get(ev.name) === ev.node)
    state.singletons.set(ev.name, null);
  soon();
}

function connect() {
  const link = $("link");
  const es = new EventSource("/events");
  es.onopen = () => {
    link.className = "link live";
    link.textContent = "live";
  };
  es.onerror = () => {
    // EventSource reconnects by itself, with Last-Event-ID
    link.className = "link down";
    link.textContent = "reconnecting";
  };
  // a (new) snapshot follows: where the singletons run is said again
  es.addEventListener("snapshot", () => state.singletons.clear());
  // the node could not give a snapshot (memberd away): the stream ends, and is opened again
  es.addEventListener("stream-error", (e) => {
    addEvent({ type: "stream-error", time: new Date().toISOString(), node: JSON.parse(e.data).error });
  });
  es.onmessage = (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch (err) {
      console.warn("bad event", err);
    }
  };
}

/* ---- metrics: phi per member, traffic ---- */

/* Prometheus text: [{name, labels, value}] for the families asked for. */
function parseMetrics(text, wanted) {
  const out = [];
  for (const line of text.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || !wanted.has(m[1])) continue;
    const labels = {};
    for (const kv of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

let metricsBusy = false;

async function refreshMetrics() {
  let text;
  if (metricsBusy) return;
  metricsBusy = true;
  try {
    const r = await fetch("/metrics", { cache: "no-store" });
    if (!r.ok) return;
    text = await r.text();
  } catch (e) {
    return;
  } finally {
    metricsBusy = false;
  }
  const wanted = new Set(["akc_phi", "akc_messages_sent_total", "akc_messages_received_total",
    "akc_singleton_location"]);
  const phi = {};
  let msgs = 0;
  for (const s of parseMetrics(text, wanted)) {
    if (s.name === "akc_phi") phi[s.labels.member] = s.value;
    else if (s.name === "akc_singleton_location" && !state.singletons.has(s.labels.singleton))
      state.singletons.set(s.labels.singleton, s.labels.node);
    else if (s.name !== "akc_singleton_location") msgs += s.value;
  }
  state.phi = phi;
  const now = Date.now() / 1000;
  if (state.traffic && now > state.traffic[0]) {
    const rate = (msgs - state.traffic[1]) / (now - state.traffic[0]);
    $("traffic").textContent = Math.max(0, rate).toFixed(0) + " msg/s";
  }
  state.traffic = [now, msgs];
  render();
}

/* ---- jobs ---- */

let jobsBusy = false;

async function refreshJobs() {
  const note = $("jobs-note");
  if (jobsBusy) {
    // the proxy holds requests while the master moves: say so, do not pile up
    note.textContent = "waiting for the master…";
    return;
  }
  jobsBusy = true;
  let q;
  try {
    q = await getJSON("/jobs");
  } catch (e) {
    // no singletond -s master on this node, or no master reachable now
    note.textContent = /not running/.test(e.message) ? "no master proxy on this node" : "master: " + e.message;
    note.title = e.message;
    return;
  } finally {
    jobsBusy = false;
  }
  note.textContent = "";
  note.title = "";
  $("jobs-pending").textContent = q.pending;
  $("jobs-running").textContent = q.in_progress;
  $("jobs-done").textContent = q.done;
  const f = $("jobs-failed");
  f.textContent = q.failed;
  f.classList.toggle("some", q.failed > 0);
  const ws = q.workers || [];
  $("jobs-workers").textContent = ws.filter((w) => w.state === "busy").length + "/" + ws.length;
  const now = Date.now() / 1000;
  state.samples.push([now, q.done + q.failed]);
  while (state.samples.length > 2 && state.samples[1][0] < now - PLOT_SPAN - PLOT_BIN) state.samples.shift();
  drawPlot();
}

function drawPlot() {
  const c = $("plot");
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const now = Date.now() / 1000, bins = PLOT_SPAN / PLOT_BIN;
  const rates = new Array(bins).fill(null);
  // per bin: jobs finished between the samples around its edges
  const s = state.samples;
  for (let i = 1; i < s.length; i++) {
    const bin = Math.floor((s[i][0] - (now - PLOT_SPAN)) / PLOT_BIN);
    if (bin < 0 || bin >= bins) continue;
    rates[bin] = (rates[bin] || 0) + Math.max(0, s[i][1] - s[i - 1][1]);
  }
  const max = Math.max(1, ...rates.map((r) => (r || 0) / PLOT_BIN));
  const pad = 22, bw = (w - pad) / bins;
  g.strokeStyle = "#263340";
  g.fillStyle = "#8397a8";
  g.font = "11px system-ui, sans-serif";
  for (const f of [0.5, 1]) {
    const y = h - 16 - f * (h - 28);
    g.beginPath();
    g.moveTo(pad, y);
    g.lineTo(w, y);
    g.stroke();
    g.fillText((max * f).toFixed(max * f < 10 ? 1 : 0), 0, y + 4);
  }
  g.fillText("−5 min", pad, h - 3);
  g.fillText("now", w - 24, h - 3);
  g.fillStyle = "#3ccf7a";
  rates.forEach((r, i) => {
    if (r === null) return;
    const v = r / PLOT_BIN, bh = (v / max) * (h - 28);
    g.fillRect(pad + i * bw + 1, h - 16 - bh, Math.max(1, bw - 2), bh);
  });
  if (s.length < 2) {
    g.fillStyle = "#8397a8";
    g.font = "13px system-ui, sans-serif";
    g.fillText(state.samples.length ? "measuring…" : "no queue to show", w / 2 - 40, h / 2);
  }
  const last = rates.filter((r) => r !== null).slice(-3);
  $("plot-note").textContent = "jobs finished per second, last 5 minutes" +
    (last.length ? " · now " + (last.reduce((a, b) => a + b, 0) / (last.length * PLOT_BIN)).toFixed(1) + "/s" : "");
}

/* ---- start ---- */

refreshMembers();
refreshMetrics();
refreshJobs();
connect();
setInterval(refreshMembers, MEMBERS_EVERY);
setInterval(refreshMetrics, METRICS_EVERY);
setInterval(refreshJobs, JOBS_EVERY);
setInterval(drawPlot, JOBS_EVERY);	// time moves on when the master does not answer
window.addEventListener("resize", drawPlot);
