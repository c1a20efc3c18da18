// Features meeting sync in headless Chromium on IndexedDB, two devices (each its own browser
// context and database) through the real fieldstream-server: a snapshot of pending events that
// sync replaced, idempotency keys of commands decided again or rejected, and the server's
// limits (a command over them refused before anything is written; one stored before the
// device learnt them comes back `too_large`, and one outside the token's streams `forbidden`,
// while the queue goes on), and a forced sync while every request hangs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, launchChromium, signToken, startServer } from "./harness.mjs";

let browser;
let server;
before(async () => {
  browser = await launchChromium();
  server = await startServer({ args: ["--max-events-per-append", "5"] });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A device: a context of its own with `window.store` syncing to `origin` (by hand: a long poll). */
async function device(name, { origin = server.origin, token, offline = false, timeoutMs } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async () => {
    window.tab = await import("/tests/api/tab.mjs");
  });
  await context.setOffline(offline);
  await page.evaluate(async ({ name, url, token, timeoutMs }) => {
    const { open, DomainError } = window.fieldstream;
    const { tabAggregate, tabsProjection, foldTab } = window.tab;
    window.foldTab = foldTab;
    window.store = await open({
      name,
      aggregates: { Tab: tabAggregate(DomainError) },
      projections: { tabs: tabsProjection },
      sync: { url, pollMs: 600_000, live: false, ...(token ? { token } : {}), ...(timeoutMs ? { timeoutMs } : {}) },
    });
    window.run = (id, command, options) => window.store.execute("Tab", id, command, options);
    window.outcome = (promise) => promise.then(
      (result) => ({ ok: result }),
      (error) => ({ error: { name: error.name, code: error.code, message: error.message } }),
    );
  }, { name, url: origin, token, timeoutMs });
  return { context, page, eval: (fn, arg) => page.evaluate(fn, arg) };
}

/** Brings `dev` back online and waits until a round it ran while offline has ended, so a forced
 * `sync()` does not join that round's failure. */
async function online(dev) {
  await dev.context.setOffline(false);
  await eventually(dev.page, () => navigator.onLine && !window.store.status().syncing);
}

/** `load` equals the fold of `history`; answers the state. */
async function consistent(dev, id) {
  const { loaded, folded } = await dev.eval(async (id) => ({
    loaded: (await window.store.load("Tab", id)).state,
    folded: window.foldTab(await window.store.history("Tab", id)),
  }), id);
  assert.deepEqual(loaded, folded, `load of Tab-${id} equals the fold of its log`);
  return loaded;
}

test("a snapshot of pending events that sync replaced is never used: load equals the log", async () => {
  const a = await device("snap-a");
  const b = await device("snap-b");
  await a.eval(() => window.run("1", { type: "Open" }));
  await a.eval(() => window.store.sync());
  await b.eval(() => window.store.sync());
  await a.context.setOffline(true);
  await a.eval(() => window.run("1", { type: "Add", count: 1, price: 7 }));
  await b.eval(() => window.run("1", { type: "Add", count: 1, price: 100 }));
  await b.eval(() => window.store.sync());
  await online(a);
  await a.eval(() => window.store.sync());
  const state = await consistent(a, "1");
  assert.deepEqual([state.items, state.total], [2, 107]);
  const closed = await a.eval(() => window.outcome(window.run("1", { type: "Close", total: 107 })));
  assert.ok(closed.ok, JSON.stringify(closed));
  await a.eval(() => window.store.sync());
  assert.deepEqual(await a.eval(() => window.store.rejected()), []);
  const onServer = (await server.events()).filter((e) => e.stream === "Tab-1").map((e) => e.type);
  assert.deepEqual(onServer, ["TabOpened", "ItemAdded", "ItemAdded", "TabClosed"]);
  await a.context.close();
  await b.context.close();
});

test("an idempotency key follows its command: rebased events, or the same refusal once rejected", async () => {
  const a = await device("keys-a");
  const b = await device("keys-b");
  await a.eval(() => window.run("2", { type: "Open" }));
  await a.eval(() => window.store.sync());
  await b.eval(() => window.store.sync());
  await a.context.setOffline(true);
  const first = await a.eval(() => window.run("2", { type: "Add", count: 2, price: 5 }, { idempotencyKey: "add" }));
  await a.eval(() => window.run("2", { type: "Close", total: 10 }, { idempotencyKey: "close" }));
  await b.eval(() => window.run("2", { type: "Add", count: 1, price: 1 }));
  await b.eval(() => window.store.sync());
  await online(a);
  await a.eval(() => window.store.sync());

  const repeat = await a.eval(() => window.run("2", { type: "Add", count: 2, price: 5 }, { idempotencyKey: "add" }));
  const history = await a.eval(() => window.store.history("Tab", "2"));
  assert.equal(repeat.deduplicated, true);
  assert.equal(repeat.commandId, first.commandId);
  assert.deepEqual(repeat.events.map((e) => [e.id, e.version]), history.slice(2, 4).map((e) => [e.id, e.version]),
    "the repeat answers with the command's rebased events");
  const rejected = await a.eval(() => window.store.rejected());
  assert.deepEqual(rejected.map((r) => r.reason.code), ["total_mismatch"]);
  const again = await a.eval(() => window.outcome(window.run("2", { type: "Close", total: 10 }, { idempotencyKey: "close" })));
  assert.deepEqual([again.error?.name, again.error?.code], ["DomainError", "total_mismatch"]);
  assert.equal((await consistent(a, "2")).total, 11);
  await a.context.close();
  await b.context.close();
});

test("the server's limits: refused before anything is written once known; too_large and forbidden land in the inbox and the queue goes on", async () => {
  const secret = "a secret of the limits test, long enough for HS256";
  const secured = await startServer({ jwtSecret: secret, args: ["--max-events-per-append", "5"] });
  try {
    const token = await signToken(secret, { streams: ["Tab-3", "Tab-next"] });
    // Offline before its first sync, the device knows only the defaults: six items are stored.
    const a = await device("limits-a", { origin: secured.origin, token, offline: true });
    await a.eval(async () => {
      await window.run("3", { type: "Open" });
      await window.run("3", { type: "Add", count: 6, price: 2 });
      await window.run("other", { type: "Open" });
      await window.run("next", { type: "Open" });
    });
    assert.equal((await a.eval(() => window.store.get("tabs", "Tab-3"))).items, 6);
    await online(a);
    await a.eval(() => window.store.sync());
    const rejected = await a.eval(() => window.store.rejected());
    assert.deepEqual(rejected.map((r) => [r.id, r.reason.code]), [["3", "too_large"], ["other", "forbidden"]]);
    await eventually(a.page, async () => (await window.store.get("tabs", "Tab-3"))?.items === 0);
    assert.equal(await a.eval(() => window.store.get("tabs", "Tab-other")), null, "its effect left the read model");
    const onServer = (await secured.events(await signToken(secret))).map((e) => e.stream).sort();
    assert.deepEqual(onServer, ["Tab-3", "Tab-next"], "the queue went on");
    assert.equal(await a.eval(() => window.store.status().pending), 0);

    // Now the device knows the server's limits.
    const over = await a.eval(() => window.outcome(window.run("3", { type: "Add", count: 6, price: 2 })));
    assert.equal(over.error?.name, "ValidationError");
    assert.match(over.error.message, /maxEventsPerAppend/);
    const history = await a.eval(() => window.store.history("Tab", "3"));
    assert.equal(history.length, 1, "nothing written");
    assert.equal(await a.eval(() => window.store.status().pending), 0);
    const near = await a.eval(() => window.outcome(window.run("3", { type: "Add", count: 5, price: 2 })));
    assert.ok(near.ok, JSON.stringify(near));
    await a.context.close();
  } finally {
    await secured.close();
  }
});

test("a forced sync rejects with a NetworkError in bounded time while every request hangs; the driver delivers later", async () => {
  const timeoutMs = 1_000;
  const a = await device("hang-a", { timeoutMs });
  await a.eval(() => window.store.sync());
  // Requests to the server are never answered, as behind a dead network the browser does not notice.
  await a.page.route("**/v1/**", () => {});
  const created = await a.eval(() => window.run("h", { type: "Open" }));
  const forced = await a.eval(async () => {
    const started = performance.now();
    const outcome = await window.outcome(window.store.sync());
    return { ...outcome, ms: performance.now() - started, status: window.store.status() };
  });
  const bound = 4 * timeoutMs + 2_000 + 5_000;
  assert.equal(forced.error?.name, "NetworkError", JSON.stringify(forced));
  assert.ok(forced.ms < bound, `settled in ${forced.ms} ms, within ${bound}`);
  assert.deepEqual([forced.status.online, forced.status.pending], [false, 1]);
  await a.page.unroute("**/v1/**");
  await eventually(a.page, () => window.store.status().pending === 0 && window.store.status().online, undefined, 60_000);
  const onServer = (await server.events()).filter((e) => e.stream === "Tab-h");
  assert.deepEqual(onServer.map((e) => e.id), created.events.map((e) => e.id), "the same event, once");
  await a.context.close();
});
