// The sync driver in a real browser against a real fieldstream-server: work done offline goes
// out by itself when the network returns, other devices' changes arrive live, a conflicting
// edit that still holds is rebased, a 401 fetches a fresh token, and of two tabs on one
// database exactly one syncs, with the other taking over when it closes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, openPage, serverAndBrowser, signToken, startServer } from "./harness.mjs";

const env = serverAndBrowser();

const items = [{ productId: "p-1", quantity: 2, unitPrice: 500 }];

/**
 * Opens `name`'s database in `page` as `window.store`, with the sync driver running:
 * `window.run(id, command)` executes an Order command (which tells the driver),
 * `window.statuses` records every status it reports.
 */
async function startDevice(page, { name, origin = env.server.origin, pollMs = 500, token }) {
  await page.evaluate(async ({ name, origin, pollMs, token }) => {
    const provider = token && (async ({ refresh }) => {
      window.tokenAsks = [...(window.tokenAsks ?? []), refresh];
      return refresh ? token.fresh : token.first;
    });
    const sync = { url: origin, pollMs, ...(provider ? { token: provider } : {}) };
    window.store = await window.fieldstream.openOrders({ name, sync });
    window.statuses = [];
    window.store.onStatus((status) => window.statuses.push(status));
    window.run = (id, command) => window.store.execute("Order", id, command);
  }, { name, origin, pollMs, token });
}

async function device(name, options = {}) {
  const opened = await openPage(env.browser, env.server.origin, "/tests/browser/package.html");
  await startDevice(opened.page, { name, ...options });
  return opened;
}

/** Nothing waits to be pushed, no round runs, and one has succeeded. */
const settled = () => {
  const status = window.store.status();
  return status.pending === 0 && !status.syncing && status.lastSyncAt > 0 && status.lastError === null;
};

test("offline work goes out by itself when the network returns, with progress in the status", async () => {
  const { context, page } = await device("auto", { pollMs: 60_000 });
  await eventually(page, () => window.store.status().leader);
  await context.setOffline(true);
  await page.evaluate(async (items) => {
    for (const id of ["auto-1", "auto-2", "auto-3"]) {
      await window.run(id, { type: "CreateOrder", customerId: "c-1", items });
    }
  }, items);
  const offline = await page.evaluate(() => window.store.status());
  assert.equal(offline.online, false);
  assert.equal(offline.pending, 3);

  await context.setOffline(false);
  await eventually(page, settled);
  const statuses = await page.evaluate(() => window.statuses);
  const final = statuses.at(-1);
  assert.equal(final.online, true);
  assert.equal(final.lastError, null);
  assert.ok(final.lastSyncAt > 0);
  assert.ok(statuses.some((s) => s.progress.done === 3 && s.progress.total === 3), "the drain's progress reached 3 of 3");
  assert.ok(statuses.some((s) => s.syncing && s.phase === "pushing"), "the push showed in the status");
  const mine = (await env.server.events()).filter((event) => event.stream.startsWith("Order-auto-"));
  assert.deepEqual(mine.map((event) => event.stream), ["Order-auto-1", "Order-auto-2", "Order-auto-3"]);
  await context.close();
});

test("another device's change arrives live, with no sync call and no polling", async () => {
  const a = await device("live-a", { pollMs: 600_000 });
  const b = await device("live-b", { pollMs: 600_000 });
  await eventually(a.page, () => window.store.status().live);
  await b.page.evaluate((items) => window.run("live-1", { type: "CreateOrder", customerId: "c-5", items }), items);
  await eventually(a.page, async () => (await window.store.get("orders", "live-1"))?.status === "Pending");
  const history = await a.page.evaluate(() => window.store.history("Order", "live-1"));
  assert.equal(history.length, 1);
  assert.ok(history[0].position > 0, "stored as confirmed, with its server position");
  await a.context.close();
  await b.context.close();
});

