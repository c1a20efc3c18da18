// Storage full: with a tiny origin quota (DevTools protocol), a command fails with
// `storage_full`, nothing of it is kept, everything written before stays readable, sync still
// pushes every command to the server, and the outbox drains once there is room. The store
// syncs only when asked (`auto: false`), so each step sees one sync of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPage, serverAndBrowser } from "./harness.mjs";

const env = serverAndBrowser();

test("a full disk fails the command with storage_full, keeps earlier data, and still syncs", async () => {
  const { context, page } = await openPage(env.browser, env.server.origin, "/tests/browser/package.html");
  // Chromium applies a quota override to databases opened after it.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.server.origin, quotaSize: 1024 * 1024 });
  const before = await page.evaluate(async (origin) => {
    window.openQuota = () => window.fieldstream.openOrders({ name: "quota", sync: { url: origin, auto: false } });
    const store = await window.openQuota();
    const items = [{ productId: "p", quantity: 1, unitPrice: 100 }];
    for (let n = 0; n < 5; n++) {
      await store.execute("Order", `small-${n}`, { type: "CreateOrder", customerId: "c", items });
    }
    await store.execute("Order", "small-0", { type: "PayOrder", paymentMethod: "card", amount: 100 });
    window.store = store;
    return { outbox: store.status().pending };
  }, env.server.origin);
  assert.equal(before.outbox, 6);

  const outcome = await page.evaluate(async () => {
    const store = window.store;
    const bulky = Array.from({ length: 250 }, (_, n) => ({
      productId: `product-${n}-${"x".repeat(200)}`, quantity: 1, unitPrice: 1,
    }));
    let written = 0;
    for (let n = 0; n < 1000; n++) {
      try {
        await store.execute("Order", `big-${n}`, { type: "CreateOrder", customerId: "c", items: bulky });
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
    await window.store.close();
    const reopened = await window.openQuota();
    const small = await reopened.load("Order", "small-0");
    const failed = await reopened.history("Order", `big-${failedAt}`);
    window.store = reopened;
    return { small, failedEvents: failed.length, outbox: reopened.status().pending };
  }, outcome.failedAt);
  assert.deepEqual([after.small.version, after.small.state.status], [2, "Paid"]);
  assert.equal(after.failedEvents, 0, "nothing of the failed command was kept");
  assert.equal(after.outbox, 6 + outcome.written, "the outbox holds every command before the failure");

  // Pushing needs no local space: every command reaches the server. Marking them confirmed here
  // rewrites their events, which a full disk refuses as a whole, so they stay in the outbox
  // (and are recognised, not doubled, when sent again) until space frees up.
  // A batch small enough for the room left may be confirmed; whatever left the outbox must be:
  // each command here wrote one event, so the events still unconfirmed are exactly the
  // commands still waiting.
  const full = await page.evaluate(async (written) => {
    const failure = await window.store.sync().then(() => null, (error) => error.code);
    const ids = [...Array.from({ length: 5 }, (_, n) => `small-${n}`), ...Array.from({ length: written }, (_, n) => `big-${n}`)];
    let unconfirmed = 0;
    for (const id of ids) {
      const history = await window.store.history("Order", id);
      unconfirmed += history.filter((event) => !(event.position > 0)).length;
    }
    return { failure, outbox: window.store.status().pending, unconfirmed };
  }, outcome.written);
  assert.equal(full.failure, "storage_full");
  assert.equal(full.unconfirmed, full.outbox, "nothing left the outbox without being confirmed");
  assert.ok(full.outbox > 0, "commands whose confirmation did not fit are still waiting");
  const onServer = await env.server.events();
  assert.equal(onServer.length, 6 + outcome.written, "every command reached the server");
  assert.ok(!onServer.some((event) => event.stream === `Order-big-${outcome.failedAt}`));

  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.server.origin });
  const freed = await page.evaluate(async () => {
    await window.store.close();
    const store = await window.openQuota();
    const report = await store.sync();
    const history = await store.history("Order", "small-0");
    return { report, outbox: store.status().pending, confirmed: history.every((e) => e.position > 0) };
  });
  assert.equal(freed.outbox, 0, "the outbox drained once there was room");
  assert.equal(freed.confirmed, true);
  assert.equal((await env.server.events()).length, 6 + outcome.written, "resending doubled nothing");
  await context.close();
});
