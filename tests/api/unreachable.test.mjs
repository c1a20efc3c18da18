// sync() while the server cannot be reached, in Node.js (memory storage) against the real
// fieldstream-server behind a TCP relay that can black-hole every connection: a forced sync
// rejects with a NetworkError in bounded time instead of hanging, the status says offline, a
// forget is queued, and once the network is back the background driver delivers the very same
// events, once. With no server listening at all, the NetworkError's `cause` is fetch's own
// failure.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { freePort } from "../../scripts/server-process.mjs";
import * as lib from "fieldstream";
import { startServer } from "../browser/harness.mjs";
import { items, orderAggregate, ordersProjection } from "./order.mjs";
import { deliveryAggregate } from "./personal.mjs";

/** A TCP relay to `upstream` (host:port); `cut()` holds every connection, old and new, without
 * an answer (as a dead network does), `heal()` relays again. */
async function relay(upstream) {
  const [host, port] = upstream.split(":");
  const sockets = new Set();
  let cut = false;
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (cut) return;
    const target = connect(Number(port), host);
    target.on("error", () => client.destroy());
    client.on("close", () => target.destroy());
    client.pipe(target).pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      cut = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

let server;
let network;
before(async () => {
  server = await startServer();
  network = await relay(new URL(server.origin).host);
});
after(async () => {
  await network?.close();
  await server?.close();
});

const timeoutMs = 1_000;
/** The documented bound: 4 tries of `timeoutMs`, the backoffs between them, and some slack for
 * a loaded machine. */
const bound = 4 * timeoutMs + 2_000 + 5_000;

const settles = async (promise) => {
  const started = Date.now();
  const outcome = await promise.then((value) => ({ value }), (error) => ({ error }));
  return { ...outcome, ms: Date.now() - started };
};

test("a forced sync rejects with a NetworkError in bounded time while the server cannot be reached", async () => {
  const store = await lib.open({
    storage: "memory",
    aggregates: { Order: orderAggregate(lib.DomainError), Delivery: deliveryAggregate },
    projections: { orders: ordersProjection },
    sync: { url: network.origin, timeoutMs, pollMs: 500, live: false },
  });
  network.cut();
  try {
    const created = await store.execute("Order", "u-1", { type: "CreateOrder", customerId: "c-1", items: items(1, 10) });
    // The command's kick started a round of the driver in the background; this one waits for it.
    const first = await settles(store.sync());
    assert.ok(first.error instanceof lib.NetworkError, `a NetworkError, got ${first.error ?? JSON.stringify(first.value)}`);
    assert.equal(first.error.cause?.name, "TimeoutError", `the last try's timeout is the cause: ${first.error.cause}`);
    assert.ok(first.ms < bound, `settled in ${first.ms} ms, within ${bound}`);
    const second = await settles(store.sync());
    assert.ok(second.error instanceof lib.NetworkError);
    assert.ok(second.ms < bound, `settled in ${second.ms} ms, within ${bound}`);
    assert.equal(store.status().online, false, "the status says offline");
    assert.equal(store.status().pending, 1);

    await store.execute("Delivery", "d-1", {
      type: "Book", customerId: "cust-1", customerName: "Ada", phone: "1", address: { street: "S", city: "C" }, slot: "mon",
    });
    const forget = await settles(store.forgetSubject("cust-1"));
    assert.equal(forget.error, undefined, `a forget while unreachable is queued: ${forget.error}`);
    assert.ok(forget.ms < bound, `forgetSubject settled in ${forget.ms} ms`);

    network.heal();
    const deadline = Date.now() + 60_000;
    while (store.status().pending > 0 || !store.status().online) {
      assert.ok(Date.now() < deadline, `the driver did not drain by itself: ${JSON.stringify(store.status())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const onServer = (await server.events()).filter((e) => e.stream === "Order-u-1");
    assert.deepEqual(onServer.map((e) => e.id), created.events.map((e) => e.id), "the same event, once");
    const forgotten = await (await fetch(`${server.origin}/v1/keys/cust-1`)).json();
    assert.equal(forgotten.forgotten, true, "the queued forget reached the server");
  } finally {
    network.heal();
    await store.close();
  }
});

test("with no server listening, the NetworkError's cause is the failed fetch's TypeError", async () => {
  const port = await freePort();
  const store = await lib.open({
    storage: "memory",
    aggregates: { Order: orderAggregate(lib.DomainError) },
    sync: { url: `http://127.0.0.1:${port}`, timeoutMs, live: false },
  });
  try {
    await store.execute("Order", "u-2", { type: "CreateOrder", customerId: "c-1", items: items(1, 10) });
    const { error } = await settles(store.sync());
    assert.ok(error instanceof lib.NetworkError, `a NetworkError, got ${error}`);
    assert.ok(error.cause instanceof TypeError, `the cause is fetch's TypeError: ${error.cause}`);
    assert.equal(error.cause.cause?.code, "ECONNREFUSED", "Node's own cause under it");
    assert.match(error.message, /fetch failed/);
    assert.equal(Object.keys(error).includes("cause"), false, "cause is not enumerable, as ES2022 makes it");
  } finally {
    await store.close();
  }
});
