// The rejected inbox: commands that came back from sync because another device changed the
// order first and they no longer hold. Each shows why in a rep's words, and can be dismissed or
// retried with changes (a corrected command, executed as a new one).
import { h, notify, shortId } from "./dom.js";
import { describeCommand, orderName, refusalMessage, rejectionReason, time } from "./words.js";

/**
 * What a retry of `rejected` could be, given the order's current `state`: a label, the one field
 * the rep may change (prefilled), and how to make the new command from it; null when retrying
 * makes no sense (the order was already shipped, say).
 */
export function retryPlan(rejected, state) {
  const { command } = rejected;
  if (rejected.aggregate !== "Order" || !state) return null;
  switch (command.type) {
    case "PayOrder":
      if (state.status !== "Pending") return null;
      return {
        label: "Take the new total", field: { label: "Amount (€)", value: (state.total / 100).toFixed(2), inputmode: "decimal" },
        build: (value) => ({ id: rejected.id, command: { ...command, amount: Math.round(Number(value) * 100) } }),
      };
    case "ShipOrder":
      if (state.status !== "Paid") return null;
      return {
        label: "Ship again", field: { label: "Tracking number", value: command.trackingNumber },
        build: (value) => ({ id: rejected.id, command: { ...command, trackingNumber: value } }),
      };
    case "AddItem":
      return {
        label: "Put it on a new order", field: { label: "Quantity", value: String(command.quantity), inputmode: "numeric" },
        build: (value) => ({
          id: shortId(),
          command: { type: "CreateOrder", customerId: state.customerId, items: [{ productId: command.productId, quantity: Number(value), unitPrice: command.unitPrice }] },
        }),
      };
    case "CreateOrder":
      return {
        label: "Create it as a new order", field: null,
        build: () => ({ id: shortId(), command }),
      };
    default:
      return null;
  }
}

/** One rejected command with its reason and buttons. */
function item(rejected, app, state) {
  const { store } = app;
  const plan = retryPlan(rejected, state);
  const dismiss = h("button", { type: "button", class: "secondary small", "data-testid": "dismiss" }, "Dismiss");
  dismiss.addEventListener("click", async () => {
    await store.dismissRejected(rejected.commandId);
    app.refreshInbox();
  });
  const editor = h("form", { class: "retry", hidden: true });
  if (plan) {
    const input = plan.field ? h("input", { name: "value", value: plan.field.value, inputmode: plan.field.inputmode ?? null, "aria-label": plan.field.label }) : null;
    editor.append(
      plan.field ? h("label", {}, plan.field.label, " ", input) : null,
      h("button", { type: "submit", class: "small", "data-testid": "retry-send" }, plan.label),
    );
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { id, command } = plan.build(input?.value);
      try {
        await store.execute("Order", id, command, { correlationId: `retry-${shortId(6)}`, causationId: rejected.commandId });
        await store.dismissRejected(rejected.commandId);
        notify(`${orderName(id)}: done again, ${describeCommand(command, app.catalogue.productMap())}.`, "info");
        app.select(id);
        app.refreshInbox();
      } catch (error) {
        notify(refusalMessage(error));
      }
    });
  }
  const retry = plan ? h("button", { type: "button", class: "small", "data-testid": "retry" }, "Retry with changes") : null;
  retry?.addEventListener("click", () => {
    editor.hidden = !editor.hidden;
    editor.querySelector("input")?.focus();
  });
  return h("li", { class: "rejection", dataset: { order: rejected.id, code: rejected.reason.code }, "data-testid": "rejection" },
    h("p", { class: "reason", "data-testid": "reason" }, rejectionReason(rejected, state)),
    h("p", { class: "muted" },
      "You tried to ", describeCommand(rejected.command, app.catalogue.productMap()), " · ", time(rejected.at), " · ",
      h("button", { type: "button", class: "link", onclick: () => app.select(rejected.id) }, `open ${orderName(rejected.id)}`)),
    h("div", { class: "buttons" }, retry, dismiss),
    editor,
  );
}

/** Shows the rejected inbox in `root` (hidden when empty); returns a function that reads it again.
 * Entries already shown are kept (with their reason updated), so a retry being edited survives. */
export function mountInbox(root, app) {
  const { store } = app;
  const list = root.querySelector("#rejected");
  const shown = new Map();
  let reading = Promise.resolve();
  const show = async () => {
    const rejected = await store.rejected();
    const states = await Promise.all(rejected.map((entry) => (entry.aggregate === "Order" ? store.load("Order", entry.id).then((loaded) => loaded.state) : null)));
    root.hidden = rejected.length === 0;
    root.dataset.count = String(rejected.length);
    const elements = rejected.map((entry, index) => {
      const existing = shown.get(entry.commandId);
      if (!existing) return item(entry, app, states[index]);
      existing.querySelector("[data-testid=reason]").textContent = rejectionReason(entry, states[index]);
      return existing;
    });
    shown.clear();
    rejected.forEach((entry, index) => shown.set(entry.commandId, elements[index]));
    list.replaceChildren(...elements);
  };
  let count = -1;
  const refresh = () => {
    reading = reading.then(show).catch((error) => {
      // Read again at the next status change, whatever it is: a failed read must not leave the
      // inbox showing an old count until the count changes once more.
      count = -1;
      notify(`Could not read the inbox: ${error?.message ?? error}`);
    });
    return reading;
  };
  store.onStatus((status) => {
    if (status.rejected !== count) {
      count = status.rejected;
      refresh();
    }
  });
  refresh();
  return refresh;
}
