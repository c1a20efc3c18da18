// The selected order: its lines and total, what can be done next (add an item, take the
// payment, ship with a tracking number), and its timeline. It is read again whenever the store
// says aggregates may have changed (a command here, a sync round, another tab).
import { REDACTED } from "fieldstream";
import { fillSelect, h, notify, shortId } from "./dom.js";
import { mountTimeline } from "./timeline.js";
import { orderSummary } from "./summary.js";
import { money, orderName, refusalMessage } from "./words.js";

/** The actions an order in `state` allows, each executing one command. */
function actions(id, state, app) {
  const { store, catalogue } = app;
  const run = async (button, command) => {
    button.disabled = true;
    try {
      await store.execute("Order", id, command, { correlationId: `visit-${shortId(6)}` });
    } catch (error) {
      notify(refusalMessage(error));
    } finally {
      button.disabled = false;
    }
  };
  if (state.status === "Pending") {
    const product = h("select", { name: "product", "aria-label": "Product" });
    fillSelect(product, catalogue.products().map((p) => [p.id, `${p.name} · ${money(p.unitPrice)}`]));
    const quantity = h("input", { name: "quantity", type: "number", min: "1", value: "1", class: "qty", "aria-label": "Quantity" });
    const add = h("button", { type: "button", class: "secondary", "data-testid": "add-item" }, "Add item");
    add.addEventListener("click", () => {
      const chosen = catalogue.product(product.value);
      const count = Number(quantity.value);
      if (!chosen || !Number.isInteger(count) || count < 1) return notify("Pick a product and a quantity of at least 1.");
      run(add, { type: "AddItem", productId: chosen.id, quantity: count, unitPrice: chosen.unitPrice });
    });
    const pay = h("button", { type: "button", "data-testid": "pay" }, `Take payment of ${money(state.total)}`);
    pay.addEventListener("click", () => run(pay, { type: "PayOrder", amount: state.total, paymentMethod: "card" }));
    return h("div", { class: "actions" }, h("div", { class: "line-entry" }, product, quantity, add), pay);
  }
  if (state.status === "Paid") {
    const tracking = h("input", { name: "tracking", placeholder: "Tracking number", "aria-label": "Tracking number", value: `TRK-${shortId(6)}` });
    const ship = h("button", { type: "button", "data-testid": "ship" }, "Ship");
    ship.addEventListener("click", () => run(ship, { type: "ShipOrder", trackingNumber: tracking.value }));
    return h("div", { class: "actions line-entry" }, tracking, ship);
  }
  return null;
}

/** "Forget contact": deletes the delivery contact's key here and, at the next sync, on the
 * server and every device, so their name and phone read "[redacted]" everywhere. */
function forgetButton(state, app) {
  const { contact } = state;
  if (!contact || contact.name === REDACTED) return null;
  const button = h("button", { type: "button", class: "link danger", "data-testid": "forget-contact" }, `Forget ${contact.name}`);
  button.addEventListener("click", async () => {
    if (!confirm(`Forget ${contact.name}? Their name and phone are erased on every order of this shop, on every device.`)) return;
    button.disabled = true;
    try {
      await app.store.forgetSubject(contact.id);
      notify(`${contact.name} was forgotten on this device${app.store.status().online ? " and the server" : "; the server follows when you are back online"}.`, "info");
    } catch (error) {
      notify(`Could not forget the contact: ${error?.message ?? error}`);
      button.disabled = false;
    }
  });
  return button;
}

/** Carries the rep's choices (product, quantity, tracking number) from the actions shown
 * before to their fresh copy, so a change underneath never resets them. */
function keepChoices(before, after) {
  for (const field of before.querySelectorAll("input[name], select[name]")) {
    const twin = after.querySelector(`[name="${field.name}"]`);
    if (twin && (twin.tagName !== "SELECT" || [...twin.options].some((option) => option.value === field.value))) twin.value = field.value;
  }
}

/** Shows the order `app.selected` in `root` and keeps it current. */
export function mountOrderDetail(root, app) {
  const { store, catalogue } = app;
  const title = root.querySelector("#detail-title");
  const empty = root.querySelector("#detail-empty");
  const body = root.querySelector("#detail-body");
  const timeline = mountTimeline(app);
  let reading = Promise.resolve();
  let shown = {};

  const show = async () => {
    const id = app.selected;
    if (!id) {
      title.textContent = "Order";
      empty.hidden = false;
      body.hidden = true;
      return;
    }
    const [{ state, version }, history] = await Promise.all([store.load("Order", id), store.history("Order", id)]);
    if (id !== app.selected) return;
    title.textContent = orderName(id);
    root.dataset.order = id;
    root.dataset.status = state.status;
    root.dataset.version = String(version);
    empty.hidden = true;
    body.hidden = false;
    const same = shown.id === id && shown.status === state.status;
    const typing = document.activeElement?.tagName !== "BUTTON" && shown.actions?.contains(document.activeElement);
    if (typing && same) {
      // Keep the field the rep is typing in; show the rest as it is now.
      shown.current.replaceChildren(orderSummary(state, catalogue), forgetButton(state, app) ?? "");
      timeline.update(id, version, history);
      return;
    }
    const next = actions(id, state, app);
    if (same && shown.actions && next) keepChoices(shown.actions, next);
    const current = h("div", { "data-testid": "current" }, orderSummary(state, catalogue), forgetButton(state, app));
    shown = { id, status: state.status, current, actions: next };
    body.replaceChildren(shown.current, shown.actions ?? "", timeline.render(id, version, history));
  };
  /** Reads the order again (one read at a time, the newest wins). */
  const refresh = () => {
    reading = reading.then(show).catch((error) => notify(`Could not read the order: ${error?.message ?? error}`));
    return reading;
  };
  store.onChange(({ stream }) => {
    if (!stream || stream === `Order-${app.selected}`) refresh();
  });
  catalogue.onChange(refresh);
  return refresh;
}
