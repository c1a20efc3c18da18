// storage "durable-object" in real workerd (miniflare): a worker routes Order commands to a
// SQLite-backed Durable Object, which opens fieldstream on its own `ctx.storage` and runs them
// in its synchronous SQLite. Commands apply and a refusal comes back as a DomainError; 20
// concurrent commands on one order through one object all apply with contiguous versions (one
// writer); the events, an idempotency key and a read-model document survive disposing
// miniflare and starting another instance on the same persist folder; a statement failing in a
// command's transaction rolls the command back; a second store on the same storage is refused
// while the first is open. Another object, opened on a wrapper of `ctx.storage` that keeps each
// cursor, reports the rows workerd counts as written (`rowsWritten`) per event at 1 and 100
// events per command.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { workerdEntry, workerdModules } from "./workerd.mjs";
import { items } from "./order.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

const worker = `
import { DurableObject } from "cloudflare:workers";
import * as lib from ${JSON.stringify(workerdEntry(here))};
import { orderAggregate, ordersProjection } from "./order.mjs";

// n events per command, for counting rows per event.
const batchAggregate = {
  initialState: () => ({ count: 0 }),
  decide: (state, command) => Array.from({ length: command.n }, (_, i) => ({ type: "Appended", data: { i } })),
  evolve: (state) => ({ count: state.count + 1 }),
};

const outcome = async (work) => {
  try {
    return { outcome: "applied", ...(await work()) };
  } catch (error) {
    return {
      outcome: error instanceof lib.DomainError ? "refused" : "failed",
      name: error?.name, code: error?.code, message: String(error?.message ?? error),
      validation: error instanceof lib.ValidationError,
    };
  }
};

export class Orders extends DurableObject {
  #store;
  #cursors = [];

  // The "orders" object runs on ctx.storage itself; the others on a wrapper that keeps each
  // cursor, to sum workerd's rowsWritten, and fails the write of an idempotency record while
  // \`fault\` is set; without read models.
  store(name) {
    if (name === "orders") {
      this.#store ??= lib.open({
        storage: "durable-object",
        sql: this.ctx.storage,
        aggregates: { Order: orderAggregate(lib.DomainError) },
        projections: { orders: { ...ordersProjection, mode: "inline" } },
      });
      return this.#store;
    }
    const storage = this.ctx.storage;
    const counted = {
      sql: {
        exec: (text, ...bindings) => {
          if (this.fault && text.trimStart().startsWith("INSERT INTO idempotency")) throw new Error("injected fault");
          const cursor = storage.sql.exec(text, ...bindings);
          this.#cursors.push(cursor);
          return cursor;
        },
      },
      transactionSync: (callback) => storage.transactionSync(callback),
    };
    this.#store ??= lib.open({ storage: "durable-object", sql: counted, aggregates: { Batch: batchAggregate } });
    return this.#store;
  }

  rowsWritten() {
    const rows = this.#cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0);
    this.#cursors = [];
    return rows;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const store = await this.store(url.searchParams.get("object"));
    const body = request.method === "POST" ? await request.json() : {};
    switch (url.pathname) {
      case "/execute":
        return Response.json(await outcome(async () => {
          const result = await store.execute(body.aggregate, body.id, body.command, body.options);
          return { version: result.version, deduplicated: result.deduplicated, events: result.events.length };
        }));
      case "/load": {
        const [aggregate, id] = [url.searchParams.get("aggregate"), url.searchParams.get("id")];
        const { state, version } = await store.load(aggregate, id);
        const history = await store.history(aggregate, id);
        return Response.json({ state, version, versions: history.map((e) => e.version), types: history.map((e) => e.type) });
      }
      case "/get":
        return Response.json(await store.get("orders", url.searchParams.get("key")));
      case "/query":
        return Response.json(await store.query("orders", { index: url.searchParams.get("index"), equals: url.searchParams.get("equals") }));
      case "/second":
        // A second store on the same ctx.storage while the first is open, then after closing it.
        return Response.json(await outcome(async () => {
          await lib.open({ storage: "durable-object", sql: this.ctx.storage });
          return {};
        }));
      case "/close":
        await store.close();
        this.#store = undefined;
        return Response.json({});
      case "/fault":
        this.fault = body.fault;
        return Response.json({});
      case "/rows": {
        this.rowsWritten();
        let events = 0;
        for (let i = 0; i < body.commands; i += 1) {
          events += (await store.execute("Batch", body.stream, { type: "Append", n: body.n })).events.length;
        }
        return Response.json({ events, rowsWritten: this.rowsWritten() });
      }
      default:
        return new Response("not found", { status: 404 });
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/open") {
      // Options checked in the worker itself, no object involved.
      const options = JSON.parse(url.searchParams.get("options"));
      return Response.json(await outcome(async () => {
        await lib.open({ aggregates: { Order: orderAggregate(lib.DomainError) }, ...options });
        return {};
      }));
    }
    const name = url.searchParams.get("object") ?? "orders";
    return env.ORDERS.get(env.ORDERS.idFromName(name)).fetch(request);
  },
};
`;

