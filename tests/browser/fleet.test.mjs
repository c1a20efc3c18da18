// A fleet of browsers through a faulty network (reliability scenario 1, in Chromium): four
// devices, each its own IndexedDB and sync driver, work on shared orders through the fault
// proxy (lost answers, duplicated requests, errors, resets, delays, cut live feeds). Afterwards
// every command is on the server exactly once or in its device's rejected inbox, and every
// device shows what a fresh device pulling everything shows.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, launchChromium, pick, report, startFaultProxy, startServer } from "./harness.mjs";

let server;
let proxy;
let browser;
before(async () => {
  server = await startServer();
  proxy = await startFaultProxy(server.origin, {
    seed: 1, "drop-response": 0.3, duplicate: 0.1, error: 0.1, "drop-request": 0.03, reset: 0.02,
    delay: 0.2, "max-delay-ms": 100, "stream-cut": 0.5, "max-stream-life-ms": 1000,
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await proxy?.stop();
  await server?.close();
});

const devices = 4;
const perDevice = pick(40, 400);
const orders = pick(30, 300);

async function openDevice(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async ({ name, url }) => {
    window.store = await window.fieldstream.openOrders({ name, sync: { url, pollMs: 500, retryMs: 100, maxRetryMs: 1_000 } });
  }, { name, url: proxy.origin });
  return { context, page };
}

/** Each device takes the next step (create, pay, ship) of random shared orders. */
async function work(page, device) {
  return page.evaluate(async ({ device, perDevice, orders }) => {
    let seed = 7919 * (device + 1);
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const items = [{ productId: "p-1", quantity: 1 + device, unitPrice: 250 }];
    const executed = [];
    for (let n = 0; n < perDevice; n++) {
      const id = `fleet-${Math.floor(random() * orders)}`;
      const { state } = await window.store.load("Order", id);
      const command = state.status === "None" ? { type: "CreateOrder", customerId: `c-${device}`, items }
        : state.status === "Pending" ? { type: "PayOrder", paymentMethod: "card", amount: state.total }
          : state.status === "Paid" ? { type: "ShipOrder", trackingNumber: `T-${device}-${n}` } : null;
      if (!command) continue;
      // Another device's step may arrive between the load and the command: refused here, at once.
      const result = await window.store.execute("Order", id, command).catch((error) => {
        if (error.name === "DomainError") return null;
        throw error;
      });
      if (!result) continue;
      executed.push(result.commandId);
      await new Promise((resolve) => setTimeout(resolve, random() * 80));
    }
    return executed;
  }, { device, perDevice, orders });
}

/** The orders as a device sees them: aggregate state and read-model document. */
const view = (page, orders) => page.evaluate(async (orders) => {
  const seen = {};
  for (let n = 0; n < orders; n++) {
    const id = `fleet-${n}`;
    seen[id] = { state: (await window.store.load("Order", id)).state, doc: await window.store.get("orders", id) };
  }
  return seen;
}, orders);

/** Forces a sync as an app's "Sync now" button would, again while the faulty network makes one
 * end with a `NetworkError` (each gives up after a bounded number of tries). */
async function syncThroughFaults(page) {
  for (let attempt = 1; ; attempt++) {
    const failed = await page.evaluate(() => window.store.sync().then(() => null, (error) => error.code ?? String(error)));
    if (failed === null) return;
    assert.ok(failed === "network" && attempt < 20, `sync failed with ${failed} (attempt ${attempt})`);
  }
}

test(`${devices} browsers × ${perDevice} steps through a faulty network: once or rejected, and converged`, async () => {
  const fleet = [];
  for (let n = 0; n < devices; n++) fleet.push(await openDevice(`fleet-device-${n}`));
  const executed = await Promise.all(fleet.map(({ page }, n) => work(page, n)));
  for (const [n, { page }] of fleet.entries()) {
    await eventually(page, () => window.store.status().pending === 0 && !window.store.status().syncing, undefined, 60_000)
      .catch(async (error) => {
        const status = await page.evaluate(() => window.store.status());
        throw new Error(`device ${n} did not drain: ${JSON.stringify(status)}`, { cause: error });
      });
  }
  for (let pass = 0; pass < 2; pass++) {
    for (const { page } of fleet) await syncThroughFaults(page);
  }

  const log = await server.events();
  assert.equal(new Set(log.map((event) => event.id)).size, log.length, "no event twice on the server");
  const versions = {};
  for (const event of log) (versions[event.stream] ??= []).push(event.version);
  for (const [stream, list] of Object.entries(versions)) {
    assert.deepEqual(list, list.map((_, n) => n + 1), `${stream} is contiguous`);
  }
  const accepted = new Set(log.map((event) => event.metadata.commandId));
  let rejectedCount = 0;
  for (const [n, { page }] of fleet.entries()) {
    const rejected = new Set((await page.evaluate(() => window.store.rejected())).map((r) => r.commandId));
    rejectedCount += rejected.size;
    for (const commandId of executed[n]) {
      assert.ok(accepted.has(commandId) !== rejected.has(commandId),
        `command ${commandId} of device ${n}: accepted ${accepted.has(commandId)}, rejected ${rejected.has(commandId)}`);
    }
  }

  const fresh = await openDevice("fleet-fresh");
  await syncThroughFaults(fresh.page);
  const expected = await view(fresh.page, orders);
  for (const [n, { page }] of fleet.entries()) {
    assert.deepEqual(await view(page, orders), expected, `device ${n} shows what the server holds`);
  }
  const counts = await proxy.stop();
  proxy = null;
  const commands = executed.reduce((sum, list) => sum + list.length, 0);
  await report("1-browser-fleet-through-proxy", {
    devices, commands, accepted: commands - rejectedCount, rejected: rejectedCount, lost: 0, duplicated: 0,
    events: log.length, proxy: counts,
  });
  for (const { context } of [...fleet, fresh]) await context.close();
});
