// Sync in a real browser against a real fieldstream-server on loopback: offline work pushed
// once when the network returns, a conflicting edit from another device rejected with its
// reason and the read model corrected, and pending commands surviving a reload.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPage, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

const items = [{ productId: "p-1", quantity: 2, unitPrice: 500 }];

/** A page of its own (its own IndexedDB), with a store that syncs with the server when asked. */
async function device(name) {
  const opened = await openPage(env.browser, env.server.origin, "/tests/browser/package.html");
  await opened.page.evaluate(async ({ name, origin }) => {
    window.store = await window.fieldstream.openOrders({ name, sync: { url: origin, auto: false } });
  }, { name, origin: env.server.origin });
  return opened;
}

test("offline commands are pushed exactly once when the network returns", async () => {
  const { context, page } = await device("offline");
  await context.setOffline(true);
  const offline = await page.evaluate(async (items) => {
    const store = window.store;
    await store.execute("Order", "off-1", { type: "CreateOrder", customerId: "c-1", items });
    await store.execute("Order", "off-1", { type: "PayOrder", paymentMethod: "card", amount: 1000 });
    await store.execute("Order", "off-2", { type: "CreateOrder", customerId: "c-2", items });
    const failure = await store.sync().then(() => null, (error) => ({ name: error.name, code: error.code }));
    return { failure, status: store.status(), doc: await store.get("orders", "off-1") };
  }, items);
  assert.deepEqual(offline.failure, { name: "NetworkError", code: "network" });
  assert.equal(offline.status.pending, 3);
  assert.equal(offline.status.online, false);
  assert.equal(offline.doc.status, "Paid", "the read model shows offline work at once");

  await context.setOffline(false);
  const online = await page.evaluate(async () => {
    const first = await window.store.sync();
    const second = await window.store.sync();
    return { first, second, status: window.store.status() };
  });
  assert.equal(online.first.pushed, 3);
  assert.equal(online.second.pushed, 0);
  assert.equal(online.status.pending, 0);
  const mine = (await env.server.events()).filter((event) => event.stream.startsWith("Order-off-"));
  assert.deepEqual(mine.map((event) => [event.stream, event.version, event.type]), [
    ["Order-off-1", 1, "OrderCreated"],
    ["Order-off-1", 2, "OrderPaid"],
    ["Order-off-2", 1, "OrderCreated"],
  ]);
  await context.close();
});

test("a command another device made impossible comes back with its reason", async () => {
  const a = await device("rep-a");
  const b = await device("rep-b");
  await a.page.evaluate(async (items) => {
    await window.store.execute("Order", "shared-1", { type: "CreateOrder", customerId: "c-9", items });
    await window.store.execute("Order", "shared-1", { type: "PayOrder", paymentMethod: "card", amount: 1000 });
    await window.store.sync();
  }, items);
  await b.page.evaluate(async () => {
    await window.store.sync();
    await window.store.execute("Order", "shared-1", { type: "ShipOrder", trackingNumber: "B-42" });
    await window.store.sync();
  });

  await a.context.setOffline(true);
  await a.page.evaluate(() => window.store.execute("Order", "shared-1", { type: "ShipOrder", trackingNumber: "A-7" }));
  await a.context.setOffline(false);
  const outcome = await a.page.evaluate(async () => {
    const report = await window.store.sync();
    return {
      report,
      rejected: await window.store.rejected(),
      doc: await window.store.get("orders", "shared-1"),
      state: (await window.store.load("Order", "shared-1")).state,
    };
  });
  assert.equal(outcome.report.rejected, 1);
  assert.equal(outcome.rejected.length, 1);
  assert.equal(outcome.rejected[0].reason.code, "order_not_shippable");
  assert.equal(outcome.rejected[0].command.trackingNumber, "A-7");
  assert.equal(outcome.rejected[0].causedBy[0].data.trackingNumber, "B-42");
  assert.equal(outcome.state.trackingNumber, "B-42", "the aggregate shows the other device's shipment");
  assert.equal(outcome.doc.status, "Shipped");
  const shipped = (await env.server.events()).filter((e) => e.stream === "Order-shared-1" && e.type === "OrderShipped");
  assert.equal(shipped.length, 1, "only one shipment reached the server");
  await a.context.close();
  await b.context.close();
});

test("commands pending at a reload are kept and pushed later", async () => {
  const first = await device("reload");
  await first.context.setOffline(true);
  await first.page.evaluate(async (items) => {
    await window.store.execute("Order", "kept-1", { type: "CreateOrder", customerId: "c-3", items });
    await window.store.execute("Order", "kept-2", { type: "CreateOrder", customerId: "c-3", items });
  }, items);
  await first.context.setOffline(false);
  await first.page.reload();
  await first.page.waitForFunction(() => window.ready === true);
  const report = await first.page.evaluate(async (origin) => {
    const store = await window.fieldstream.openOrders({ name: "reload", sync: { url: origin, auto: false } });
    const pending = store.status().pending;
    return { pending, sync: await store.sync() };
  }, env.server.origin);
  assert.equal(report.pending, 2);
  assert.equal(report.sync.pushed, 2);
  const kept = (await env.server.events()).filter((event) => event.stream.startsWith("Order-kept-"));
  assert.equal(kept.length, 2);
  await first.context.close();
});
