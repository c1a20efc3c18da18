// Opens a store in IndexedDB, creates and pays an order, and shows the order and the read
// model's query result for its customer.
import { open } from "fieldstream";
import { Order, orders } from "./order.js";

async function main() {
  const store = await open({ name: "vite-app", aggregates: { Order }, projections: { orders } });
  const items = [{ productId: "p-1", quantity: 2, unitPrice: 2490 }];
  await store.execute("Order", "1001", { type: "CreateOrder", customerId: "c-7", items }, { idempotencyKey: "create-1001" });
  await store.execute("Order", "1001", { type: "PayOrder", amount: 4980 }, { idempotencyKey: "pay-1001" });
  const { state, version } = await store.load("Order", "1001");
  document.querySelector("#order").textContent = `Order 1001: ${state.status}, ${state.total} (version ${version})`;
  const page = await store.query("orders", { index: "customerId", equals: "c-7" });
  document.querySelector("#orders").replaceChildren(...page.docs.map(({ key, doc }) => {
    const item = document.createElement("li");
    item.textContent = `${key}: ${doc.status}, ${doc.total}`;
    return item;
  }));
  document.body.dataset.state = "done";
}

main().catch((error) => {
  document.body.dataset.state = `failed: ${error?.stack ?? error}`;
});
