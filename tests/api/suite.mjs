// The behaviour suite of the public API, written once and run against the built package in
// Node.js (memory), in a Chromium page and in a dedicated worker (IndexedDB). Each case gets
// `lib` (the package's exports) and `open(options)`, which opens a fresh store of the
// runtime's storage with the given options.
import { eventually, ok, equal, rejects, same, throws } from "./check.mjs";
import { items, orderAggregate, ordersProjection } from "./order.mjs";
import { personalCases } from "./personal.mjs";
import { projectionCases } from "./projections.mjs";

/** Opens a store with the Order aggregate and the `orders` read model. */
const orders = ({ lib, open }, extra = {}) =>
  open({ aggregates: { Order: orderAggregate(lib.DomainError) }, projections: { orders: ordersProjection }, ...extra });

/** Checks that `error` is a ValidationError (class, code) whose message mentions `words`. */
function invalid(lib, error, words) {
  ok(error instanceof lib.ValidationError, `expected a ValidationError, got ${error?.name}: ${error?.message}`);
  ok(error instanceof lib.FieldstreamError, "ValidationError extends FieldstreamError");
  equal(error.code, "invalid_input");
  ok(error.message.includes(words), `the message ${JSON.stringify(error.message)} names ${words}`);
}

const nothingWritten = async (store, id) => equal((await store.history("Order", id)).length, 0, "events written:");

