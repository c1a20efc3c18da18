// The new-order form and the order lists. The lists are live queries on the `orders`
// projection (by status, and by customer), so they follow this rep's commands, sync rounds and
// other tabs without being told.
import { fillSelect, h, notify, shortId } from "./dom.js";
import { money, orderName, refusalMessage, time } from "./words.js";

const STATUSES = ["Pending", "Paid", "Shipped"];

/** Wires the new-order form: lines are collected, then one `CreateOrder` (and a `PayOrder`
 * when paid on the spot, in the same correlation) is executed. */
export function mountOrderForm(form, app) {
  const { store, catalogue } = app;
  const lines = [];
  const list = form.querySelector("#lines");
  const total = form.querySelector("#form-total");
  const render = () => {
    list.replaceChildren(...lines.map((line, index) => h("li", {},
      h("span", {}, `${line.quantity} × ${catalogue.product(line.productId)?.name ?? line.productId}`),
      h("span", { class: "amount" }, money(line.quantity * line.unitPrice)),
      h("button", { type: "button", class: "link", "aria-label": "Remove line", onclick: () => { lines.splice(index, 1); render(); } }, "✕"),
    )));
    total.textContent = money(lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0));
  };
  catalogue.onChange(() => {
    fillSelect(form.elements.customer, catalogue.customers().map((c) => [c.id, `${c.name} · ${c.city}`]));
    fillSelect(form.elements.product, catalogue.products().map((p) => [p.id, `${p.name} · ${money(p.unitPrice)}`]));
  });
  form.elements["add-line"].addEventListener("click", () => {
    const product = catalogue.product(form.elements.product.value);
    const quantity = Number(form.elements.quantity.value);
    if (!product) return notify("Pick a product first.");
    if (!Number.isInteger(quantity) || quantity < 1) return notify("The quantity must be a whole number of at least 1.");
    lines.push({ productId: product.id, quantity, unitPrice: product.unitPrice });
    form.elements.quantity.value = "1";
    render();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (lines.length === 0) return notify("Add at least one line to the order.");
    const id = shortId();
    const correlationId = `visit-${shortId(6)}`;
    const items = lines.map((line) => ({ ...line }));
    form.elements.create.disabled = true;
    try {
      const contact = { name: form.elements["contact-name"].value, phone: form.elements["contact-phone"].value };
      await store.execute("Order", id, { type: "CreateOrder", customerId: form.elements.customer.value, contact, items }, { correlationId });
      if (form.elements["pay-now"].checked) {
        const amount = items.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
        await store.execute("Order", id, { type: "PayOrder", amount, paymentMethod: "card" }, { correlationId });
      }
      lines.length = 0;
      form.elements["pay-now"].checked = false;
      form.elements["contact-name"].value = "";
      form.elements["contact-phone"].value = "";
      render();
      app.select(id);
      notify(`${orderName(id)} saved${store.status().online ? "" : " on this device; it syncs when you are back online"}.`, "info");
    } catch (error) {
      notify(refusalMessage(error));
    } finally {
      form.elements.create.disabled = false;
    }
  });
  render();
}

/** One order as a list row; a click opens it. */
function orderRow(doc, app) {
  const customer = app.catalogue.customer(doc.customerId);
  return h("li", { class: "order", dataset: { order: doc.orderId, status: doc.status }, "data-testid": "order-row" },
    h("button", { type: "button", class: "row", onclick: () => app.select(doc.orderId), "aria-current": app.selected === doc.orderId ? "true" : null },
      h("span", { class: "name" }, orderName(doc.orderId)),
      h("span", { class: `badge ${doc.status.toLowerCase()}` }, doc.status),
      h("span", { class: "who" }, customer?.name ?? doc.customerId, doc.contactName ? ` · ${doc.contactName}` : ""),
      h("span", { class: "amount" }, money(doc.total)),
      h("span", { class: "when" }, time(doc.updatedAt)),
    ));
}

const newestFirst = (docs) => docs.map(({ doc }) => doc).sort((a, b) => b.createdAt - a.createdAt || (a.orderId < b.orderId ? -1 : 1));

/** The two order lists (by status, by customer) and the tabs between them. */
export function mountOrderLists(root, app) {
  const { store, catalogue } = app;
  const byStatus = root.querySelector("#by-status");
  const byCustomer = root.querySelector("#by-customer");
  const filter = root.querySelector("#customer-filter");
  const rendered = [];
  for (const status of STATUSES) {
    const list = h("ul", { class: "orders", "data-testid": `orders-${status.toLowerCase()}` });
    const count = h("span", { class: "count" }, "0");
    byStatus.append(h("div", { class: "column" }, h("h3", {}, status, " ", count), list));
    let docs = [];
    const draw = () => {
      list.replaceChildren(...(docs.length ? docs.map((doc) => orderRow(doc, app)) : [h("li", { class: "empty" }, "None")]));
      count.textContent = String(docs.length);
    };
    rendered.push(draw);
    store.subscribe("orders", { index: "status", equals: status, limit: 500 }, (page) => {
      docs = newestFirst(page.docs);
      draw();
    });
  }

  const customerList = root.querySelector("#customer-orders");
  let stopCustomer = () => {};
  let customerDocs = [];
  const drawCustomer = () => {
    customerList.replaceChildren(...(customerDocs.length
      ? customerDocs.map((doc) => orderRow(doc, app)) : [h("li", { class: "empty" }, "No orders for this customer yet")]));
  };
  rendered.push(drawCustomer);
  const follow = () => {
    stopCustomer();
    if (!filter.value) return;
    stopCustomer = store.subscribe("orders", { index: "customerId", equals: filter.value, limit: 500 }, (page) => {
      customerDocs = newestFirst(page.docs);
      drawCustomer();
    });
  };
  filter.addEventListener("change", follow);
  catalogue.onChange(() => {
    const before = filter.value;
    fillSelect(filter, catalogue.customers().map((c) => [c.id, c.name]));
    if (filter.value !== before || !before) follow();
    for (const draw of rendered) draw();
  });

  for (const tab of root.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => {
      for (const other of root.querySelectorAll("[role=tab]")) other.setAttribute("aria-selected", String(other === tab));
      byStatus.hidden = tab.dataset.view !== "status";
      byCustomer.hidden = tab.dataset.view !== "customer";
    });
  }
  /** Redraws the rows (to mark the selected order). */
  return () => { for (const draw of rendered) draw(); };
}
