// open({ sync }) in headless Chromium against the real fieldstream-server: the driver starts by
// itself, work done offline goes out when the network returns, the status is observable, and
// an aggregate's onConflict function decides per conflict.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, serverAndBrowser } from "../browser/harness.mjs";

const env = serverAndBrowser();

/** A page of its own with `window.store` opened on database `name`, syncing with the server. */
async function device(name) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async ({ name, url }) => {
    const { open, DomainError } = window.fieldstream;
    const { orderAggregate, ordersProjection } = await import("/tests/api/order.mjs");
    window.conflicts = [];
    const onConflict = (conflict) => {
      window.conflicts.push({ command: conflict.command.type, server: conflict.serverEvents.map((e) => e.type) });
      return conflict.command.type === "ShipOrder" ? "reject" : "rebase";
    };
    window.store = await open({
      name,
      aggregates: { Order: orderAggregate(DomainError, { onConflict }) },
      projections: { orders: ordersProjection },
      sync: { url, pollMs: 500 },
    });
    window.statuses = [];
    window.store.onStatus((status) => window.statuses.push(status));
  }, { name, url: env.server.origin });
  return { context, page };
}

const items = [{ productId: "p-1", quantity: 2, unitPrice: 250 }];
const settled = () => {
  const status = window.store.status();
  return status.pending === 0 && !status.syncing && status.lastSyncAt > 0 && status.lastError === null;
};

test("open({ sync }) pushes offline work by itself when the network returns", async () => {
  const { context, page } = await device("api-offline");
  await eventually(page, () => window.store.status().leader);
  await context.setOffline(true);
  await page.evaluate(async (items) => {
    await window.store.execute("Order", "api-1", { type: "CreateOrder", customerId: "c-1", items });
    await window.store.execute("Order", "api-1", { type: "PayOrder", paymentMethod: "card", amount: 500 });
  }, items);
  assert.equal(await page.evaluate(() => window.store.status().pending), 2);
  await context.setOffline(false);
  await eventually(page, settled);
  const history = await page.evaluate(() => window.store.history("Order", "api-1"));
  assert.deepEqual(history.map((e) => [e.type, e.syncState]), [["OrderCreated", "confirmed"], ["OrderPaid", "confirmed"]]);
  const statuses = await page.evaluate(() => window.statuses);
  assert.ok(statuses.some((s) => s.pending === 2 && !s.online), "the listener heard of the offline queue");
  assert.ok(statuses.some((s) => s.progress.done === 2 && s.progress.total === 2), "the drain's progress reached 2 of 2");
  const onServer = (await env.server.events()).filter((e) => e.stream === "Order-api-1");
  assert.equal(onServer.length, 2);
  await context.close();
});

test("an onConflict function decides per conflict: a shipment another device made first is rejected", async () => {
  const a = await device("api-a");
  const b = await device("api-b");
  await a.page.evaluate(async (items) => {
    await window.store.execute("Order", "api-2", { type: "CreateOrder", customerId: "c-2", items });
    await window.store.execute("Order", "api-2", { type: "PayOrder", paymentMethod: "card", amount: 500 });
  }, items);
  await eventually(a.page, settled);
  await eventually(b.page, async () => (await window.store.get("orders", "api-2"))?.status === "Paid");

  await a.context.setOffline(true);
  await a.page.evaluate(() => window.store.execute("Order", "api-2", { type: "ShipOrder", trackingNumber: "A-1" }));
  await b.page.evaluate(() => window.store.execute("Order", "api-2", { type: "ShipOrder", trackingNumber: "B-1" }));
  await eventually(b.page, settled);
  await a.context.setOffline(false);
  await eventually(a.page, () => window.store.status().rejected === 1 && window.store.status().pending === 0);

  const outcome = await a.page.evaluate(async () => ({
    conflicts: window.conflicts,
    rejected: await window.store.rejected(),
    state: (await window.store.load("Order", "api-2")).state,
    doc: await window.store.get("orders", "api-2"),
  }));
  assert.deepEqual(outcome.conflicts, [{ command: "ShipOrder", server: ["OrderShipped"] }]);
  assert.equal(outcome.rejected.length, 1);
  assert.equal(outcome.rejected[0].reason.code, "conflict");
  assert.equal(outcome.rejected[0].command.trackingNumber, "A-1");
  assert.equal(outcome.state.trackingNumber, "B-1");
  assert.equal(outcome.doc.status, "Shipped");
  const dismissed = await a.page.evaluate(async (id) => {
    const gone = await window.store.dismissRejected(id);
    return { gone, left: (await window.store.rejected()).length };
  }, outcome.rejected[0].commandId);
  assert.deepEqual(dismissed, { gone: true, left: 0 });
  await a.context.close();
  await b.context.close();
});
