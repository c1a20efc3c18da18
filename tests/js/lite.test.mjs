// The browser's default module, pkg/lite/ (built without the cargo features `memory`, `sync`,
// `personal` and `sql`), loaded in Node.js through the package's own API code: it refuses every option
// that needs one of them with a ValidationError naming it. And the browser entry's choice of
// module (js/load/needs.js). Chromium runs stores on it: tests/browser/modules.test.mjs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as bindings from "../../pkg/lite/fieldstream.js";
import { open, useModules } from "../../js/api.js";
import { DomainError, ValidationError } from "../../js/errors.js";
import { bind } from "../../js/load/bind.js";
import { needsFull } from "../../js/load/needs.js";
import { items, orderAggregate } from "../api/order.mjs";

bindings.initSync({ module: readFileSync(new URL("../../pkg/lite/fieldstream_bg.wasm", import.meta.url)) });
const lite = { WasmStore: bind(bindings) };
useModules(async () => lite);

const naming = (option) => (error) => {
  assert.ok(error instanceof ValidationError, `a ValidationError, not ${error}`);
  assert.ok(error.message.includes(`${option} needs a fieldstream module built with cargo feature`), error.message);
  return true;
};

test("the lite module refuses storage \"memory\", asked for or the default without IndexedDB, by name", async () => {
  const aggregates = { Order: orderAggregate(DomainError) };
  await assert.rejects(open({ storage: "memory", aggregates }), naming('options.storage "memory"'));
  await assert.rejects(open({ aggregates }), naming('options.storage "memory"'));
});

test("the lite module refuses sync, remote and Durable Object storage, a secret and personal data by name", async () => {
  // Node.js has no IndexedDB: the options are refused as they are read, before any store opens.
  const storage = "indexeddb";
  await assert.rejects(open({ storage, sync: { url: "http://127.0.0.1:9" } }), naming("options.sync"));
  await assert.rejects(open({ storage: "remote", sync: { url: "http://127.0.0.1:9" } }), naming('options.storage "remote"'));
  const sql = { sql: { exec() {} }, transactionSync() {} };
  await assert.rejects(open({ storage: "durable-object", sql }), naming('options.storage "durable-object"'));
  await assert.rejects(open({ storage, sql }), naming("options.sql"));
  const personalData = { OrderCreated: { subject: "customerId", fields: ["items"] } };
  await assert.rejects(
    open({ storage, aggregates: { Order: { ...orderAggregate(DomainError), personalData } } }),
    naming("aggregates.Order.personalData"),
  );
  // What the API makes of `secret` (in a browser, before the module opens the store): a
  // key-derivation function, which the module refuses under the option's public name.
  await assert.rejects(
    lite.WasmStore.open({ storage, deriveAtRestKey: async () => new Uint8Array(32) }),
    naming("options.secret"),
  );
});

test("the browser entry loads the full module only for options that need it", () => {
  assert.equal(needsFull({ name: "app", storage: "indexeddb", aggregates: { Order: orderAggregate(DomainError) } }), false);
  assert.equal(needsFull({ storage: "memory" }), true);
  // Node.js has no IndexedDB, so here the default storage is memory (Chromium: tests/browser/modules.test.mjs).
  assert.equal(needsFull(undefined), true);
  assert.equal(needsFull({ name: "app" }), true);
  assert.equal(needsFull({ sync: { url: "https://example.test" } }), true);
  assert.equal(needsFull({ storage: "remote" }), true);
  assert.equal(needsFull({ storage: "durable-object", sql: {} }), true);
  assert.equal(needsFull({ storage: "indexeddb", sql: {} }), true);
  assert.equal(needsFull({ secret: "s" }), true);
  assert.equal(needsFull({ aggregates: { Order: { ...orderAggregate(DomainError), personalData: {} } } }), true);
  assert.equal(needsFull({ storage: "indexeddb", aggregates: null }), false);
});
