// A flapping network (reliability scenario 3): the browser goes offline and online every
// 200 ms while commands are executed; afterwards every command is on the server exactly once,
// and the sync driver leaked no listener and no connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, pick, report, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

const [seconds, commands] = pick([10, 200], [60, 1000]);

/** Counts `online`/`offline` listeners, open EventSources and fetches in flight. */
function instrument() {
  window.counts = { listeners: 0, sources: 0, fetches: 0, requests: 0 };
  const watched = new Set(["online", "offline"]);
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (this === window && watched.has(type)) window.counts.listeners++;
    return add.call(this, type, ...rest);
  };
  EventTarget.prototype.removeEventListener = function (type, ...rest) {
    if (this === window && watched.has(type)) window.counts.listeners--;
    return remove.call(this, type, ...rest);
  };
  const Source = window.EventSource;
  window.EventSource = class extends Source {
    constructor(...args) {
      super(...args);
      window.counts.sources++;
      this.addEventListener("error", () => {
        if (this.readyState === Source.CLOSED && !this.counted) { this.counted = true; window.counts.sources--; }
      });
    }
    close() {
      if (!this.counted) { this.counted = true; window.counts.sources--; }
      super.close();
    }
  };
  const fetch = window.fetch;
  window.fetch = async (...args) => {
    window.counts.fetches++;
    window.counts.requests++;
    try {
      return await fetch(...args);
    } finally {
      window.counts.fetches--;
    }
  };
}

test(`${commands} commands while the network flaps every 200 ms for ${seconds} s: all synced once, nothing leaked`, async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  await page.goto(`${env.server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async ({ origin }) => {
    const sync = { url: origin, pollMs: 1_000, retryMs: 100, maxRetryMs: 1_000 };
    window.store = await window.fieldstream.openOrders({ name: "flapping", sync });
  }, { origin: env.server.origin });
  await eventually(page, () => window.store.status().live && window.store.status().lastSyncAt > 0);
  const before = await page.evaluate(() => ({ ...window.counts }));

  let offline = false;
  let flips = 0;
  const flapping = setInterval(() => {
    offline = !offline;
    flips++;
    context.setOffline(offline).catch(() => {});
  }, 200);
  const work = page.evaluate(async ({ commands, seconds }) => {
    const items = [{ productId: "p-1", quantity: 1, unitPrice: 100 }];
    const gap = (seconds * 1000) / commands;
    for (let n = 0; n < commands; n++) {
      await window.store.execute("Order", `flap-${n}`, { type: "CreateOrder", customerId: "c-1", items });
      await new Promise((resolve) => setTimeout(resolve, gap));
    }
  }, { commands, seconds });
  await work;
  clearInterval(flapping);
  await context.setOffline(false);
  // The counts are taken in the same turn of the page's event loop that sees the driver settled
  // with no request in flight: a poll or reconnection the driver starts a moment later is not a
  // request left hanging. One that never ends keeps `fetches` above 0, and this wait fails.
  await eventually(page, () => {
    const status = window.store.status();
    const settled = status.pending === 0 && !status.syncing && status.live && window.counts.fetches === 0;
    if (settled) window.settledCounts = { ...window.counts };
    return settled;
  }, undefined, 60_000);
  const afterCounts = await page.evaluate(() => window.settledCounts);
  const events = (await env.server.events()).filter((event) => event.stream.startsWith("Order-flap-"));
  const streams = new Set(events.map((event) => event.stream));
  await report("3-browser-flapping-network", {
    seconds, commands, flips, events: events.length, distinctOrders: streams.size,
    requests: afterCounts.requests - before.requests,
    listeners: [before.listeners, afterCounts.listeners], liveFeeds: [before.sources, afterCounts.sources],
  });
  assert.equal(streams.size, commands, "every command reached the server");
  assert.equal(events.length, commands, "none twice");
  assert.ok(Math.abs(afterCounts.listeners - before.listeners) <= 1, `listeners ${before.listeners} → ${afterCounts.listeners}`);
  assert.ok(Math.abs(afterCounts.sources - before.sources) <= 1, `live feeds ${before.sources} → ${afterCounts.sources}`);
  assert.equal(afterCounts.fetches, 0, "no request left hanging");
  await context.close();
});
