// The field-sales domain, written in JavaScript against fieldstream's API: the Order aggregate
// (create with items and an optional delivery contact, add items while pending, pay the exact
// total, ship with a tracking number), the Customer and Product aggregates of the seeded
// catalogue, and the projections the views list from (orders by customer and by status,
// customers, products). The delivery contact's name and phone are personal data: sealed under
// the contact's own key, and redacted everywhere once the contact is forgotten.
import { DomainError } from "fieldstream";

const refuse = (code, message) => {
  throw new DomainError(code, message);
};

/** Checks one order line: a product, a whole quantity of at least 1, a price of 0 or more. */
function checkItem(item) {
  if (!item?.productId) refuse("invalid_order", "an item needs a product");
  if (!Number.isInteger(item.quantity) || item.quantity < 1) refuse("invalid_order", "a quantity must be a whole number of at least 1");
  if (!Number.isInteger(item.unitPrice) || item.unitPrice < 0) refuse("invalid_order", "a price must be a whole number of cents");
}

/** The data-subject id of a shop's delivery contact: one per person and shop, so forgetting a
 * person redacts them on every order of that shop and nobody else. */
export function contactId(customerId, name) {
  const slug = name.trim().toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return `contact-${customerId}-${slug || "x"}`;
}

/** The contact a `CreateOrder` names, checked; `null` when it names none. */
function contactOf(command) {
  const name = command.contact?.name?.trim() ?? "";
  const phone = command.contact?.phone?.trim() ?? "";
  if (!name && !phone) return null;
  if (!name) refuse("invalid_order", "a delivery contact needs a name");
  if (phone && !/^\+?[0-9 ()-]{5,20}$/.test(phone)) refuse("invalid_order", "a phone number has 5 to 20 digits, spaces or dashes");
  return { id: contactId(command.customerId, name), name, phone: phone || null };
}

/** The sum of an order's lines, in cents. */
export const totalOf = (items) => items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);

/** The Order aggregate: Pending → Paid → Shipped; items only while Pending. */
export const Order = {
  initialState: () => ({ status: "None", customerId: "", contact: null, items: [], total: 0, paidAmount: 0, trackingNumber: null }),
  decide(state, command) {
    switch (command.type) {
      case "CreateOrder":
        if (state.status !== "None") refuse("order_exists", "the order already exists");
        if (!command.customerId) refuse("invalid_order", "an order needs a customer");
        if (!command.items?.length) refuse("invalid_order", "an order needs at least one item");
        command.items.forEach(checkItem);
        {
          const contact = contactOf(command);
          const data = { customerId: command.customerId, items: command.items, total: totalOf(command.items) };
          return [{ type: "OrderCreated", data: contact ? { ...data, contact } : data }];
        }
      case "AddItem": {
        if (state.status !== "Pending") refuse("order_not_editable", `items can only be added to a pending order; this one is ${state.status}`);
        const item = { productId: command.productId, quantity: command.quantity, unitPrice: command.unitPrice };
        checkItem(item);
        return [{ type: "OrderItemAdded", data: item }];
      }
      case "PayOrder":
        if (state.status !== "Pending") refuse("order_not_payable", `only a pending order can be paid; this one is ${state.status}`);
        if (command.amount !== state.total) refuse("payment_amount_mismatch", `the order's total is ${state.total}, the payment was ${command.amount}`);
        return [{ type: "OrderPaid", data: { amount: command.amount, paymentMethod: command.paymentMethod ?? "card" } }];
      case "ShipOrder":
        if (state.status !== "Paid") refuse("order_not_shippable", `only a paid order can be shipped; this one is ${state.status}`);
        if (!command.trackingNumber?.trim()) refuse("invalid_tracking", "a shipment needs a tracking number");
        return [{ type: "OrderShipped", data: { trackingNumber: command.trackingNumber.trim() } }];
      default:
        return refuse("unknown_command", `unknown command ${command.type}`);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case "OrderCreated":
        return {
          ...state, status: "Pending", customerId: event.data.customerId, contact: event.data.contact ?? null,
          items: event.data.items, total: event.data.total,
        };
      case "OrderItemAdded": {
        const items = [...state.items, event.data];
        return { ...state, items, total: totalOf(items) };
      }
      case "OrderPaid":
        return { ...state, status: "Paid", paidAmount: event.data.amount };
      case "OrderShipped":
        return { ...state, status: "Shipped", trackingNumber: event.data.trackingNumber };
      default:
        return state;
    }
  },
  // The default policy, written out: a command whose order changed on another device is decided
  // again on the new state, and comes back to the rep only if it no longer holds.
  onConflict: "rebase",
  // The contact's name and phone belong to the contact (the data subject named by `contact.id`).
  personalData: { OrderCreated: { subject: "contact.id", fields: ["contact.name", "contact.phone"] } },
};

