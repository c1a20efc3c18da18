// storage: "remote" in Node.js against a real fieldstream-server (debug binary, --dev): every
// command reads its stream from the server and appends there; reads come from the server;
// read models hold what this store appended and read; idempotency keys hold within the store.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as lib from "fieldstream";
import { startServer } from "../browser/harness.mjs";
import { items, orderAggregate, ordersProjection } from "./order.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.close());

const remote = (extra = {}) => lib.open({
  storage: "remote",
  sync: { url: server.origin },
  aggregates: { Order: orderAggregate(lib.DomainError) },
  projections: { orders: ordersProjection },
  ...extra,
});

test("commands append to the server; load, stateAt and history read from it", async () => {
  const store = await remote();
  const created = await store.execute("Order", "r-1", { type: "CreateOrder", customerId: "c-1", items: items(2, 100) },
    { correlationId: "visit-1" });
  assert.deepEqual([created.version, created.events[0].position > 0, created.deduplicated], [1, true, false]);
  await store.execute("Order", "r-1", { type: "PayOrder", paymentMethod: "card", amount: 200 });
  const refused = await store.execute("Order", "r-1", { type: "PayOrder", amount: 200 }).catch((e) => e);
  assert.ok(refused instanceof lib.DomainError && refused.code === "order_not_payable", String(refused));
  const history = await store.history("Order", "r-1");
  assert.deepEqual(history.map((e) => [e.version, e.type, e.syncState]), [[1, "OrderCreated", "confirmed"], [2, "OrderPaid", "confirmed"]]);
  assert.ok(history.every((e) => typeof e.position === "number" && typeof e.recordedAt === "number"));
  assert.equal(history[0].metadata.correlationId, "visit-1");
  assert.equal((await store.stateAt("Order", "r-1", 1)).state.status, "Pending");
  assert.deepEqual((await store.load("Order", "r-1")).version, 2);
  const onServer = (await server.events()).filter((e) => e.stream === "Order-r-1");
  assert.deepEqual(onServer.map((e) => e.id), history.map((e) => e.id));
  assert.equal((await store.get("orders", "r-1")).status, "Paid", "read your writes");
  assert.deepEqual(await store.sync(), { pushed: 0, pulled: 0, conflicts: 0, rejected: 0 });
  assert.deepEqual([store.status().online, store.status().pending], [true, 0]);
  await store.close();
});

test("another store sees the server's events; its read model holds what it read", async () => {
  const writer = await remote();
  await writer.execute("Order", "r-2", { type: "CreateOrder", customerId: "c-2", items: items(1, 50) });
  const reader = await remote();
  assert.equal(await reader.get("orders", "r-2"), null, "not read yet");
  const paid = await reader.execute("Order", "r-2", { type: "PayOrder", paymentMethod: "card", amount: 50 });
  assert.equal(paid.version, 2);
  assert.equal((await reader.get("orders", "r-2")).status, "Paid");
  const page = await reader.query("orders", { index: "customerId", equals: "c-2" });
  assert.deepEqual(page.docs.map((d) => d.key), ["r-2"]);
  assert.equal((await writer.get("orders", "r-2")).status, "Pending", "the writer has not read the payment");
  assert.equal((await writer.load("Order", "r-2")).state.status, "Paid");
  assert.equal((await writer.get("orders", "r-2")).status, "Paid", "now it has");
});

test("a stale decision: expectedVersion, and a reject policy told of the server's events, answer ConflictError", async () => {
  const [one, two] = [await remote(), await remote()];
  await one.execute("Order", "r-3", { type: "CreateOrder", customerId: "c", items: items(1, 10) });
  const error = await two.execute("Order", "r-3", { type: "PayOrder", amount: 10 }, { expectedVersion: 0 }).catch((e) => e);
  assert.ok(error instanceof lib.ConflictError, String(error));
  assert.deepEqual([error.expected, error.actual], [0, 1]);
  await one.execute("Order", "r-3", { type: "PayOrder", paymentMethod: "card", amount: 10 });
  const seen = [];
  const rejecting = await remote({
    aggregates: { Order: orderAggregate(lib.DomainError, { onConflict: (c) => { seen.push(c.serverEvents.length); return "reject"; } }) },
  });
  // The server changes between this store's read and its append: hold the append until then.
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    if (init?.method === "POST") {
      globalThis.fetch = realFetch;
      await one.execute("Order", "r-3", { type: "ShipOrder", trackingNumber: "first" });
    }
    return realFetch(url, init);
  };
  try {
    const conflict = await rejecting.execute("Order", "r-3", { type: "ShipOrder", trackingNumber: "second" }).catch((e) => e);
    assert.ok(conflict instanceof lib.ConflictError, String(conflict));
    assert.deepEqual(seen, [1]);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.deepEqual((await server.events()).filter((e) => e.stream === "Order-r-3").map((e) => e.type), ["OrderCreated", "OrderPaid", "OrderShipped"]);
});

test("an idempotency key holds within the store", async () => {
  const store = await remote();
  const create = { type: "CreateOrder", customerId: "c", items: items() };
  const [a, b] = await Promise.all([
    store.execute("Order", "r-4", create, { idempotencyKey: "k-4" }),
    store.execute("Order", "r-4", create, { idempotencyKey: "k-4" }),
  ]);
  assert.deepEqual([a.deduplicated, b.deduplicated].sort(), [false, true]);
  assert.deepEqual(a.events.map((e) => e.id), b.events.map((e) => e.id));
  assert.equal((await server.events()).filter((e) => e.stream === "Order-r-4").length, 1);
});

test("remote storage needs the server's URL; an unreachable server is a NetworkError", async () => {
  const error = await lib.open({ storage: "remote" }).catch((e) => e);
  assert.ok(error instanceof lib.ValidationError && /sync\.url/.test(error.message), String(error));
  const store = await lib.open({
    storage: "remote", sync: { url: "http://127.0.0.1:9", timeoutMs: 200 },
    aggregates: { Order: orderAggregate(lib.DomainError) },
  });
  const failed = await store.load("Order", "x").catch((e) => e);
  assert.ok(failed instanceof lib.NetworkError, String(failed));
});
