// The field-sales demo's domain (www/domain.js) and its words (www/words.js, www/inbox.js) in
// Node.js, on a memory store of the built package: the Order rules, seeding twice, the
// sentences and retries a rep sees for rejected commands, and the line of a read model that
// lags or has stopped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError, open, REDACTED } from "fieldstream";
import { contactId, domain } from "../../www/domain.js";
import { retryPlan } from "../../www/inbox.js";
import { CUSTOMERS, PRODUCTS, seedCatalogue } from "../../www/seed.js";
import { readModelLine, rejectionReason } from "../../www/words.js";

const items = [{ productId: "p-gloves", quantity: 2, unitPrice: 1250 }];

test("an order is created, grows while pending, is paid its exact total, then shipped", async () => {
  const store = await open({ storage: "memory", ...domain });
  await store.execute("Order", "A1", { type: "CreateOrder", customerId: "c-alder", items });
  await store.execute("Order", "A1", { type: "AddItem", productId: "p-twine", quantity: 1, unitPrice: 450 });
  await assert.rejects(store.execute("Order", "A1", { type: "PayOrder", amount: 2500 }),
    (error) => error instanceof DomainError && error.code === "payment_amount_mismatch");
  await store.execute("Order", "A1", { type: "PayOrder", amount: 2950 });
  await assert.rejects(store.execute("Order", "A1", { type: "AddItem", productId: "p-twine", quantity: 1, unitPrice: 450 }),
    (error) => error.code === "order_not_editable");
  await assert.rejects(store.execute("Order", "A1", { type: "ShipOrder", trackingNumber: " " }),
    (error) => error.code === "invalid_tracking");
  await store.execute("Order", "A1", { type: "ShipOrder", trackingNumber: "TRK-1" });
  const { state, version } = await store.load("Order", "A1");
  assert.equal(version, 4);
  assert.deepEqual([state.status, state.total, state.paidAmount, state.trackingNumber], ["Shipped", 2950, 2950, "TRK-1"]);
  const doc = await store.get("orders", "A1");
  assert.deepEqual([doc.status, doc.total, doc.itemCount], ["Shipped", 2950, 3]);
  const byCustomer = await store.query("orders", { index: "customerId", equals: "c-alder" });
  assert.deepEqual(byCustomer.docs.map(({ key }) => key), ["A1"]);
  await store.close();
});

test("a delivery contact is personal data: readable until forgotten, then redacted on every read path", async () => {
  const store = await open({ storage: "memory", ...domain });
  const contact = { name: " Siobhán Kelly ", phone: "+353 91 555 0101" };
  await store.execute("Order", "C1", { type: "CreateOrder", customerId: "c-alder", contact, items });
  await store.execute("Order", "C2", { type: "CreateOrder", customerId: "c-birch", contact: { name: "Ada Byrne" }, items });
  await store.execute("Order", "C3", { type: "CreateOrder", customerId: "c-alder", items });
  const { state } = await store.load("Order", "C1");
  assert.deepEqual(state.contact, { id: contactId("c-alder", "Siobhán Kelly"), name: "Siobhán Kelly", phone: "+353 91 555 0101" });
  assert.equal(state.contact.id, "contact-c-alder-siobhan-kelly");
  assert.equal((await store.get("orders", "C1")).contactName, "Siobhán Kelly");
  assert.equal((await store.load("Order", "C3")).state.contact, null, "a contact is optional");
  await assert.rejects(store.execute("Order", "C4", { type: "CreateOrder", customerId: "c-alder", contact: { phone: "123456" }, items }),
    (error) => error instanceof DomainError && error.code === "invalid_order");
  await assert.rejects(store.execute("Order", "C4", { type: "CreateOrder", customerId: "c-alder", contact: { name: "X", phone: "call me" }, items }),
    (error) => error.code === "invalid_order");

  await store.forgetSubject(state.contact.id);
  const after = (await store.load("Order", "C1")).state;
  assert.deepEqual([after.contact.name, after.contact.phone, after.total], [REDACTED, REDACTED, 2500], "decisions keep the rest");
  assert.equal((await store.history("Order", "C1"))[0].data.contact.name, REDACTED);
  assert.equal((await store.get("orders", "C1")).contactName, REDACTED, "the read model was rewritten");
  assert.equal((await store.get("orders", "C2")).contactName, "Ada Byrne", "another contact stays");
  await store.execute("Order", "C1", { type: "PayOrder", amount: 2500 });
  await assert.rejects(store.execute("Order", "C5", { type: "CreateOrder", customerId: "c-alder", contact, items }),
    (error) => error.message.includes("forgotten"), "a forgotten contact is not written again");
  await store.close();
});