test("a conflicting edit that still holds is rebased, and every read model shows both edits", async () => {
  const a = await device("rebase-a");
  const b = await device("rebase-b");
  await a.page.evaluate((items) => window.run("both-1", { type: "CreateOrder", customerId: "c-7", items }), items);
  await eventually(b.page, async () => (await window.store.get("orders", "both-1")) != null);

  await a.context.setOffline(true);
  await a.page.evaluate(() => window.run("both-1", { type: "AddItem", item: { productId: "p-3", quantity: 1, unitPrice: 300 } }));
  await b.page.evaluate(() => window.run("both-1", { type: "AddItem", item: { productId: "p-2", quantity: 1, unitPrice: 200 } }));
  await eventually(b.page, settled);
  await a.context.setOffline(false);
  await eventually(a.page, settled);
  await eventually(b.page, async () => (await window.store.get("orders", "both-1")).total === 1500);

  const seen = async (page) => page.evaluate(async () => ({
    state: (await window.store.load("Order", "both-1")).state,
    doc: await window.store.get("orders", "both-1"),
    rejected: await window.store.rejected(),
  }));
  const [onA, onB] = [await seen(a.page), await seen(b.page)];
  assert.deepEqual(onA.state.items.map((item) => item.productId), ["p-1", "p-2", "p-3"], "A's item rebased after B's");
  assert.equal(onA.state.total, 1500);
  assert.equal(onA.doc.total, 1500, "A's read model corrected");
  assert.deepEqual(onB.state, onA.state);
  assert.deepEqual(onB.doc, onA.doc);
  assert.deepEqual(onA.rejected, []);
  const added = (await env.server.events()).filter((e) => e.stream === "Order-both-1" && e.type === "OrderItemAdded");
  assert.deepEqual(added.map((e) => [e.version, e.data.item.productId]), [[2, "p-2"], [3, "p-3"]]);
  await a.context.close();
  await b.context.close();
});

test("a 401 asks the token provider for a fresh token and retries", async () => {
  const secret = "sync-driver-test-secret-of-32-bytes-or-more";
  const secured = await startServer({ jwtSecret: secret });
  try {
    const token = { first: await signToken(secret, { ttlSeconds: -120 }), fresh: await signToken(secret) };
    const opened = await openPage(env.browser, secured.origin, "/tests/browser/package.html");
    await startDevice(opened.page, { name: "token", origin: secured.origin, pollMs: 60_000, token });
    await opened.page.evaluate(async (items) => {
      await window.run("tok-1", { type: "CreateOrder", customerId: "c-1", items });
    }, items);
    await eventually(opened.page, settled);
    const asks = await opened.page.evaluate(() => window.tokenAsks);
    assert.ok(asks.includes(true), "the provider was asked for a fresh token");
    await eventually(opened.page, () => window.store.status().live);
    const stored = await secured.events(token.fresh);
    assert.deepEqual(stored.map((event) => event.stream), ["Order-tok-1"]);
    await opened.context.close();
  } finally {
    await secured.close();
  }
});

test("two tabs on one database: one syncs, and the other takes over within a second of it closing", async () => {
  const context = await env.browser.newContext();
  const open = async () => {
    const page = await context.newPage();
    await page.goto(`${env.server.origin}/tests/browser/package.html`);
    await page.waitForFunction(() => window.ready === true);
    await startDevice(page, { name: "tabs", pollMs: 60_000 });
    return page;
  };
  const first = await open();
  await eventually(first, () => window.store.status().leader);
  const second = await open();
  await eventually(second, () => window.store.status().live !== undefined);
  assert.equal(await second.evaluate(() => window.store.status().leader), false);

  await second.evaluate((items) => window.run("tab-1", { type: "CreateOrder", customerId: "c-1", items }), items);
  await eventually(second, () => window.store.status().pending === 0 && window.store.status().lastSyncAt > 0);
  assert.equal(await second.evaluate(() => window.store.status().leader), false, "the other tab pushed it");

  const closedAt = Date.now();
  await first.close();
  await eventually(second, () => window.store.status().leader, undefined, 5_000);
  const takeover = Date.now() - closedAt;
  assert.ok(takeover < 1_000, `takeover took ${takeover} ms`);
  await second.evaluate((items) => window.run("tab-2", { type: "CreateOrder", customerId: "c-1", items }), items);
  await eventually(second, settled);
  const pushed = (await env.server.events()).filter((event) => event.stream.startsWith("Order-tab-"));
  assert.deepEqual(pushed.map((event) => event.stream), ["Order-tab-1", "Order-tab-2"]);
  await context.close();
});

test("commands pending at a reload are pushed by the driver of the reloaded page", async () => {
  const { context, page } = await device("reload-driver", { pollMs: 60_000 });
  await context.setOffline(true);
  await page.evaluate(async (items) => {
    await window.run("rl-1", { type: "CreateOrder", customerId: "c-1", items });
    await window.store.close();
  }, items);
  await context.setOffline(false);
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  await startDevice(page, { name: "reload-driver", pollMs: 60_000 });
  await eventually(page, settled);
  const pushed = (await env.server.events()).filter((event) => event.stream === "Order-rl-1");
  assert.equal(pushed.length, 1);
  await context.close();
});
