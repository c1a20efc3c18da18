// The built npm package, imported by name in Node.js as a user would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "fieldstream";

const items = [{ productId: "p-1", quantity: 4, unitPrice: 125 }];

test("an order runs through the engine and its history reads back", async () => {
  const engine = await Engine.inMemory();
  const created = await engine.execute("Order", "o-1", { type: "CreateOrder", customerId: "c-1", items });
  assert.equal(created.version, 1);
  assert.equal(created.events[0].data.total, 500);
  await engine.execute("Order", "o-1", { type: "PayOrder", paymentMethod: "card", amount: 500 });
  const history = await engine.history("Order", "o-1");
  assert.deepEqual(history.map((e) => [e.version, e.type]), [[1, "OrderCreated"], [2, "OrderPaid"]]);
  assert.equal(history[0].metadata.clientId, engine.clientId);
  assert.deepEqual((await engine.stateAt("Order", "o-1", 1)).state.status, "Pending");
});

test("refusals and bad input reject with Error objects carrying name and code", async () => {
  const engine = await Engine.inMemory();
  await assert.rejects(
    engine.execute("Order", "o-1", { type: "ShipOrder", trackingNumber: "T" }),
    (error) => error instanceof Error && error.name === "DomainError" && error.code === "order_not_shippable",
  );
  await assert.rejects(
    engine.execute("Order", "o-1", "not an object"),
    (error) => error instanceof Error && error.name === "ValidationError" && error.code === "invalid_input",
  );
  await assert.rejects(
    engine.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", items }, { expectedVersion: -1 }),
    (error) => error.name === "ValidationError",
  );
  assert.deepEqual(await engine.history("Order", "o-1"), []);
});