/** A catalogue entry (Customer or Product) that two devices may both seed: registering one
 * that exists with the same details is a no-op, so seeding twice never conflicts. */
function catalogue(kind, fields) {
  const created = `${kind}Registered`;
  return {
    initialState: () => null,
    decide(state, command) {
      if (command.type !== `Register${kind}`) refuse("unknown_command", `unknown command ${command.type}`);
      const data = Object.fromEntries(fields.map((field) => [field, command[field]]));
      if (state === null) return [{ type: created, data }];
      if (fields.every((field) => state[field] === data[field])) return [];
      return refuse(`${kind.toLowerCase()}_exists`, `this ${kind.toLowerCase()} is already registered with other details`);
    },
    evolve: (state, event) => (event.type === created ? { ...event.data } : state),
  };
}

/** A customer: a shop with a name and a city. */
export const Customer = catalogue("Customer", ["name", "city"]);
/** A product of the catalogue with its list price in cents. */
export const Product = catalogue("Product", ["name", "unitPrice"]);

const idOf = (event, prefix) => event.stream.slice(prefix.length);

/** `orders`: one document per order, indexed by customer and by status. */
export const orders = {
  version: 1,
  indexes: ["customerId", "status"],
  apply(event, view) {
    if (!event.stream.startsWith("Order-")) return;
    const id = idOf(event, "Order-");
    const at = event.metadata.occurredAt;
    const doc = view.get(id);
    switch (event.type) {
      case "OrderCreated":
        view.put(id, {
          orderId: id, customerId: event.data.customerId, contactName: event.data.contact?.name ?? null,
          status: "Pending", total: event.data.total,
          itemCount: event.data.items.reduce((n, item) => n + item.quantity, 0), trackingNumber: null,
          createdAt: at, updatedAt: at,
        });
        break;
      case "OrderItemAdded":
        view.put(id, { ...doc, total: doc.total + event.data.quantity * event.data.unitPrice, itemCount: doc.itemCount + event.data.quantity, updatedAt: at });
        break;
      case "OrderPaid":
        view.put(id, { ...doc, status: "Paid", updatedAt: at });
        break;
      case "OrderShipped":
        view.put(id, { ...doc, status: "Shipped", trackingNumber: event.data.trackingNumber, updatedAt: at });
        break;
    }
  },
};

/** `customers` and `products`: the catalogue, listed by name. */
function catalogueProjection(prefix) {
  return {
    version: 1,
    indexes: ["name"],
    apply(event, view) {
      if (!event.stream.startsWith(prefix) || !event.type.endsWith("Registered")) return;
      const id = idOf(event, prefix);
      view.put(id, { id, ...event.data });
    },
  };
}

/** What `open()` gets: every aggregate and projection of the app. */
export const domain = {
  aggregates: { Order, Customer, Product },
  projections: { orders, customers: catalogueProjection("Customer-"), products: catalogueProjection("Product-") },
};
