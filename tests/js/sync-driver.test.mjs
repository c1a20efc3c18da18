// The sync driver where there are no Web Locks and no EventSource (Node.js, like workerd): the
// single store syncs by itself, polling for other devices' changes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DomainError, open } from "fieldstream";
import { orderAggregate, ordersProjection } from "../api/order.mjs";
import { startServer } from "../browser/harness.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

const items = [{ productId: "p-1", quantity: 1, unitPrice: 900 }];

function device(name, sync = {}) {
  return open({
    name,
    storage: "memory",
    aggregates: { Order: orderAggregate(DomainError) },
    projections: { orders: ordersProjection },
    sync: { url: server.origin, pollMs: 100, ...sync },
  });
}

async function until(check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `not true within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("without Web Locks or EventSource, the one store pushes by itself and polls", async () => {
  const a = await device("node-a");
  const b = await device("node-b");
  try {
    assert.equal(a.status().leader, true, "the single store syncs");
    assert.equal(a.status().live, false);
    await a.execute("Order", "node-1", { type: "CreateOrder", customerId: "c-1", items });
    await until(async () => (await b.get("orders", "node-1"))?.status === "Pending");
    await until(() => a.status().pending === 0);
    const onServer = (await server.events()).filter((event) => event.stream === "Order-node-1");
    assert.equal(onServer.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test("with auto: false nothing syncs by itself: a command waits for sync()", async () => {
  const a = await device("manual-a", { auto: false });
  const b = await device("manual-b");
  try {
    assert.equal(a.status().leader, true);
    await a.execute("Order", "manual-1", { type: "CreateOrder", customerId: "c-1", items });
    assert.equal(a.status().pending, 1);
    // b polls every 100 ms: several of its rounds pass while a's command stays here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(a.status().pending, 1, "no round ran by itself");
    assert.equal(a.status().lastSyncAt, null);
    assert.equal(await b.get("orders", "manual-1"), null);
    const report = await a.sync();
    assert.equal(report.pushed, 1);
    assert.equal(a.status().pending, 0);
    await until(async () => (await b.get("orders", "manual-1"))?.status === "Pending");
    const onServer = (await server.events()).filter((event) => event.stream === "Order-manual-1");
    assert.equal(onServer.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test("retryMs and maxRetryMs set how soon the driver tries again after a failed round", async () => {
  const { createServer } = await import("node:http");
  // Refuses every request at once: each round fails without waiting on the network.
  let requests = 0;
  const refusing = createServer((request, response) => {
    requests++;
    response.writeHead(401, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: "unauthorized", message: "no token" } }));
  });
  await new Promise((resolve) => refusing.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${refusing.address().port}`;
  /** Requests a store with these retry options sends in 1.5 s after a command. */
  const countRequests = async (name, retry) => {
    const store = await device(name, { url, live: false, pollMs: 60_000, ...retry });
    try {
      requests = 0;
      await store.execute("Order", `${name}-1`, { type: "CreateOrder", customerId: "c-1", items });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.ok(store.status().lastError, "the rounds failed");
      return requests;
    } finally {
      await store.close();
    }
  };
  try {
    const quick = await countRequests("retry-quick", { retryMs: 20, maxRetryMs: 50 });
    const slow = await countRequests("retry-slow", { retryMs: 5_000 });
    assert.ok(quick >= 15, `retrying within 50 ms: ${quick} requests in 1.5 s`);
    assert.ok(slow <= 6, `retrying after 2.5 s or more: ${slow} requests in 1.5 s`);
  } finally {
    await new Promise((resolve) => refusing.close(resolve));
  }
});
