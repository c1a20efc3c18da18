// Errors carry the failure under them as the standard `cause`, in Chromium: a full disk's
// StorageError carries IndexedDB's QuotaExceededError (a DOMException; the origin's quota made
// tiny through the DevTools protocol), and a sync with no server listening rejects with a
// NetworkError whose cause is the TypeError of the failed fetch.
import assert from "node:assert/strict";
import { test } from "node:test";
import { freePort } from "../../scripts/server-process.mjs";
import { openPage, siteAndBrowser } from "./harness.mjs";

const env = siteAndBrowser();

test("a full disk's StorageError carries the QuotaExceededError as its cause", async () => {
  const { context, page } = await openPage(env.browser, env.site.origin, "/tests/browser/package.html");
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.site.origin, quotaSize: 512 * 1024 });
  const outcome = await page.evaluate(async () => {
    const { openOrders, StorageError } = window.fieldstream;
    const store = await openOrders({ name: "cause-quota" });
    const bulky = Array.from({ length: 250 }, (_, n) => ({
      productId: `product-${n}-${"x".repeat(200)}`, quantity: 1, unitPrice: 1,
    }));
    for (let n = 0; n < 1000; n++) {
      try {
        await store.execute("Order", `big-${n}`, { type: "CreateOrder", customerId: "c", items: bulky });
      } catch (error) {
        return {
          isStorageError: error instanceof StorageError,
          code: error.code,
          message: error.message,
          causeIsDomException: error.cause instanceof DOMException,
          causeName: error.cause?.name,
          causeEnumerable: Object.keys(error).includes("cause"),
        };
      }
    }
    return null;
  });
  assert.ok(outcome, "the quota was reached");
  assert.equal(outcome.isStorageError, true, outcome.message);
  assert.equal(outcome.code, "storage_full", outcome.message);
  assert.equal(outcome.causeIsDomException, true, "the cause is IndexedDB's own DOMException");
  assert.equal(outcome.causeName, "QuotaExceededError");
  assert.equal(outcome.causeEnumerable, false);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.site.origin });
  await context.close();
});

test("a sync with no server listening rejects with a NetworkError caused by fetch's TypeError", async () => {
  const { context, page } = await openPage(env.browser, env.site.origin, "/tests/browser/package.html");
  const port = await freePort();
  const outcome = await page.evaluate(async (url) => {
    const lib = window.fieldstream;
    const { orderAggregate, items } = await import("/tests/api/order.mjs");
    const store = await lib.open({
      storage: "indexeddb",
      name: "cause-network",
      aggregates: { Order: orderAggregate(lib.DomainError) },
      sync: { url, timeoutMs: 2_000, live: false },
    });
    await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items(1, 10) });
    const error = await store.sync().then(() => null, (error) => error);
    await store.close();
    return error && {
      isNetworkError: error instanceof lib.NetworkError,
      message: error.message,
      causeIsTypeError: error.cause instanceof TypeError,
      causeMessage: error.cause?.message,
    };
  }, `http://127.0.0.1:${port}`);
  assert.ok(outcome, "sync() rejected");
  assert.equal(outcome.isNetworkError, true, outcome.message);
  assert.equal(outcome.causeIsTypeError, true, `the cause is fetch's TypeError: ${outcome.causeMessage}`);
  assert.equal(outcome.causeMessage, "Failed to fetch");
  await context.close();
});