const persist = mkdtempSync(join(tmpdir(), "fieldstream-do-"));
const options = () => workerdModules(here, worker, {
  durableObjects: { ORDERS: { className: "Orders", useSQLite: true } },
  durableObjectsPersist: persist,
});

let mf;
const start = async () => {
  const { Miniflare } = await import("miniflare");
  mf = new Miniflare(options());
  await mf.ready;
};
const post = async (path, body, object = "orders") =>
  (await mf.dispatchFetch(`http://worker${path}?object=${object}`, { method: "POST", body: JSON.stringify(body) })).json();
const get = async (path, params) =>
  (await mf.dispatchFetch(`http://worker${path}?${new URLSearchParams({ object: "orders", ...params })}`)).json();
const execute = (id, command, options) => post("/execute", { aggregate: "Order", id, command, options });
const load = (aggregate, id, object) => get("/load", { aggregate, id, object });

before(start);
after(async () => {
  await mf?.dispose();
  rmSync(persist, { recursive: true, force: true });
});

test("storage \"durable-object\" without a storage object, or with another, is a ValidationError", async () => {
  const check = async (options, names) => {
    const seen = await (await mf.dispatchFetch(`http://worker/open?options=${encodeURIComponent(JSON.stringify(options))}`)).json();
    assert.equal(seen.outcome, "failed", JSON.stringify(seen));
    assert.equal(seen.name, "ValidationError");
    assert.ok(seen.validation, "an instance of ValidationError");
    assert.match(seen.message, names);
  };
  await check({ storage: "durable-object" }, /options\.sql/);
  await check({ storage: "durable-object", sql: {} }, /options\.sql.*ctx\.storage/);
  await check({ storage: "durable-object", sql: { sql: { exec: 1 }, transactionSync: 1 } }, /options\.sql/);
  await check({ storage: "memory", sql: {} }, /options\.sql/);
});

test("Order commands apply in the object, and a refusal comes back as a DomainError", async () => {
  assert.deepEqual(await execute("o-1", { type: "CreateOrder", customerId: "c-1", items: items(2, 250) }, { idempotencyKey: "create-o-1" }),
    { outcome: "applied", version: 1, deduplicated: false, events: 1 });
  const refused = await execute("o-1", { type: "PayOrder", paymentMethod: "card", amount: 1 });
  assert.equal(refused.outcome, "refused", JSON.stringify(refused));
  assert.equal(refused.name, "DomainError");
  assert.equal(refused.code, "payment_amount_mismatch");
  assert.equal((await execute("o-1", { type: "PayOrder", paymentMethod: "card", amount: 500 })).version, 2);
  assert.equal((await execute("o-1", { type: "ShipOrder", trackingNumber: "t-1" })).version, 3);
  const again = await execute("o-1", { type: "CreateOrder", customerId: "c-1", items: items(2, 250) }, { idempotencyKey: "create-o-1" });
  assert.deepEqual(again, { outcome: "applied", version: 1, deduplicated: true, events: 1 });
  const loaded = await get("/load", { aggregate: "Order", id: "o-1" });
  assert.equal(loaded.state.status, "Shipped");
  assert.deepEqual(loaded.versions, [1, 2, 3]);
  assert.equal((await get("/get", { key: "o-1" })).status, "Shipped");
  assert.deepEqual((await get("/query", { index: "status", equals: "Shipped" })).docs.map((d) => d.key), ["o-1"]);
});

