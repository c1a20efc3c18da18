// An order's state drawn as a summary: status, customer, delivery contact, lines, total and
// tracking number (a forgotten contact's name and phone read "[redacted]"). The
// detail shows the current state with it, and the timeline's replay each past version.
import { h } from "./dom.js";
import { money } from "./words.js";

/** Renders an order's state (as `load` or `stateAt` give it) as a summary and its lines. */
export function orderSummary(state, catalogue) {
  if (state.status === "None") return h("p", { class: "empty" }, "Not created yet.");
  const customer = catalogue.customer(state.customerId);
  return h("div", { class: "summary", "data-testid": "summary" },
    h("p", {},
      h("span", { class: `badge ${state.status.toLowerCase()}`, "data-testid": "state-status" }, state.status),
      " ", customer ? `${customer.name}, ${customer.city}` : state.customerId),
    state.contact ? h("p", { class: "contact", "data-testid": "state-contact" },
      "Delivery contact ", h("strong", {}, state.contact.name), state.contact.phone ? ` · ${state.contact.phone}` : "") : null,
    h("ul", { class: "lines" }, state.items.map((item) => h("li", {},
      h("span", {}, `${item.quantity} × ${catalogue.product(item.productId)?.name ?? item.productId}`),
      h("span", { class: "amount" }, money(item.quantity * item.unitPrice))))),
    h("p", { class: "total" }, "Total ", h("strong", { "data-testid": "state-total" }, money(state.total))),
    state.trackingNumber ? h("p", { class: "muted" }, "Tracking ", h("code", {}, state.trackingNumber)) : null,
  );
}
