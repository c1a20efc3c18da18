// Several tabs on one database (reliability scenario 4): five pages execute at once; at any
// moment at most one of them syncs, no two pushes overlap, every command reaches the server
// once, another tab takes over within a second when the syncing one closes, and a command made
// in one tab shows in another's read model at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, pick, report, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

const tabs = 5;
const perTab = pick(20, 200);

/** Records each `POST /v1/batch` as [start, end] on the browser's shared clock. */
function recordPushes() {
  window.pushes = [];
  const fetch = window.fetch;
  const now = () => performance.timeOrigin + performance.now();
  window.fetch = async (url, init) => {
    const push = String(url).endsWith("/v1/batch");
    const start = now();
    try {
      return await fetch(url, init);
    } finally {
      if (push) window.pushes.push([start, now()]);
    }
  };
}

async function openTab(context) {
  const page = await context.newPage();
  await page.goto(`${env.server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async (origin) => {
    window.store = await window.fieldstream.openOrders({ name: "tabs", sync: { url: origin, pollMs: 60_000 } });
  }, env.server.origin);
  return page;
}

const leaders = async (pages) =>
  (await Promise.all(pages.map((page) => page.evaluate(() => window.store.status().leader)))).filter(Boolean).length;

test(`${tabs} tabs on one database executing at once: one syncing tab, no overlapping pushes, takeover, visibility`, async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(recordPushes);
  const pages = [];
  for (let n = 0; n < tabs; n++) pages.push(await openTab(context));
  await eventually(pages[0], () => window.store.status().lastSyncAt > 0);

  let maxLeaders = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxLeaders = Math.max(maxLeaders, await leaders(pages));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await Promise.all(pages.map((page, tab) => page.evaluate(async ({ tab, perTab }) => {
    const items = [{ productId: "p-1", quantity: 1, unitPrice: 100 }];
    for (let n = 0; n < perTab; n++) {
      await window.store.execute("Order", `tab${tab}-${n}`, { type: "CreateOrder", customerId: "c-1", items });
    }
  }, { tab, perTab })));
  for (const page of pages) await eventually(page, () => window.store.status().pending === 0, undefined, 60_000);
  sampling = false;
  await sampler;

  const pushes = (await Promise.all(pages.map((page) => page.evaluate(() => window.pushes)))).flat()
    .sort((a, b) => a[0] - b[0]);
  const overlapping = pushes.filter((push, n) => n > 0 && push[0] < pushes[n - 1][1] - 1).length;
  const onServer = (await env.server.events()).filter((event) => /^Order-tab\d-/.test(event.stream));

  const flags = await Promise.all(pages.map((page) => page.evaluate(() => window.store.status().leader)));
  const leaderIndex = flags.indexOf(true);
  assert.equal(flags.filter(Boolean).length, 1, "exactly one syncing tab");
  const closedAt = Date.now();
  await pages[leaderIndex].close();
  const rest = pages.filter((_, n) => n !== leaderIndex);
  let takeover;
  while (takeover === undefined) {
    if ((await leaders(rest)) === 1) takeover = Date.now() - closedAt;
    else if (Date.now() - closedAt > 5_000) break;
  }

  const [writer, reader] = rest;
  const watching = reader.evaluate(async () => {
    while (!(await window.store.get("orders", "visible-1"))) await new Promise((r) => setTimeout(r, 5));
    return performance.timeOrigin + performance.now();
  });
  const committedAt = await writer.evaluate(async () => {
    const items = [{ productId: "p-1", quantity: 1, unitPrice: 100 }];
    await window.store.execute("Order", "visible-1", { type: "CreateOrder", customerId: "c-1", items });
    return performance.timeOrigin + performance.now();
  });
  const visibility = Math.max(0, (await watching) - committedAt);

  await report("4-browser-multi-tab", {
    tabs, commands: tabs * perTab, onServer: onServer.length, distinct: new Set(onServer.map((e) => e.stream)).size,
    maxSyncingTabs: maxLeaders, pushes: pushes.length, overlappingPushes: overlapping,
    takeoverMs: takeover, crossTabVisibilityMs: Math.round(visibility),
  });
  assert.equal(maxLeaders, 1, "never two syncing tabs");
  assert.equal(overlapping, 0, "no two pushes at once");
  assert.equal(new Set(onServer.map((e) => e.stream)).size, tabs * perTab, "every command reached the server");
  assert.equal(onServer.length, tabs * perTab, "none twice");
  assert.ok(takeover !== undefined && takeover < 1_000, `takeover within a second (${takeover} ms)`);
  assert.ok(visibility < 500, `seen in another tab within 500 ms (${visibility} ms)`);
  await context.close();
});
