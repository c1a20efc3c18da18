// Storage full: with a tiny origin quota (DevTools protocol), a command fails with
// `storage_full`, nothing of it is kept, everything written before stays readable, sync still
// pushes every command to the server, and the outbox drains once there is room.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPage, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

test("a full disk fails the command with storage_full, keeps earlier data, and still syncs", async () => {
  const { context, page } = await openPage(env.browser, env.server.origin, "/tests/browser/engine.html");
  // Chromium applies a quota override to databases opened after it.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.server.origin, quotaSize: 1024 * 1024 });
  const before = await page.evaluate(async () => {
    const { Engine } = window.fieldstream;
    const engine = await Engine.openIndexedDb("quota");
    const items = [{ productId: "p", quantity: 1, unitPrice: 100 }];
    for (let n = 0; n < 5; n++) {
      await engine.execute("Order", `small-${n}`, { type: "CreateOrder", customerId: "c", items });
    }
    await engine.execute("Order", "small-0", { type: "PayOrder", paymentMethod: "card", amount: 100 });
    window.engine = engine;
    return { outbox: (await engine.outbox()).length };
  });
  assert.equal(before.outbox, 6);

  const outcome = await page.evaluate(async () => {
    const engine = window.engine;
    const bulky = Array.from({ length: 250 }, (_, n) => ({
      productId: `product-${n}-${"x".repeat(200)}`, quantity: 1, unitPrice: 1,
    }));
    let written = 0;
    for (let n = 0; n < 1000; n++) {
      try {
        await engine.execute("Order", `big-${n}`, { type: "CreateOrder", customerId: "c", items: bulky });
        written++;
      } catch (error) {
        return { written, failedAt: n, name: error.name, code: error.code, message: error.message };
      }
    }
    return { written, failedAt: null };
  });
  assert.notEqual(outcome.failedAt, null, "the quota was reached");
  assert.equal(outcome.name, "StorageError");
  assert.equal(outcome.code, "storage_full", outcome.message);

  const after = await page.evaluate(async (failedAt) => {
    const engine = window.engine;
    engine.close();
    const reopened = await window.fieldstream.Engine.openIndexedDb("quota");
    const small = await reopened.load("Order", "small-0");
    const failed = await reopened.history("Order", `big-${failedAt}`);
    const outbox = await reopened.outbox();
    window.engine = reopened;
    return { small, failedEvents: failed.length, outbox: outbox.length };
  }, outcome.failedAt);
  assert.deepEqual([after.small.version, after.small.state.status], [2, "Paid"]);
  assert.equal(after.failedEvents, 0, "nothing of the failed command was kept");
  assert.equal(after.outbox, 6 + outcome.written, "the outbox holds every command before the failure");

  // Pushing needs no local space: every command reaches the server. Marking them confirmed here
  // rewrites their events, which a full disk refuses as a whole, so they stay in the outbox
  // (and are recognised, not doubled, when sent again) until space frees up.
  // A batch small enough for the room left may be confirmed; whatever left the outbox must be.
  const full = await page.evaluate(async ({ origin, written }) => {
    window.engine.connect(origin);
    const failure = await window.engine.sync().then(() => null, (error) => error.code);
    const waiting = new Set((await window.engine.outbox()).map((entry) => entry.aggregateId));
    const ids = [...Array.from({ length: 5 }, (_, n) => `small-${n}`), ...Array.from({ length: written }, (_, n) => `big-${n}`)];
    const leftUnconfirmed = [];
    for (const id of ids.filter((id) => !waiting.has(id))) {
      const history = await window.engine.history("Order", id);
      if (!history.every((event) => event.position > 0)) leftUnconfirmed.push(id);
    }
    return { failure, outbox: waiting.size, leftUnconfirmed };
  }, { origin: env.server.origin, written: outcome.written });
  assert.equal(full.failure, "storage_full");
  assert.deepEqual(full.leftUnconfirmed, [], "nothing left the outbox without being confirmed");
  assert.ok(full.outbox > 0, "commands whose confirmation did not fit are still waiting");
  const onServer = await env.server.events();
  assert.equal(onServer.length, 6 + outcome.written, "every command reached the server");
  assert.ok(!onServer.some((event) => event.stream === `Order-big-${outcome.failedAt}`));

  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.server.origin });
  const freed = await page.evaluate(async (origin) => {
    window.engine.close();
    const engine = await window.fieldstream.Engine.openIndexedDb("quota");
    engine.connect(origin);
    const report = await engine.sync();
    const history = await engine.history("Order", "small-0");
    return { report, outbox: (await engine.outbox()).length, confirmed: history.every((e) => e.position > 0) };
  }, env.server.origin);
  assert.equal(freed.outbox, 0, "the outbox drained once there was room");
  assert.equal(freed.confirmed, true);
  assert.equal((await env.server.events()).length, 6 + outcome.written, "resending doubled nothing");
  await context.close();
});