test("seeding twice registers each customer and product once", async () => {
  const store = await open({ storage: "memory", ...domain });
  assert.equal(await seedCatalogue(store), CUSTOMERS.length + PRODUCTS.length);
  assert.equal(await seedCatalogue(store), 0);
  const again = await store.execute("Customer", CUSTOMERS[0].id, { type: "RegisterCustomer", name: CUSTOMERS[0].name, city: CUSTOMERS[0].city });
  assert.equal(again.events.length, 0, "the same details again write nothing");
  await assert.rejects(store.execute("Customer", CUSTOMERS[0].id, { type: "RegisterCustomer", name: "Other", city: "Sligo" }),
    (error) => error.code === "customer_exists");
  const page = await store.query("products", { index: "name", range: [null, null] });
  assert.equal(page.docs.length, PRODUCTS.length);
  await store.close();
});

test("rejected commands read as a rep's sentences, with a retry only where it makes sense", () => {
  const shippedElsewhere = [{ type: "OrderShipped", data: { trackingNumber: "TRK-B" } }];
  const ship = { commandId: "c1", aggregate: "Order", id: "K7Q2", command: { type: "ShipOrder", trackingNumber: "TRK-A" },
    reason: { code: "order_not_shippable", message: "only a paid order can be shipped" }, causedBy: shippedElsewhere, at: 0 };
  assert.equal(rejectionReason(ship), "Order K7Q2 was already shipped by another device.");
  assert.equal(retryPlan(ship, { status: "Shipped" }), null);

  const pay = { ...ship, command: { type: "PayOrder", amount: 2950 }, reason: { code: "payment_amount_mismatch", message: "" },
    causedBy: [{ type: "OrderItemAdded", data: { productId: "p-hose", quantity: 1, unitPrice: 3490 } }] };
  const pending = { status: "Pending", customerId: "c-alder", total: 6440 };
  assert.equal(rejectionReason(pay, pending),
    "Order K7Q2 was changed on another device: its total is now €64.40, so your payment of €29.50 was not taken.");
  const plan = retryPlan(pay, pending);
  assert.equal(plan.field.value, "64.40");
  assert.deepEqual(plan.build("64.40"), { id: "K7Q2", command: { type: "PayOrder", amount: 6440 } });

  const add = { ...ship, command: { type: "AddItem", productId: "p-twine", quantity: 1, unitPrice: 450 },
    reason: { code: "order_not_editable", message: "" }, causedBy: [{ type: "OrderPaid", data: { amount: 2500 } }] };
  assert.equal(rejectionReason(add), "Order K7Q2 was already paid on another device.");
  const moved = retryPlan(add, { status: "Paid", customerId: "c-alder" }).build("3");
  assert.notEqual(moved.id, "K7Q2");
  assert.deepEqual(moved.command, { type: "CreateOrder", customerId: "c-alder", items: [{ productId: "p-twine", quantity: 3, unitPrice: 450 }] });
});

test("a read model gets a line only while it lags or has stopped", async () => {
  const broken = { on: false };
  const orders = domain.projections.orders;
  const failing = {
    ...orders,
    maxRetries: 0,
    apply(event, view) {
      if (broken.on && event.type === "OrderPaid") throw new Error("the orders list cannot show payments");
      orders.apply(event, view);
    },
  };
  const store = await open({ storage: "memory", ...domain, projections: { ...domain.projections, orders: failing } });
  await store.execute("Order", "A1", { type: "CreateOrder", customerId: "c-alder", items });
  assert.deepEqual((await store.projections()).map(readModelLine), [null, null, null]);
  broken.on = true;
  await store.execute("Order", "A1", { type: "PayOrder", amount: 2500 });
  const [stopped] = await store.projections();
  assert.equal(readModelLine(stopped), "Order lists stopped at a change they could not show: " +
    "projection orders.apply threw: Error: the orders list cannot show payments. 1 change not shown.");
  broken.on = false;
  await store.retryProjection("orders");
  assert.deepEqual((await store.projections()).map(readModelLine), [null, null, null]);
  const waiting = { ...stopped, stopped: false, deadLetters: [], lag: 2, retry: { attempts: 1, nextAt: Date.now(), lastError: {} } };
  assert.match(readModelLine(waiting), /^Order lists: 2 changes not shown yet; trying again at /);
  assert.equal(readModelLine({ ...waiting, retry: null, rebuild: { version: 2, done: 3, total: 10 } }),
    "Order lists are being rebuilt (3 of 10).");
  await store.close();
});
