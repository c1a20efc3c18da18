// Projections through the public API, in every runtime of the behaviour suite: upcasters reach
// read models, a failing `apply` is retried by itself before it is dead-lettered, and the
// status and operations (`projections`, `retryProjection`, `skipDeadLetter`, `onProjections`).
import { eventually, equal, ok, rejects, same } from "./check.mjs";
import { items, orderAggregate } from "./order.mjs";

/** A read model of order trails (`OrderCreated;OrderPaid`) whose `apply` throws a
 * `DomainError` on payments while `switch.broken` is set. */
function trails(DomainError, broken, options = {}) {
  return {
    ...options,
    apply(event, view) {
      if (broken.on && event.type === "OrderPaid") throw new DomainError("payments_down", "the payment service is down");
      const id = event.stream.slice("Order-".length);
      const trail = view.get(id)?.trail;
      view.put(id, { trail: trail ? `${trail};${event.type}` : event.type });
    },
  };
}

const create = { type: "CreateOrder", customerId: "c-1", items: items(1, 100) };
const pay = { type: "PayOrder", paymentMethod: "card", amount: 100 };
const ship = { type: "ShipOrder", trackingNumber: "T-1" };

async function openTrails(t, options) {
  const broken = { on: false };
  const store = await t.open({
    aggregates: { Order: orderAggregate(t.lib.DomainError) },
    projections: { trails: trails(t.lib.DomainError, broken, options) },
  });
  const trail = async (id) => (await store.get("trails", id))?.trail;
  const status = async () => (await store.projections())[0];
  return { store, broken, trail, status };
}

export const projectionCases = [
  {
    name: "upcasters reach inline and background read models",
    async run(t) {
      // Created orders were once written without a currency: schema version 1.
      const Order = orderAggregate(t.lib.DomainError);
      const decide = Order.decide;
      Order.decide = (state, command) =>
        decide(state, command).map((event) => (event.type === "OrderCreated" ? { ...event, schemaVersion: 1 } : event));
      const seen = (event, view) => {
        if (event.type !== "OrderCreated") return;
        view.put(event.stream, { currency: event.data.currency ?? null, schemaVersion: event.schemaVersion });
      };
      const store = await t.open({
        aggregates: { Order },
        projections: { inline: { apply: seen }, late: { apply: seen, mode: "background" } },
        upcasters: [{ type: "OrderCreated", fromVersion: 1, upcast: (data) => ({ ...data, currency: "EUR" }) }],
      });
      await store.execute("Order", "o-1", create);
      equal((await store.history("Order", "o-1"))[0].data.currency, "EUR", "history:");
      same(await store.get("inline", "Order-o-1"), { currency: "EUR", schemaVersion: 2 });
      await eventually(async () => (await store.get("late", "Order-o-1")) !== null, "the background read model");
      same(await store.get("late", "Order-o-1"), { currency: "EUR", schemaVersion: 2 });
      await store.close();
    },
  },
  {
    name: "a failing inline apply never fails the command and is retried by itself until it heals",
    async run(t) {
      const { store, broken, trail, status } = await openTrails(t, { maxRetries: 3, backoffMs: 200 });
      let heard = 0;
      const stop = store.onProjections(() => heard++);
      await store.execute("Order", "o-1", create);
      broken.on = true;
      const paid = await store.execute("Order", "o-1", pay);
      broken.on = false;
      equal(paid.version, 2, "the command committed:");
      const waiting = await status();
      same([waiting.name, waiting.mode, waiting.stopped, waiting.deadLetters, waiting.lag], ["trails", "inline", false, [], 1]);
      equal(waiting.retry.attempts, 1);
      equal(waiting.retry.eventId, paid.events[0].id);
      equal(waiting.retry.lastError.code, "payments_down");
      ok(waiting.retry.nextAt > Date.now() - 1000, `nextAt ${waiting.retry.nextAt}`);
      equal(await trail("o-1"), "OrderCreated", "nothing applied past the failing event:");
      await eventually(async () => (await trail("o-1")) === "OrderCreated;OrderPaid", "the retry, by itself");
      const healed = await status();
      same([healed.retry, healed.lag, healed.stopped, healed.deadLetters], [null, 0, false, []]);
      await eventually(async () => heard > 0, "onProjections heard the catch-up");
      stop();
      await store.execute("Order", "o-1", ship);
      equal(await trail("o-1"), "OrderCreated;OrderPaid;OrderShipped", "read-your-writes again:");
      await store.close();
    },
  },
  {
    name: "a stopped projection shows its dead letters; retryProjection and skipDeadLetter resume it",
    async run(t) {
      const { store, broken, trail, status } = await openTrails(t, { maxRetries: 0 });
      await store.execute("Order", "o-1", create);
      broken.on = true;
      const paid = await store.execute("Order", "o-1", pay);
      await store.execute("Order", "o-1", ship);
      const stopped = await status();
      same([stopped.stopped, stopped.lag, stopped.retry], [true, 2, null]);
      equal(stopped.deadLetters.length, 1);
      const [letter] = stopped.deadLetters;
      same(
        [letter.eventId, letter.stream, letter.version, letter.type, letter.error.code, letter.attempts, letter.skipped],
        [paid.events[0].id, "Order-o-1", 2, "OrderPaid", "payments_down", 1, false],
      );
      equal(letter.error.message, "the payment service is down");

      // Bad arguments: typed errors, nothing written.
      const notUuid = await rejects(store.skipDeadLetter("trails", "not-a-uuid"));
      ok(notUuid instanceof t.lib.ValidationError, `not a UUID: ${notUuid}`);
      const unknown = await rejects(store.skipDeadLetter("nope", letter.eventId));
      ok(unknown instanceof t.lib.ValidationError && unknown.message.includes("trails"), `unknown: ${unknown}`);
      const missing = await rejects(store.skipDeadLetter("trails", "00000000-0000-4000-8000-000000000000"));
      ok(missing instanceof t.lib.NotFoundError, `no such dead letter: ${missing}`);
      ok((await rejects(store.retryProjection(7))) instanceof t.lib.ValidationError, "a name that is not a string");
      same(await status(), stopped, "nothing was written:");

      // Retried while still failing: it stops there again.
      const again = await store.retryProjection("trails");
      same([again.stopped, again.deadLetters.length, again.deadLetters[0].attempts], [true, 1, 1]);
      broken.on = false;
      const resumed = await store.retryProjection("trails");
      same([resumed.stopped, resumed.deadLetters, resumed.lag], [false, [], 0]);
      equal(await trail("o-1"), "OrderCreated;OrderPaid;OrderShipped");

      // Skipped past: the event is never applied, the projection goes on.
      broken.on = true;
      await store.execute("Order", "o-2", create);
      const failed = await store.execute("Order", "o-2", pay);
      await store.execute("Order", "o-2", ship);
      const skipped = await store.skipDeadLetter("trails", failed.events[0].id);
      same([skipped.stopped, skipped.lag, skipped.deadLetters.map((l) => [l.eventId, l.skipped])],
        [false, 0, [[failed.events[0].id, true]]]);
      equal(await trail("o-2"), "OrderCreated;OrderShipped");

      // Retrying after a skip rebuilds the read model, so the payment lands in its place.
      broken.on = false;
      const rebuilt = await store.retryProjection("trails");
      same([rebuilt.stopped, rebuilt.deadLetters, rebuilt.lag], [false, [], 0]);
      equal(await trail("o-2"), "OrderCreated;OrderPaid;OrderShipped");
      equal(await trail("o-1"), "OrderCreated;OrderPaid;OrderShipped");
      await store.close();
    },
  },
];
