// The Order domain of src/example/order.rs written in JavaScript, as an app would write it:
// create once with items, add items while pending, pay a pending order for its total, ship a
// paid order.

/** The Order aggregate; `DomainError` is the package's class. */
export function orderAggregate(DomainError, extra = {}) {
  const refuse = (code, message) => {
    throw new DomainError(code, message);
  };
  return {
    initialState: () => ({ status: "None", customerId: "", items: [], total: 0, trackingNumber: null }),
    decide(state, command) {
      switch (command.type) {
        case "CreateOrder": {
          if (state.status !== "None") refuse("order_exists", "the order already exists");
          if (!command.customerId?.trim()) refuse("invalid_order", "an order needs a customer");
          if (!command.items?.length) refuse("invalid_order", "an order needs at least one item");
          let total = 0;
          for (const item of command.items) {
            if (!(item.quantity >= 1) || item.unitPrice < 0 || !item.productId) {
              refuse("invalid_order", `item ${item.productId} needs a product, a quantity and a price`);
            }
            total += item.quantity * item.unitPrice;
          }
          return [{ type: "OrderCreated", data: { customerId: command.customerId, items: command.items, total } }];
        }
        case "AddItem": {
          const { item } = command;
          if (state.status !== "Pending") refuse("order_not_editable", `items are added only to a pending order; this one is ${state.status}`);
          if (!(item?.quantity >= 1) || item.unitPrice < 0 || !item.productId) {
            refuse("invalid_order", `item ${item?.productId} needs a product, a quantity and a price`);
          }
          return [{ type: "OrderItemAdded", data: { item, total: state.total + item.quantity * item.unitPrice } }];
        }
        case "PayOrder":
          if (state.status !== "Pending") refuse("order_not_payable", `only a pending order can be paid; this one is ${state.status}`);
          if (command.amount !== state.total) refuse("payment_amount_mismatch", `the order's total is ${state.total}`);
          return [{ type: "OrderPaid", data: { paymentMethod: command.paymentMethod, amount: command.amount } }];
        case "ShipOrder":
          if (state.status !== "Paid") refuse("order_not_shippable", `only a paid order can be shipped; this one is ${state.status}`);
          return [{ type: "OrderShipped", data: { trackingNumber: command.trackingNumber } }];
        default:
          refuse("unknown_command", `unknown command ${command.type}`);
      }
    },
    evolve(state, event) {
      switch (event.type) {
        case "OrderCreated":
          return { ...state, status: "Pending", customerId: event.data.customerId, items: event.data.items, total: event.data.total };
        case "OrderItemAdded":
          return { ...state, items: [...state.items, event.data.item], total: event.data.total };
        case "OrderPaid":
          return { ...state, status: "Paid" };
        case "OrderShipped":
          return { ...state, status: "Shipped", trackingNumber: event.data.trackingNumber };
        default:
          return state;
      }
    },
    ...extra,
  };
}

/** The `orders` read model: one document per order, indexed by customer, status and total. */
export const ordersProjection = {
  version: 1,
  indexes: ["customerId", "status", "total"],
  apply(event, view) {
    if (!event.stream.startsWith("Order-")) return;
    const id = event.stream.slice("Order-".length);
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case "OrderCreated":
        view.put(id, { orderId: id, customerId: event.data.customerId, status: "Pending", total: event.data.total, createdAt: at });
        break;
      case "OrderItemAdded": {
        const doc = view.get(id);
        if (!doc) throw new Error(`order ${id} has no document`);
        view.put(id, { ...doc, total: event.data.total });
        break;
      }
      case "OrderPaid":
      case "OrderShipped": {
        const doc = view.get(id);
        if (!doc) throw new Error(`order ${id} has no document`);
        const paid = event.type === "OrderPaid";
        view.put(id, { ...doc, status: paid ? "Paid" : "Shipped", [paid ? "paidAt" : "shippedAt"]: at });
        break;
      }
    }
  },
};

/** `count` items of `unitPrice` each. */
export const items = (quantity = 2, unitPrice = 250) => [{ productId: "p-1", quantity, unitPrice }];
