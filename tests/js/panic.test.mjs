// A Rust panic stops the WebAssembly module where it stands. The calls in flight reject with a
// `FieldstreamError` of code "internal" instead of never settling, and so does every later call.
// (Its own test file: node --test runs each file in a process of its own, and the module stays
// stopped for the rest of this one.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError, FieldstreamError, open } from "fieldstream";
import { panicForTests } from "../../pkg/fieldstream.js";
import { items, orderAggregate } from "../api/order.mjs";

const internal = (error) =>
  error instanceof FieldstreamError && error.code === "internal" && /boom in a test/.test(error.message);

test("a panic rejects the calls in flight and every later call with code internal", async () => {
  const store = await open({ aggregates: { Order: orderAggregate(DomainError) } });
  await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items: items() });
  const inFlight = store.execute("Order", "o-2", { type: "CreateOrder", customerId: "c", items: items() });
  const reading = store.load("Order", "o-1");
  assert.throws(() => panicForTests("boom in a test"), WebAssembly.RuntimeError);
  await assert.rejects(inFlight, internal);
  await assert.rejects(reading, internal);
  await assert.rejects(store.history("Order", "o-1"), internal);
  await assert.rejects(open({ aggregates: { Order: orderAggregate(DomainError) } }), internal);
  assert.throws(() => store.status(), internal);
  assert.throws(() => store.subscribe("orders", {}, () => {}), internal);
});
