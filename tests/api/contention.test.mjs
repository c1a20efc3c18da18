// Contention at the edge: 50 concurrent bookings of one show from two workerd instances
// (miniflare, one workerd process each), storage "remote", against a real fieldstream-server
// (debug binary, --dev) with its default rate limit: 100 requests a second, which the race
// exceeds, so requests wait out 429s (`Retry-After: 1`), and those waits must not spend the
// commands' conflict budget. Every store is opened per request, as edge workers do, so all 50
// commands race on one stream: each must end booked or refused by the domain (`sold_out`),
// none in a ConflictError, and the server's stream must hold each booking once, versions 1, 2…
// without a gap. With `conflictRetry: { maxMs: 0 }` the same race does end in ConflictErrors,
// which shows that the bookings really collided. The last tests run the race from Node.js: two
// remote stores, as two server processes would hold, and one memory store.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startServer } from "../browser/harness.mjs";
import { workerdEntry, workerdModules } from "./workerd.mjs";
import * as lib from "fieldstream";
import { checkShowStream, showAggregate } from "./show.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

const worker = `
import { open, DomainError } from ${JSON.stringify(workerdEntry(here))};
import { showAggregate } from "./show.mjs";

// The 429 answers this instance's requests met, counted as fieldstream's transport sees them.
let rateLimited = 0;
const platformFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const response = await platformFetch.apply(globalThis, args);
  if (response.status === 429) rateLimited += 1;
  return response;
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/rate-limited") return Response.json({ rateLimited });
    const ask = (name) => url.searchParams.get(name);
    let conflicts = 0;
    const onConflict = () => {
      conflicts += 1;
      return "rebase";
    };
    const store = await open({
      storage: "remote",
      sync: { url: env.FIELDSTREAM_URL },
      aggregates: { Show: showAggregate(DomainError, { capacity: Number(ask("capacity")), onConflict }) },
      ...(ask("maxMs") === null ? {} : { conflictRetry: { maxMs: Number(ask("maxMs")) } }),
    });
    try {
      const command = { type: "BookSeat", seat: ask("seat"), by: env.INSTANCE };
      const result = await store.execute("Show", ask("show"), command);
      return Response.json({ outcome: "booked", seat: command.seat, version: result.version, conflicts });
    } catch (error) {
      if (error instanceof DomainError) return Response.json({ outcome: "refused", code: error.code, conflicts });
      return Response.json({ outcome: "failed", name: error?.name, code: error?.code, message: String(error?.message ?? error), conflicts });
    } finally {
      await store.close();
    }
  },
};
`;

let server;
let instances = [];

before(async () => {
  // The server's default rate limit per token subject (100 requests a second, as many as a
  // burst; every request of --dev has the same subject) stays on.
  server = await startServer();
  const { Miniflare } = await import("miniflare");
  instances = ["a", "b"].map((name) => new Miniflare(workerdModules(here, worker, {
    bindings: { FIELDSTREAM_URL: server.origin, INSTANCE: name },
  })));
  await Promise.all(instances.map((mf) => mf.ready));
});

after(async () => {
  await Promise.all(instances.map((mf) => mf.dispose()));
  await server?.close();
});

/** Fires `commands` bookings of distinct seats of `show` at once, alternating instances. */
async function race(show, { commands, capacity, maxMs }) {
  return Promise.all(Array.from({ length: commands }, async (_, n) => {
    const query = new URLSearchParams({ show, seat: `s${n}`, capacity: String(capacity) });
    if (maxMs !== undefined) query.set("maxMs", String(maxMs));
    const response = await instances[n % 2].dispatchFetch(`http://worker/book?${query}`, { method: "POST" });
    assert.equal(response.status, 200);
    return response.json();
  }));
}

/** The events of `stream` on the server, read back in pages. */
async function serverStream(stream) {
  const events = [];
  for (let from = 1; ;) {
    const answer = await fetch(`${server.origin}/v1/streams/${stream}?from=${from}&limit=1000`);
    assert.equal(answer.status, 200, await answer.clone().text());
    const page = await answer.json();
    events.push(...page.events);
    if (page.events.length === 0 || events.at(-1).version >= page.currentVersion) return events;
    from = events.at(-1).version + 1;
  }
}

