// The portal in a real headless Chromium, as owners use it: open the
// dashboard on the demo catalog, open the migration, filter, try to approve
// as a non-owner (a clear 403), approve as an owner by clicking, and watch
// the migration page change live without a reload. Screenshots of every
// page land in tests/e2e/artifacts/.
//
//   TERN_BIN=target/debug/tern node --test tests/e2e/portal.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const tern = resolve(root, process.env.TERN_BIN || "target/debug/tern");
const artifacts = join(here, "artifacts");
const work = mkdtempSync(join(tmpdir(), "tern-e2e-"));
const catalog = join(work, "tern-demo", "tern.db");

let server, base, browser, alice, bob;

function run(args) {
  return execFileSync(tern, ["--catalog", catalog, ...args], { cwd: work, encoding: "utf8" }).trim();
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  execFileSync(tern, ["demo", "--no-serve"], { cwd: work, stdio: "ignore" });
  alice = run(["token", "create", "alice"]);
  bob = run(["token", "create", "bob"]);
  server = spawn(tern, ["--catalog", catalog, "serve", "--addr", "127.0.0.1:0"], { cwd: work });
  base = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => fail(new Error(`tern serve exited ${code}: ${out}`)));
    setTimeout(() => fail(new Error(`tern serve did not start: ${out}`)), 20000);
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  rmSync(work, { recursive: true, force: true });
});

async function page(token) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const p = await context.newPage();
  if (token) {
    await p.goto(`${base}/login`);
    await p.fill("#token", token);
    await p.click("button[type=submit]");
    await p.waitForLoadState("load");
  }
  return p;
}

test("an admin makes and revokes a token on the admin page; the revoked one is refused", async () => {
  const root = run(["token", "create", "root", "--role", "admin"]);
  const p = await page(root);
  await p.goto(`${base}/admin/tokens`);
  await p.fill("input[name=user]", "airflow");
  await p.selectOption("select[name=role]", "lineage");
  await p.click("text=Make token");
  await p.waitForLoadState("load");
  const made = (await p.locator("code.token").innerText()).trim();
  assert.match(made, /^tern_[0-9a-f]+$/);
  const row = p.locator("tr", { hasText: "user:default/airflow" });
  assert.match(await row.innerText(), /lineage/);
  await p.screenshot({ path: join(artifacts, "tokens.png"), fullPage: true });
  p.once("dialog", (d) => d.accept());
  await row.locator("text=Revoke").click();
  await p.waitForURL(/\/admin\/tokens$/);
  assert.match(await p.locator("tr", { hasText: "user:default/airflow" }).innerText(), /revoked/);
  const refused = await fetch(`${base}/api/v1/lineage`, {
    method: "POST",
    headers: { Authorization: `Bearer ${made}`, "Content-Type": "application/json" },
    body: "[]",
  });
  assert.equal(refused.status, 401);
  await p.context().close();
  // Someone who is not an admin gets a 403 page, not the list.
  const b = await page(bob);
  const answer = await b.goto(`${base}/admin/tokens`);
  assert.equal(answer.status(), 403);
  await b.context().close();
});

test("the dashboard lists the demo migration with its progress", async () => {
  const p = await page();
  await p.goto(base + "/");
  const card = p.locator("a.migration-card", { hasText: "Move plays to the lakehouse" });
  await card.waitFor();
  assert.match(await card.innerText(), /done/);
  assert.ok(await card.locator(".progress .seg").count() >= 3, "a segment per state");
  await p.screenshot({ path: join(artifacts, "migrations.png"), fullPage: true });
  await card.click();
  await p.waitForURL(/\/migrations\/plays-to-lakehouse$/);
  assert.equal(await p.locator("#consumers tbody tr").count(), 15);
  assert.ok(await p.locator("svg.burndown").isVisible());
  await p.screenshot({ path: join(artifacts, "migration.png"), fullPage: true });
  await p.selectOption("#state", "failed");
  // Only the golden test's pin fails: every other consumer is rewritten safely.
  assert.equal(await p.locator("#consumers tbody tr:not([hidden])").count(), 1);
  await p.selectOption("#state", "");
  await p.selectOption("#owner", "group:default/finance");
  assert.equal(await p.locator("#consumers tbody tr:not([hidden])").count(), 3);
  await p.context().close();
});

test("a non-owner who clicks approve gets a 403 that says who may", async () => {
  const p = await page(bob);
  await p.goto(`${base}/migrations/plays-to-lakehouse/consumers/plays-backfill`);
  assert.match(await p.locator(".who").innerText(), /bob/);
  const response = p.waitForResponse((r) => r.request().method() === "POST");
  await p.click("text=Approve and merge");
  assert.equal((await response).status(), 403);
  await p.waitForLoadState("load");
  const message = await p.locator(".message").innerText();
  assert.match(message, /only members of group:default\/insights/);
  assert.match(message, /user:default\/bob/);
  await p.screenshot({ path: join(artifacts, "forbidden.png"), fullPage: true });
  await p.context().close();
  const status = JSON.parse(run(["status", "plays-to-lakehouse", "--json"]));
  assert.equal(status.consumers.find((c) => c.id === "plays-backfill").state, "needs_attention");
});

test("an owner approves by clicking and the migration page updates live", async () => {
  const watcher = await page();
  await watcher.goto(`${base}/migrations/plays-to-lakehouse`);
  await watcher.waitForSelector("body[data-live-ready]");
  await watcher.evaluate(() => { window.__notReloaded = true; });
  const row = watcher.locator('#consumers tr[data-id="plays-backfill"]');
  assert.equal(await row.getAttribute("data-state"), "needs_attention");

  const owner = await page(alice);
  await owner.goto(`${base}/migrations/plays-to-lakehouse/consumers/plays-backfill`);
  await owner.screenshot({ path: join(artifacts, "change.png"), fullPage: true });
  await owner.click("text=Approve and merge");
  await owner.waitForURL(/consumers\/plays-backfill$/);
  await owner.locator("h1 .pill.s-merged").waitFor();
  assert.match(await owner.locator("ol.timeline").innerText(), /approved by user:default\/alice/);

  await watcher.waitForSelector('#consumers tr[data-id="plays-backfill"][data-state="merged"]', { timeout: 10000 });
  assert.equal(await watcher.evaluate(() => window.__notReloaded), true, "updated without a reload");
  await watcher.screenshot({ path: join(artifacts, "migration-live.png"), fullPage: true });
  await watcher.context().close();
  await owner.context().close();
});

test("the dataset pages show locators, schema and who reads what now", async () => {
  const p = await page();
  await p.goto(`${base}/datasets/hdfs-plays`);
  const old = await p.locator("main").innerText();
  assert.match(old, /hdfs:\/\/prod-nn:8020\/warehouse\/plays/);
  assert.match(old, /user_id/);
  // The catalog follows merges: a failed consumer still reads the old dataset...
  assert.match(old, /plays-snapshot/);
  assert.doesNotMatch(old, /plays-daily/);
  await p.screenshot({ path: join(artifacts, "dataset.png"), fullPage: true });
  // ...and a merged one reads the new.
  await p.goto(`${base}/datasets/lake-plays`);
  assert.match(await p.locator("main").innerText(), /plays-daily/);
  await p.context().close();
});
