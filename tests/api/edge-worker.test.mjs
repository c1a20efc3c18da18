// The edge-worker example (examples/edge-worker/) inside workerd through miniflare, against a
// real fieldstream-server (the debug binary on loopback, --dev), storage "remote": create, pay,
// ship, read, metrics; illegal transitions answer with the domain's code; two concurrent pays
// of one order write one OrderPaid, and the other is decided again and refused.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startServer } from "../browser/harness.mjs";
import { workerOptions } from "../../examples/edge-worker/miniflare.mjs";

let server;
let gate;
let mf;

/**
 * A loopback proxy to `upstream`; once armed with `count`, it holds the answers to reads of
 * `stream` until `count` of them have been read from the server, so concurrent commands are
 * sure to decide on the same version (holding the requests instead would let one command read,
 * decide and append before the other's read reached the server).
 */
async function readGate(upstream, stream) {
  let waiting = [];
  let count = Infinity;
  const proxy = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const answer = await fetch(`${upstream}${request.url}`, {
      method: request.method,
      headers: { "content-type": request.headers["content-type"] ?? "application/json" },
      body: request.method === "GET" ? undefined : Buffer.concat(chunks),
    });
    if (count !== Infinity && request.method === "GET" && request.url.startsWith(`/v1/streams/${stream}?`)) {
      await new Promise((resolve) => {
        waiting.push(resolve);
        if (waiting.length >= count) {
          waiting.forEach((release) => release());
          waiting = [];
          count = Infinity;
        }
      });
    }
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${proxy.address().port}`,
    arm: (n) => { count = n; },
    close: () => proxy.close(),
  };
}

before(async () => {
  server = await startServer();
  gate = await readGate(server.origin, "Order-race");
  const { Miniflare } = await import("miniflare");
  mf = new Miniflare(workerOptions({ url: gate.origin }));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  gate?.close();
  await server?.close();
});

async function call(method, path, body) {
  const response = await mf.dispatchFetch(`http://worker${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

const items = [{ productId: "p-1", quantity: 2, unitPrice: 2490 }];

test("create, pay, ship and read an order; the events are on the server", async () => {
  const created = await call("POST", "/api/orders", { id: "1001", customerId: "c-7", items });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual([created.body.id, created.body.version, created.body.status, created.body.total], ["1001", 1, "Pending", 4980]);
  assert.equal((await call("GET", "/api/orders/1001")).body.status, "Pending");
  const paid = await call("POST", "/api/orders/1001/pay", { amount: 4980, paymentMethod: "card" });
  assert.deepEqual([paid.status, paid.body.status, paid.body.version], [200, "Paid", 2]);
  const shipped = await call("POST", "/api/orders/1001/ship", { trackingNumber: "T-1" });
  assert.deepEqual([shipped.status, shipped.body.status, shipped.body.version], [200, "Shipped", 3]);
  const read = await call("GET", "/api/orders/1001");
  assert.deepEqual(read.body, {
    id: "1001", version: 3, status: "Shipped", customerId: "c-7", items, total: 4980, trackingNumber: "T-1",
  });
  const stored = (await server.events()).filter((e) => e.stream === "Order-1001");
  assert.deepEqual(stored.map((e) => [e.version, e.type]), [[1, "OrderCreated"], [2, "OrderPaid"], [3, "OrderShipped"]]);
});

test("illegal transitions answer with the domain error's code and write nothing", async () => {
  await call("POST", "/api/orders", { id: "1002", customerId: "c-7", items });
  const ship = await call("POST", "/api/orders/1002/ship", {});
  assert.deepEqual([ship.status, ship.body.error], [409, "order_not_shippable"]);
  assert.match(ship.body.message, /only a paid order/);
  const short = await call("POST", "/api/orders/1002/pay", { amount: 1 });
  assert.deepEqual([short.status, short.body.error], [422, "payment_amount_mismatch"]);
  const again = await call("POST", "/api/orders", { id: "1002", customerId: "c-7", items });
  assert.deepEqual([again.status, again.body.error], [409, "order_exists"]);
  const empty = await call("POST", "/api/orders", { id: "1003", customerId: "c-7", items: [] });
  assert.deepEqual([empty.status, empty.body.error], [422, "invalid_order"]);
  const missing = await call("GET", "/api/orders/nope");
  assert.deepEqual([missing.status, missing.body.error], [404, "order_not_found"]);
  const badId = await call("POST", "/api/orders", { id: "a b", customerId: "c", items });
  assert.deepEqual([badId.status, badId.body.error], [400, "invalid_input"]);
  const stored = (await server.events()).filter((e) => ["Order-1002", "Order-1003"].includes(e.stream));
  assert.deepEqual(stored.map((e) => e.type), ["OrderCreated"]);
});

test("two concurrent pays of one order: one OrderPaid, the other is decided again and refused", async () => {
  assert.equal((await call("POST", "/api/orders", { id: "race", customerId: "c-9", items })).status, 201);
  const pay = () => call("POST", "/api/orders/race/pay", { amount: 4980 });
  gate.arm(2);
  const answers = await Promise.all([pay(), pay()]);
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, 409], JSON.stringify(answers));
  const refused = answers.find((a) => a.status === 409);
  assert.equal(refused.body.error, "order_not_payable");
  const payments = (await server.events()).filter((e) => e.stream === "Order-race" && e.type === "OrderPaid");
  assert.equal(payments.length, 1);
});

test("metrics: commands, events appended, conflicts retried, errors by code", async () => {
  const { status, body } = await call("GET", "/metrics");
  assert.equal(status, 200);
  const value = (series) => {
    const line = body.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  assert.equal(value('orders_commands_total{command="CreateOrder",outcome="ok"}'), 3);
  assert.equal(value('orders_commands_total{command="PayOrder",outcome="ok"}'), 2);
  assert.equal(value('orders_commands_total{command="PayOrder",outcome="order_not_payable"}'), 1);
  assert.equal(value("orders_events_appended_total"), 6);
  assert.equal(value("orders_conflicts_retried_total"), 1);
  assert.equal(value('orders_errors_total{code="order_not_payable"}'), 1);
  assert.equal(value('orders_errors_total{code="order_not_shippable"}'), 1);
  assert.equal(value('orders_errors_total{code="order_not_found"}'), 1);
  assert.match(body, /# TYPE orders_commands_total counter/);
});
