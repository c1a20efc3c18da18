// Crash safety (reliability scenario 2): a command whose `execute` resolved survives the page
// being reloaded or closed 0–50 ms later, again and again, on one database.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchChromium, pick, report, serveRepository } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await serveRepository();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const items = [{ productId: "p-1", quantity: 1, unitPrice: 100 }];
const rounds = pick(40, 200);

/** A page of `context` with the engine open on the test's database. */
async function openEngine(context) {
  const page = await context.newPage();
  await page.goto(`${server.origin}/tests/browser/engine.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async () => { window.engine = await window.fieldstream.Engine.openIndexedDb("crash"); });
  return page;
}

test(`a resolved command survives a reload or close 0–50 ms later (${rounds} times)`, async () => {
  const context = await browser.newContext();
  const resolved = new Set();
  await context.exposeFunction("resolved", (id) => { resolved.add(id); });
  let page = await openEngine(context);
  let reloads = 0;
  let closes = 0;
  for (let n = 0; n < rounds; n++) {
    const id = `crash-${n}`;
    await page.evaluate(({ id, items }) => {
      window.engine.execute("Order", id, { type: "CreateOrder", customerId: "c-1", items })
        .then(() => window.resolved(id), () => {});
    }, { id, items });
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
    if (n % 2 === 0) {
      reloads++;
      await page.reload();
      await page.waitForFunction(() => window.ready === true);
      await page.evaluate(async () => { window.engine = await window.fieldstream.Engine.openIndexedDb("crash"); });
    } else {
      closes++;
      await page.close();
      page = await openEngine(context);
    }
  }
  const stored = await page.evaluate(async (rounds) => {
    const found = [];
    for (let n = 0; n < rounds; n++) {
      const { version, state } = await window.engine.load("Order", `crash-${n}`);
      if (version > 0) found.push({ id: `crash-${n}`, version, status: state.status });
    }
    return { found, outbox: (await window.engine.outbox()).map((entry) => entry.aggregateId) };
  }, rounds);
  const storedIds = new Set(stored.found.map((order) => order.id));
  const lost = [...resolved].filter((id) => !storedIds.has(id));
  await report("2-browser-crash-safety", {
    rounds, reloads, closes, resolved: resolved.size, stored: storedIds.size, lost: lost.length,
  });
  assert.deepEqual(lost, [], "every resolved command is still there");
  assert.ok(resolved.size > 0, "some commands resolved before the page went away");
  for (const order of stored.found) {
    assert.deepEqual([order.version, order.status], [1, "Pending"], `${order.id} is whole`);
  }
  assert.deepEqual(new Set(stored.outbox), storedIds, "each stored command has its outbox entry");
  await context.close();
});