test("20 concurrent commands on one order through one object all apply, versions contiguous", async () => {
  assert.equal((await execute("o-2", { type: "CreateOrder", customerId: "c-2", items: items(1, 10) })).version, 1);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    execute("o-2", { type: "AddItem", item: { productId: `p-${i}`, quantity: 1, unitPrice: 1 } })));
  for (const result of results) assert.equal(result.outcome, "applied", JSON.stringify(result));
  assert.deepEqual(results.map((r) => r.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 2));
  const loaded = await get("/load", { aggregate: "Order", id: "o-2" });
  assert.deepEqual(loaded.versions, Array.from({ length: 21 }, (_, i) => i + 1));
  assert.equal(loaded.state.items.length, 21);
  assert.equal(loaded.state.total, 30);
  assert.equal((await get("/get", { key: "o-2" })).total, 30);
});

test("events, an idempotency key and a read model survive a new miniflare on the same folder", async () => {
  await mf.dispose();
  mf = undefined;
  await start();
  const loaded = await get("/load", { aggregate: "Order", id: "o-1" });
  assert.equal(loaded.state.status, "Shipped");
  assert.deepEqual(loaded.versions, [1, 2, 3]);
  assert.deepEqual(loaded.types, ["OrderCreated", "OrderPaid", "OrderShipped"]);
  assert.equal((await get("/load", { aggregate: "Order", id: "o-2" })).version, 21);
  const again = await execute("o-1", { type: "CreateOrder", customerId: "c-1", items: items(2, 250) }, { idempotencyKey: "create-o-1" });
  assert.deepEqual(again, { outcome: "applied", version: 1, deduplicated: true, events: 1 });
  const doc = await get("/get", { key: "o-1" });
  assert.equal(doc.status, "Shipped");
  assert.equal(doc.customerId, "c-1");
  assert.equal((await get("/get", { key: "o-2" })).total, 30);
  assert.deepEqual((await get("/query", { index: "customerId", equals: "c-2" })).docs.map((d) => d.key), ["o-2"]);
  const refused = await execute("o-1", { type: "ShipOrder", trackingNumber: "t-2" });
  assert.equal(refused.code, "order_not_shippable");
});

test("a statement failing inside a command's transaction rolls the whole command back", async () => {
  const append = (options) => post("/execute", { aggregate: "Batch", id: "b-1", command: { type: "Append", n: 3 }, options }, "faulty");
  assert.equal((await append()).version, 3);
  await post("/fault", { fault: true }, "faulty");
  const failed = await append({ idempotencyKey: "k-1" });
  assert.equal(failed.outcome, "failed", JSON.stringify(failed));
  assert.match(failed.message, /injected fault/);
  // The events' row was written before the idempotency record failed: rolled back with it.
  assert.deepEqual((await load("Batch", "b-1", "faulty")).versions, [1, 2, 3]);
  await post("/fault", { fault: false }, "faulty");
  assert.deepEqual(await append({ idempotencyKey: "k-1" }), { outcome: "applied", version: 6, deduplicated: false, events: 3 });
  assert.deepEqual((await load("Batch", "b-1", "faulty")).versions, [1, 2, 3, 4, 5, 6]);
});

test("rows written per event, as workerd counts them, at 1 and 100 events per command", async () => {
  // The first command opens the store and creates its tables: not counted.
  await post("/rows", { stream: "warm-up", n: 1, commands: 1 }, "bench");
  const figures = {};
  for (const [n, commands] of [[1, 50], [100, 5]]) {
    const { events, rowsWritten } = await post("/rows", { stream: `s-${n}`, n, commands }, "bench");
    assert.equal(events, n * commands);
    figures[n] = rowsWritten / events;
    console.log(`durable-object: ${n} event(s) per command: ${rowsWritten} rows written for ${events} events, ${figures[n].toFixed(3)} per event`);
  }
  assert.ok(figures[1] > 0, "the writes were counted");
  assert.ok(figures[1] <= 2, `${figures[1]} rows per event at 1 event per command`);
  assert.ok(figures[100] <= 2, `${figures[100]} rows per event at 100 events per command`);
});

test("one store at a time on an object's storage: a second open is refused until the first closes", async () => {
  const refused = await post("/second", {});
  assert.equal(refused.outcome, "failed", JSON.stringify(refused));
  assert.equal(refused.name, "ValidationError");
  assert.match(refused.message, /options\.sql.*already has an open store/);
  await post("/close", {});
  // The request opens the store again (closed above), then asks for a second one.
  assert.equal((await post("/second", {})).outcome, "failed");
  await post("/close", {});
  assert.equal((await get("/load", { aggregate: "Order", id: "o-1" })).version, 3);
  assert.equal((await execute("o-3", { type: "CreateOrder", customerId: "c-3", items: items() })).version, 1);
});
