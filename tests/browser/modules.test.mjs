// The browser entry's two WebAssembly modules, in Chromium: a store on IndexedDB runs on the lite
// module (pkg/lite/) and the page never fetches the full one; a store in memory, which only the
// full module (pkg/) holds, loads it on demand and runs there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPage, siteAndBrowser } from "./harness.mjs";

const env = siteAndBrowser();

/** The .wasm files the page has fetched, by path. */
const fetchedModules = (page) => page.evaluate(() => performance.getEntriesByType("resource")
  .map((entry) => new URL(entry.name).pathname).filter((path) => path.endsWith(".wasm")).sort());

/** Opens a store with `options` and the Order aggregate, runs a command and reads it back. */
const runOrder = (page, options) => page.evaluate(async (options) => {
  const { open, DomainError } = window.fieldstream;
  const store = await open({ ...options, aggregates: { Order: window.order.orderAggregate(DomainError) } });
  const { version } = await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c-1", items: window.order.items() });
  const { state } = await store.load("Order", "o-1");
  await store.close();
  return { version, status: state.status };
}, options);

test("IndexedDB stores run on the lite module; a memory store loads the full one on demand", async () => {
  const { context, page, errors } = await openPage(env.browser, env.site.origin, "/tests/browser/entry.html");
  assert.deepEqual(await fetchedModules(page), [], "importing the entry fetches no module");

  assert.deepEqual(await runOrder(page, { name: "modules-default" }), { version: 1, status: "Pending" });
  assert.deepEqual(await runOrder(page, { name: "modules-named", storage: "indexeddb" }), { version: 1, status: "Pending" });
  assert.deepEqual(await fetchedModules(page), ["/pkg/lite/fieldstream_bg.wasm"]);

  assert.deepEqual(await runOrder(page, { storage: "memory" }), { version: 1, status: "Pending" });
  assert.deepEqual(await fetchedModules(page), ["/pkg/fieldstream_bg.wasm", "/pkg/lite/fieldstream_bg.wasm"]);
  assert.deepEqual(errors, []);
  await context.close();
});