test("50 concurrent bookings from two workerd instances: each booked or sold out, never a ConflictError", async (t) => {
  const capacity = 20;
  // A budget of 2 s, two `Retry-After`s: were the 429 waits counted, many bookings would run
  // out of it (with the default 5 s, some do in most runs); the backoffs and attempts of the
  // slowest take less than 1 s here.
  const answers = await race("gala", { commands: 50, capacity, maxMs: 2_000 });
  assert.deepEqual(answers.filter((a) => a.outcome === "failed"), [], "no command failed");
  const booked = answers.filter((a) => a.outcome === "booked");
  const refused = answers.filter((a) => a.outcome === "refused");
  assert.equal(booked.length, capacity);
  assert.equal(refused.length, 50 - capacity);
  assert.deepEqual([...new Set(refused.map((a) => a.code))], ["sold_out"]);
  assert.deepEqual(booked.map((a) => a.version).sort((x, y) => x - y), Array.from({ length: capacity }, (_, n) => n + 1));
  const conflicts = answers.reduce((sum, a) => sum + a.conflicts, 0);
  assert.ok(conflicts > 0, "the bookings collided and were decided again");
  const counts = await Promise.all(instances.map(async (mf) => (await (await mf.dispatchFetch("http://worker/rate-limited")).json()).rateLimited));
  assert.ok(counts[0] + counts[1] > 0, "the race met the server's rate limit");
  t.diagnostic(`${conflicts} conflicts decided again, ${counts[0] + counts[1]} answers 429`);

  const events = await serverStream("Show-gala");
  assert.equal(events.length, capacity);
  const seats = checkShowStream(events);
  assert.deepEqual(seats.toSorted(), booked.map((a) => a.seat).toSorted(), "the server holds exactly the bookings answered");
});

test("the same race with conflictRetry { maxMs: 0 } ends in ConflictErrors, and still never overbooks", async () => {
  const capacity = 20;
  const answers = await race("matinee", { commands: 50, capacity, maxMs: 0 });
  const failed = answers.filter((a) => a.outcome === "failed");
  assert.ok(failed.length > 0, "some bookings lost the race and gave up");
  assert.deepEqual([...new Set(failed.map((a) => `${a.name} ${a.code}`))], ["ConflictError conflict"]);
  const booked = answers.filter((a) => a.outcome === "booked");
  const events = await serverStream("Show-matinee");
  assert.ok(events.length <= capacity);
  assert.deepEqual(checkShowStream(events).toSorted(), booked.map((a) => a.seat).toSorted());
});

test("50 concurrent bookings from two Node.js remote stores: each booked or sold out, never a ConflictError", async () => {
  const capacity = 20;
  let conflicts = 0;
  const onConflict = () => {
    conflicts += 1;
    return "rebase";
  };
  const stores = await Promise.all([0, 1].map(() => lib.open({
    storage: "remote",
    sync: { url: server.origin },
    aggregates: { Show: showAggregate(lib.DomainError, { capacity, onConflict }) },
  })));
  const answers = await Promise.all(Array.from({ length: 50 }, async (_, n) => {
    const seat = `s${n}`;
    try {
      const result = await stores[n % 2].execute("Show", "premiere", { type: "BookSeat", seat, by: "node" });
      return { outcome: "booked", seat, version: result.version };
    } catch (error) {
      if (error instanceof lib.DomainError) return { outcome: "refused", code: error.code };
      return { outcome: "failed", name: error?.name, code: error?.code, message: String(error?.message ?? error) };
    }
  }));
  await Promise.all(stores.map((store) => store.close()));
  assert.deepEqual(answers.filter((a) => a.outcome === "failed"), [], "no command failed");
  const booked = answers.filter((a) => a.outcome === "booked");
  assert.equal(booked.length, capacity);
  assert.deepEqual([...new Set(answers.filter((a) => a.outcome === "refused").map((a) => a.code))], ["sold_out"]);
  assert.ok(conflicts > 0, "the bookings collided and were decided again");
  const events = await serverStream("Show-premiere");
  assert.deepEqual(checkShowStream(events).toSorted(), booked.map((a) => a.seat).toSorted());
});

test("50 concurrent bookings on one Node.js memory store: each booked or sold out", async () => {
  const capacity = 20;
  const store = await lib.open({ storage: "memory", aggregates: { Show: showAggregate(lib.DomainError, { capacity }) } });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, n) =>
    store.execute("Show", "encore", { type: "BookSeat", seat: `s${n}`, by: "node" }, n % 2 ? {} : { idempotencyKey: `encore-${n}` })
      .then((result) => ({ outcome: "booked", seat: `s${n}`, version: result.version }))
      .catch((error) => (error instanceof lib.DomainError ? { outcome: "refused", code: error.code } : { outcome: "failed", message: String(error) }))));
  assert.deepEqual(answers.filter((a) => a.outcome === "failed"), []);
  const booked = answers.filter((a) => a.outcome === "booked");
  assert.equal(booked.length, capacity);
  assert.deepEqual([...new Set(answers.filter((a) => a.outcome === "refused").map((a) => a.code))], ["sold_out"]);
  const history = await store.history("Show", "encore");
  assert.deepEqual(checkShowStream(history).toSorted(), booked.map((a) => a.seat).toSorted());
  await store.close();
});
