// Runs the architecture guide's Order example through fieldstream (compiled to WebAssembly) in
// Node.js, with the Order aggregate written in JavaScript, and prints the order's history and
// its state at every version.
//
//   node scripts/build.mjs   (builds the package first)
//   node examples/order-history.mjs
import { open } from "fieldstream";
import { orderAggregate } from "./edge-worker/src/order.mjs";

const store = await open({ aggregates: { Order: orderAggregate() } });
const items = [
  { productId: "espresso-beans-1kg", quantity: 2, unitPrice: 2490 },
  { productId: "milk-frother", quantity: 1, unitPrice: 3900 },
];
const correlationId = "visit-2026-11-27-acme";
const run = (command, extra = {}) =>
  store.execute("Order", "1001", command, { correlationId, ...extra });

await run({ type: "CreateOrder", customerId: "acme-coffee", items }, { idempotencyKey: "create-1001" });
const retried = await run(
  { type: "CreateOrder", customerId: "acme-coffee", items },
  { idempotencyKey: "create-1001" },
);
const { state } = await store.load("Order", "1001");
await run({ type: "PayOrder", paymentMethod: "card", amount: state.total });
try {
  await run({ type: "PayOrder", paymentMethod: "card", amount: state.total });
} catch (error) {
  console.log(`A second payment is refused: ${error.name} ${error.code}: ${error.message}\n`);
}
await run({ type: "ShipOrder", trackingNumber: "DHL-00340434161094042557" });

const money = (cents) => `€${(cents / 100).toFixed(2)}`;
const history = await store.history("Order", "1001");
console.log(`History of ${history[0].stream} (client ${store.clientId}):`);
for (const event of history) {
  const at = new Date(event.metadata.occurredAt).toISOString();
  const { state: after } = await store.stateAt("Order", "1001", event.version);
  console.log(
    `  v${event.version}  ${at}  ${event.type.padEnd(13)} → status ${after.status.padEnd(8)}` +
      ` total ${money(after.total)}  correlation ${event.metadata.correlationId}`,
  );
}
console.log(`\nThe retried create was deduplicated: ${retried.deduplicated}`);
const final = await store.load("Order", "1001");
console.log(`Current state at version ${final.version}:`, JSON.stringify(final.state));