export const cases = [
  {
    name: "an order defined in JS is created, paid and shipped",
    async run(t) {
      const store = await orders(t);
      const created = await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c-1", items: items(3, 250) },
        { correlationId: "visit-1", causationId: "click-1" });
      equal(created.stream, "Order-o-1");
      equal(created.version, 1);
      equal(created.deduplicated, false);
      equal(typeof created.commandId, "string");
      equal(created.events[0].data.total, 750);
      same(created.events[0].data.items, items(3, 250));
      await store.execute("Order", "o-1", { type: "PayOrder", paymentMethod: "card", amount: 750 });
      const shipped = await store.execute("Order", "o-1", { type: "ShipOrder", trackingNumber: "T-1" });
      equal(shipped.version, 3);
      const { state, version } = await store.load("Order", "o-1");
      equal(version, 3);
      same(state, { status: "Shipped", customerId: "c-1", items: items(3, 250), total: 750, trackingNumber: "T-1" });
      const history = await store.history("Order", "o-1");
      same(history.map((e) => [e.version, e.type, e.schemaVersion, e.syncState, e.position]),
        [[1, "OrderCreated", 1, "pending", null], [2, "OrderPaid", 1, "pending", null], [3, "OrderShipped", 1, "pending", null]]);
      equal(history[0].metadata.correlationId, "visit-1");
      equal(history[0].metadata.causationId, "click-1");
      equal(history[0].metadata.clientId, store.clientId);
      equal((await store.stateAt("Order", "o-1", 1)).state.status, "Pending");
      equal((await store.stateAt("Order", "o-1", 2)).state.status, "Paid");
      const beyond = await rejects(store.stateAt("Order", "o-1", 9));
      ok(beyond instanceof t.lib.NotFoundError && beyond.code === "not_found", `stateAt past the end: ${beyond}`);
      await store.close();
    },
  },
  {
    name: "a refused command rejects with the DomainError class and its code; nothing is written",
    async run(t) {
      const store = await orders(t);
      const error = await rejects(store.execute("Order", "o-1", { type: "ShipOrder", trackingNumber: "T" }));
      ok(error instanceof t.lib.DomainError, `a DomainError, got ${error}`);
      ok(error instanceof t.lib.FieldstreamError);
      equal(error.code, "order_not_shippable");
      ok(error.message.includes("only a paid order"), error.message);
      await nothingWritten(store, "o-1");
      const { state, version } = await store.load("Order", "o-1");
      equal(version, 0);
      equal(state.status, "None");
    },
  },
  {
    name: "an error named DomainError with a string code is a refusal too",
    async run(t) {
      class DomainError extends Error {
        constructor(code, message) { super(message); this.name = "DomainError"; this.code = code; }
      }
      const store = await t.open({ aggregates: { Order: orderAggregate(DomainError) } });
      const error = await rejects(store.execute("Order", "o-1", { type: "PayOrder", amount: 1 }));
      ok(error instanceof t.lib.DomainError, "converted to the package's class");
      equal(error.code, "order_not_payable");
    },
  },
  {
    name: "an exception from decide that is not a DomainError surfaces as itself; nothing is written",
    async run(t) {
      const thrown = [new TypeError("the app's bug"), { not: "an Error" }, "a string"];
      let next = 0;
      const aggregate = orderAggregate(t.lib.DomainError, {
        decide: () => { throw thrown[next]; },
      });
      const store = await t.open({ aggregates: { Order: aggregate } });
      for (next = 0; next < thrown.length; next++) {
        const error = await rejects(store.execute("Order", "o-1", { type: "CreateOrder" }));
        equal(error, thrown[next], `thrown value ${next} comes back as itself:`);
      }
      await nothingWritten(store, "o-1");
    },
  },
  {
    name: "exceptions from evolve and initialState surface as themselves",
    async run(t) {
      const bug = new RangeError("evolve bug");
      const base = orderAggregate(t.lib.DomainError);
      const store = await t.open({
        aggregates: {
          Order: { ...base, evolve: (state, event) => { if (event.type === "OrderPaid") throw bug; return base.evolve(state, event); } },
          Broken: { ...base, initialState: () => { throw bug; } },
        },
      });
      await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items() });
      equal(await rejects(store.execute("Broken", "b-1", { type: "CreateOrder" })), bug);
      equal((await store.history("Broken", "b-1")).length, 0);
      // A paid order cannot load: evolve throws on its OrderPaid.
      const noSnapshot = await t.open({ aggregates: { Order: { ...base, snapshotEvery: 0, evolve: (s, e) => { if (e.type === "OrderPaid") throw bug; return base.evolve(s, e); } } } });
      await noSnapshot.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items() });
      await noSnapshot.execute("Order", "o-1", { type: "PayOrder", paymentMethod: "card", amount: 500 });
      equal(await rejects(noSnapshot.load("Order", "o-1")), bug);
    },
  },
  {
    name: "bad calls reject with ValidationError naming the problem; nothing is written",
    async run(t) {
      const store = await orders(t);
      const create = { type: "CreateOrder", customerId: "c", items: items() };
      invalid(t.lib, await rejects(store.execute("Invoice", "o-1", create)), "Invoice");
      for (const command of ["CreateOrder", null, [create], new Date(), 42]) {
        invalid(t.lib, await rejects(store.execute("Order", "o-1", command)), "command");
      }
      invalid(t.lib, await rejects(store.execute("Order", "o-1", { customerId: "c" })), "type");
      invalid(t.lib, await rejects(store.execute("Order", "o-1", { type: 7 })), "type");
      invalid(t.lib, await rejects(store.execute("Order", "o-1", create, { retries: 3 })), "retries");
      invalid(t.lib, await rejects(store.execute("Order", "o-1", create, { expectedVersion: -1 })), "expected version");
      invalid(t.lib, await rejects(store.execute("Order", 17, create)), "id");
      invalid(t.lib, await rejects(store.execute("Order", "a b", create)), "a b");
      invalid(t.lib, await rejects(store.get("invoices", "o-1")), "invoices");
      invalid(t.lib, await rejects(store.query("orders", { index: "city", equals: "x" })), "city");
      invalid(t.lib, await rejects(store.query("orders", { index: "status" })), "equals");
      invalid(t.lib, throws(() => store.subscribe("invoices", { key: "x" }, () => {})), "invoices");
      invalid(t.lib, throws(() => store.subscribe("orders", { key: "x" }, "not a function")), "callback");
      invalid(t.lib, await rejects(store.stateAt("Order", "o-1", 1.5)), "version");
      await nothingWritten(store, "o-1");
    },
  },
  {
    name: "decide returning something other than events, or a refused event type, is a ValidationError",
    async run(t) {
      const decisions = [
        [{ type: "OrderCreated", data: {} }, "array"],
        [undefined, "array"],
        [Promise.resolve([]), "synchronous"],
        [[{ type: "OrderCreated" }], "no data"],
        [[{ data: {} }], "type"],
        [[{ type: "OrderCreated", data: {}, payload: 1 }], "payload"],
        [["OrderCreated"], "[0]"],
        [[{ type: "1Order", data: {} }], "1Order"],
        [[{ type: "Order Created", data: {} }], "Order Created"],
        [[{ type: "OrderCreated", data: {}, schemaVersion: 0 }], "schemaVersion"],
        [[{ type: "OrderCreated", data: { f() {} } }, { type: "X", data: 1n }], "JSON"],
      ];
      let decision;
      const store = await t.open({ aggregates: { Order: orderAggregate(t.lib.DomainError, { decide: () => decision }) } });
      for (const [returned, words] of decisions) {
        decision = returned;
        invalid(t.lib, await rejects(store.execute("Order", "o-1", { type: "CreateOrder" }), `decide returning ${words}`), words);
      }
      await nothingWritten(store, "o-1");
    },
  },
  {
    name: "options of the wrong shape reject open() with a ValidationError naming the option",
    async run(t) {
      const base = orderAggregate(t.lib.DomainError);
      const bad = [
        [{ aggregates: 5 }, "options.aggregates"],
        [{ aggregates: { Order: { ...base, decide: "no" } } }, "aggregates.Order.decide"],
        [{ aggregates: { Order: { ...base, evolve: undefined } } }, "aggregates.Order.evolve"],
        [{ aggregates: { Order: { ...base, snapshotEvery: -1 } } }, "aggregates.Order.snapshotEvery"],
        [{ aggregates: { Order: { ...base, onConflict: "merge" } } }, "aggregates.Order.onConflict"],
        [{ aggregates: { Order: { ...base, snapshotevery: 3 } } }, "aggregates.Order.snapshotevery"],
        [{ aggregates: { "Or-der": base } }, "Or-der"],
        [{ projections: { orders: { ...ordersProjection, indexes: "status" } } }, "projections.orders.indexes"],
        [{ projections: { orders: { ...ordersProjection, mode: "lazy" } } }, "projections.orders.mode"],
        [{ projections: { orders: { indexes: [] } } }, "projections.orders.apply"],
        [{ upcasters: { OrderCreated: 1 } }, "upcasters"],
        [{ upcasters: [{ type: "OrderCreated", fromVersion: 0, upcast: (d) => d }] }, "upcasters[0].fromVersion"],
        [{ upcasters: [{ type: "OrderCreated", fromVersion: 1 }] }, "upcasters[0].upcast"],
        [{ storage: "disk" }, "options.storage"],
        [{ storage: "remote" }, "remote"],
        [{ sync: { url: "ftp://x" } }, "options.sync.url"],
        [{ sync: { url: "http://x", token: 5 } }, "options.sync.token"],
        [{ sync: { url: "http://x", auto: "no" } }, "options.sync.auto"],
        [{ sync: { url: "http://x", retryMs: 0 } }, "options.sync.retryMs"],
        [{ sync: { url: "http://x", maxRetryMs: 2.5 } }, "options.sync.maxRetryMs"],
        [{ sync: { url: "http://x", retryMs: 500, maxRetryMs: 100 } }, "options.sync.maxRetryMs"],
        [{ durability: "maybe" }, "options.durability"],
        [{ conflictRetry: 5_000 }, "options.conflictRetry"],
        [{ conflictRetry: { maxMs: -1 } }, "options.conflictRetry.maxMs"],
        [{ conflictRetry: { baseMs: 1.5 } }, "options.conflictRetry.baseMs"],
        [{ conflictRetry: { maxDelayMs: "1s" } }, "options.conflictRetry.maxDelayMs"],
        [{ conflictRetry: { maxMS: 10 } }, "options.conflictRetry.maxMS"],
        [{ nmae: "typo" }, "options.nmae"],
        ["field-sales", "options"],
      ];
      for (const [options, words] of bad) {
        invalid(t.lib, await rejects(t.open(options), `open(${JSON.stringify(options)})`), words);
      }
    },
  },
  {
    name: "snapshotEvery: a load replays only the events after the latest snapshot",
    async run(t) {
      const calls = { Order: 0, Other: 0 };
      const counting = (type, snapshotEvery) => {
        const aggregate = orderAggregate(t.lib.DomainError, { snapshotEvery });
        const evolve = aggregate.evolve;
        aggregate.evolve = (state, event) => { calls[type]++; return evolve(state, event); };
        return aggregate;
      };
      const store = await t.open({ aggregates: { Order: counting("Order", 2), Other: counting("Other", 0) } });
      for (const type of ["Order", "Other"]) {
        await store.execute(type, "1", { type: "CreateOrder", customerId: "c", items: items(1, 100) });
        await store.execute(type, "1", { type: "PayOrder", paymentMethod: "card", amount: 100 });
        await store.execute(type, "1", { type: "ShipOrder", trackingNumber: "T" });
      }
      calls.Order = calls.Other = 0;
      equal((await store.load("Order", "1")).state.status, "Shipped");
      equal((await store.load("Other", "1")).state.status, "Shipped");
      equal(calls.Order, 1, "with a snapshot at version 2, events replayed:");
      equal(calls.Other, 3, "without snapshots, events replayed:");
      equal((await store.stateAt("Order", "1", 1)).state.status, "Pending", "stateAt before the snapshot");
    },
  },
  {
    name: "upcasters bring old payloads to the current shape on every read",
    async run(t) {
      const seen = [];
      const Note = {
        initialState: () => ({ texts: [] }),
        decide: (state, command) => [command.legacy
          ? { type: "NoteAdded", data: { text: command.text }, schemaVersion: 1 }
          : { type: "NoteAdded", data: { text: command.text, lang: command.lang } }],
        evolve: (state, event) => { seen.push(event.schemaVersion); return { texts: [...state.texts, `${event.data.lang}:${event.data.text}`] }; },
      };
      const store = await t.open({
        aggregates: { Note },
        upcasters: [{ type: "NoteAdded", fromVersion: 1, upcast: (data) => ({ ...data, lang: "en" }) }],
      });
      await store.execute("Note", "n", { type: "Add", text: "old", legacy: true });
      await store.execute("Note", "n", { type: "Add", text: "neu", lang: "de" });
      const history = await store.history("Note", "n");
      same(history.map((e) => [e.schemaVersion, e.data]), [[2, { text: "old", lang: "en" }], [2, { text: "neu", lang: "de" }]]);
      same((await store.load("Note", "n")).state.texts, ["en:old", "de:neu"]);
      ok(seen.every((v) => v === 2), "evolve sees only the current schema version");
    },
  },
  {
    name: "a JS projection keeps a read model: get, index equals, range and pages",
    async run(t) {
      const store = await orders(t);
      const orderOf = async (id, customerId, quantity) =>
        store.execute("Order", id, { type: "CreateOrder", customerId, items: items(quantity, 100) });
      await orderOf("a", "c-1", 1);
      await orderOf("b", "c-2", 4);
      await orderOf("c", "c-1", 7);
      await store.execute("Order", "b", { type: "PayOrder", paymentMethod: "card", amount: 400 });
      const b = await store.get("orders", "b");
      equal(b.status, "Paid", "read-your-writes after an update through view.get:");
      equal(b.total, 400);
      equal(await store.get("orders", "zzz"), null);
      const c1 = await store.query("orders", { index: "customerId", equals: "c-1" });
      same(c1.docs.map((d) => d.key), ["a", "c"]);
      const mid = await store.query("orders", { index: "total", range: [200, 700] });
      same(mid.docs.map((d) => [d.key, d.doc.total]), [["b", 400], ["c", 700]]);
      const open = await store.query("orders", { index: "total", range: [null, 400] });
      same(open.docs.map((d) => d.key), ["a", "b"]);
      const first = await store.query("orders", { index: "total", range: [0, null], limit: 2 });
      same(first.docs.map((d) => d.key), ["a", "b"]);
      ok(typeof first.next === "string", "a cursor for the next page");
      const second = await store.query("orders", { index: "total", range: [0, null], limit: 2, after: first.next });
      same(second.docs.map((d) => d.key), ["c"]);
      equal(second.next, undefined);
      same((await store.query("orders", { index: "status", equals: "Paid" })).docs.map((d) => d.key), ["b"]);
    },
  },
  {
    name: "a projection's view reads back its own writes and deletes within one event",
    async run(t) {
      const store = await t.open({
        aggregates: { Order: orderAggregate(t.lib.DomainError) },
        projections: {
          counts: {
            indexes: ["n"],
            apply(event, view) {
              const counter = view.get("all") ?? { n: 0 };
              view.put("all", { n: counter.n + 1 });
              view.put("tmp", { n: -1 });
              equal(view.get("all").n, counter.n + 1);
              view.delete("tmp");
              equal(view.get("tmp"), undefined);
            },
          },
        },
      });
      for (const id of ["1", "2", "3"]) {
        await store.execute("Order", id, { type: "CreateOrder", customerId: "c", items: items() });
      }
      same(await store.get("counts", "all"), { n: 3 });
      equal(await store.get("counts", "tmp"), null);
    },
  },
  {
    name: "subscribe calls back now and on every change, and stops when asked",
    async run(t) {
      const store = await orders(t);
      const pages = [];
      const docs = [];
      const stop = store.subscribe("orders", { index: "status", equals: "Paid" }, (page) => pages.push(page.docs.map((d) => d.key)));
      const stopDoc = store.subscribe("orders", { key: "o-1" }, (doc) => docs.push(doc?.status ?? null));
      await eventually(() => pages.length === 1 && docs.length === 1, "the first call");
      same(pages, [[]]);
      same(docs, [null]);
      await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items(1, 100) });
      await eventually(() => docs.length === 2, "the key subscription sees the new order");
      equal(pages.length, 1, "the Paid query did not change, so no call");
      await store.execute("Order", "o-1", { type: "PayOrder", paymentMethod: "card", amount: 100 });
      await eventually(() => pages.length === 2, "the Paid query sees the payment");
      same(pages[1], ["o-1"]);
      same(docs, [null, "Pending", "Paid"]);
      stop();
      stop();
      stopDoc();
      await store.execute("Order", "o-2", { type: "CreateOrder", customerId: "c", items: items(1, 100) });
      await store.execute("Order", "o-2", { type: "PayOrder", paymentMethod: "card", amount: 100 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      equal(pages.length, 2, "no calls after stop:");
    },
  },
  {
    name: "onChange names the stream of each command made here, not of a deduplicated one, and stops when asked",
    async run(t) {
      const store = await orders(t);
      const streams = [];
      // IndexedDB stores also hear the database's change notices, which name no stream.
      const stop = store.onChange((change) => change.stream && streams.push(change.stream));
      const create = { type: "CreateOrder", customerId: "c", items: items(1, 100) };
      await store.execute("Order", "o-1", create, { idempotencyKey: "k-1" });
      await store.execute("Order", "o-1", create, { idempotencyKey: "k-1" });
      await store.execute("Order", "o-2", create);
      same(streams, ["Order-o-1", "Order-o-2"]);
      await rejects(store.execute("Order", "o-2", create));
      stop();
      stop();
      await store.execute("Order", "o-3", create);
      same(streams, ["Order-o-1", "Order-o-2"], "after stop:");
      invalid(t.lib, throws(() => store.onChange("no")), "listener");
    },
  },
  {
    name: "a repeated idempotencyKey returns the first result and writes nothing",
    async run(t) {
      const store = await orders(t);
      const create = { type: "CreateOrder", customerId: "c", items: items() };
      const first = await store.execute("Order", "o-1", create, { idempotencyKey: "k-1" });
      const again = await store.execute("Order", "o-1", create, { idempotencyKey: "k-1" });
      equal(first.deduplicated, false);
      equal(again.deduplicated, true);
      equal(again.commandId, first.commandId);
      equal(again.version, 1);
      same(again.events.map((e) => e.id), first.events.map((e) => e.id));
      equal((await store.history("Order", "o-1")).length, 1);
      invalid(t.lib, await rejects(store.execute("Order", "o-2", create, { idempotencyKey: "k-1" })), "k-1");
    },
  },
  {
    name: "expectedVersion that does not hold rejects with ConflictError and its fields",
    async run(t) {
      const store = await orders(t);
      await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items(1, 100) });
      const pay = { type: "PayOrder", paymentMethod: "card", amount: 100 };
      const error = await rejects(store.execute("Order", "o-1", pay, { expectedVersion: 0 }));
      ok(error instanceof t.lib.ConflictError, `a ConflictError, got ${error}`);
      ok(error instanceof t.lib.FieldstreamError);
      same([error.code, error.stream, error.expected, error.actual], ["conflict", "Order-o-1", 0, 1]);
      const named = await rejects(store.execute("Order", "o-1", pay, { expectedVersion: "no_stream" }));
      equal(named.expected, "no_stream");
      equal((await store.history("Order", "o-1")).length, 1, "nothing written:");
      equal((await store.execute("Order", "o-1", pay, { expectedVersion: 1 })).version, 2);
    },
  },
  {
    name: "a background projection catches up after commits",
    async run(t) {
      const store = await t.open({
        aggregates: { Order: orderAggregate(t.lib.DomainError) },
        projections: { orders: { ...ordersProjection, mode: "background", batchSize: 1 } },
      });
      await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items() });
      await store.execute("Order", "o-1", { type: "PayOrder", paymentMethod: "card", amount: 500 });
      await eventually(async () => (await store.get("orders", "o-1"))?.status === "Paid", "the background read model");
    },
  },
  {
    name: "sync needs the sync option; status works without it; a closed store refuses calls",
    async run(t) {
      const store = await orders(t);
      invalid(t.lib, await rejects(store.sync()), "options.sync");
      same([store.status().online, store.status().pending], [false, 0]);
      same(await store.rejected(), []);
      equal(await store.dismissRejected("nope"), false);
      const synced = await orders(t, { sync: { url: "http://127.0.0.1:9", token: "secret", live: true, batchSize: 10 } });
      same(synced.syncOptions.batchSize, 10);
      await synced.close(); // its sync driver's BroadcastChannel would keep Node.js running
      await store.close();
      const error = await rejects(store.load("Order", "o-1"));
      ok(error instanceof t.lib.StorageError && error.code === "storage", `closed: ${error}`);
    },
  },
  ...personalCases,
  ...projectionCases,
];
