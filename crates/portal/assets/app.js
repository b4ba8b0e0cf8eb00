// tern portal: filters on the consumer table, confirmations, and live
// updates. When the page's stream says something changed, the page is
// fetched again and its #live part swapped in place: no reload, no lost
// scroll position or filter.
"use strict";

function applyFilters() {
  const table = document.getElementById("consumers");
  if (!table) return;
  const q = (document.getElementById("q")?.value || "").toLowerCase();
  const state = document.getElementById("state")?.value || "";
  const owner = document.getElementById("owner")?.value || "";
  let shown = 0;
  for (const row of table.tBodies[0].rows) {
    const ok = (!q || row.dataset.id.toLowerCase().includes(q)) &&
      (!state || row.dataset.state === state) &&
      (!owner || row.dataset.owner === owner);
    row.hidden = !ok;
    if (ok) shown++;
  }
  const empty = document.getElementById("empty");
  if (empty) empty.hidden = shown > 0;
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (state) params.set("state", state);
  if (owner) params.set("owner", owner);
  const url = location.pathname + (params.toString() ? "?" + params : "");
  history.replaceState(null, "", url);
}

function wire(root) {
  for (const id of ["q", "state", "owner"]) {
    const el = root.querySelector("#" + id);
    if (el && !el.dataset.wired) {
      el.dataset.wired = "1";
      el.addEventListener("input", applyFilters);
    }
  }
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
}

function restoreFilters() {
  const params = new URLSearchParams(location.search);
  for (const id of ["q", "state", "owner"]) {
    const el = document.getElementById(id);
    if (el && params.has(id)) el.value = params.get(id);
  }
  applyFilters();
}

async function refresh() {
  const live = document.getElementById("live");
  if (!live) return;
  const keep = {};
  for (const id of ["q", "state", "owner"]) {
    const el = document.getElementById(id);
    if (el) keep[id] = el.value;
  }
  const before = {};
  for (const row of live.querySelectorAll("tr[data-id]")) before[row.dataset.id] = row.dataset.state;
  const res = await fetch(location.pathname, { headers: { "X-Tern-Live": "1" }, credentials: "same-origin" });
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const next = doc.getElementById("live");
  if (!next) return;
  live.replaceChildren(...next.childNodes);
  for (const [id, v] of Object.entries(keep)) {
    const el = document.getElementById(id);
    if (el) el.value = v;
  }
  for (const row of live.querySelectorAll("tr[data-id]")) {
    if (before[row.dataset.id] !== undefined && before[row.dataset.id] !== row.dataset.state) {
      row.classList.add("changed");
    }
  }
  wire(live);
  applyFilters();
  document.body.dataset.refreshed = String(Date.now());
}

function connect() {
  const url = document.body.dataset.live;
  if (!url || !window.EventSource) return;
  const dot = document.querySelector(".live-dot");
  const es = new EventSource(url);
  // The first event describes the page as loaded; later ones that differ
  // from the last seen (also after a reconnect) mean something changed.
  let last = null;
  const onEvent = (e) => {
    if (last !== null && e.data !== last) refresh();
    last = e.data;
  };
  es.addEventListener("status", onEvent);
  es.addEventListener("revision", onEvent);
  es.onopen = () => { dot?.classList.add("on"); document.body.dataset.liveReady = "1"; };
  es.onerror = () => { dot?.classList.remove("on"); };
}

document.addEventListener("DOMContentLoaded", () => {
  wire(document);
  restoreFilters();
  connect();
});
