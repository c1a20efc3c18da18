// The shape of a drain in headless Chromium through `open()`, against the real fieldstream-server:
// each answer's confirmations are stored and the next push is read in one IndexedDB
// transaction, so an offline queue drains in about one transaction per batch, every command
// arrives once, and the queue ends empty. Counted, not timed: the IndexedDB transactions the
// drain opens are counted by wrapping `IDBDatabase.prototype.transaction` in the page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchChromium, readAll, startServer } from "./harness.mjs";

let browser;
let server;
before(async () => {
  browser = await launchChromium();
  server = await startServer();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("an offline queue drains in about one IndexedDB transaction per batch", async (t) => {
  const commands = 100;
  const batchSize = 5;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async () => {
    window.tab = await import("/tests/api/tab.mjs");
  });
  await context.setOffline(true);
  const drained = await page.evaluate(async ({ url, commands, batchSize }) => {
    const { open, DomainError } = window.fieldstream;
    const { tabAggregate } = window.tab;
    const store = await open({
      name: "drain-shape",
      aggregates: { Tab: tabAggregate(DomainError, { snapshotEvery: 0 }) },
      sync: { url, batchSize, pollMs: 600_000, live: false },
    });
    for (let i = 0; i < commands; i++) await store.execute("Tab", `drain-${i}`, { type: "Open" });
    window.store = store;
    return { pending: store.status().pending };
  }, { url: server.origin, commands, batchSize });
  assert.equal(drained.pending, commands);

  // Counting starts before the network returns: coming online starts the drain by itself.
  await page.evaluate(() => {
    window.counts = { readwrite: 0, readonly: 0 };
    const original = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
      window.counts[mode === "readwrite" ? "readwrite" : "readonly"] += 1;
      return original.call(this, stores, mode, ...rest);
    };
  });
  await context.setOffline(false);
  const counted = await page.evaluate(async () => {
    for (let round = 0; round < 5 && window.store.status().pending > 0; round++) await window.store.sync();
    return { counts: window.counts, pending: window.store.status().pending };
  });
  const batches = commands / batchSize;
  t.diagnostic(`${batches} batches: ${JSON.stringify(counted.counts)}`);
  assert.equal(counted.pending, 0);
  // One write per answer (its confirmations with the next push's read), and a few reads per
  // sync round around the drain (the first queue read, the checkpoint, the status), however
  // many batches: not three more transactions per batch, as when the store's combined
  // write-and-read falls back to separate ones.
  assert.ok(counted.counts.readwrite <= batches + 1, `readwrite transactions: ${JSON.stringify(counted.counts)}`);
  assert.ok(counted.counts.readonly <= batches, `readonly transactions: ${JSON.stringify(counted.counts)}`);
  const mine = (await readAll(server.origin)).filter((event) => event.stream.startsWith("Tab-drain-"));
  assert.equal(mine.length, commands);
  assert.equal(new Set(mine.map((event) => event.id)).size, commands);
  await context.close();
});
