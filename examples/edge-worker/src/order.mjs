// The Order domain of the guide's quick start, written as an app writes it: create an order
// with items, pay a pending order for its total, ship a paid order. `decide` refuses with a
// DomainError whose code the API answers with.
import { DomainError } from "fieldstream";

const refuse = (code, message) => {
  throw new DomainError(code, message);
};

/** The Order aggregate; `onConflict` is told of every conflict (for the metrics). */
export function orderAggregate({ onConflict = () => {} } = {}) {
  return {
    initialState: () => ({ status: "None", customerId: "", items: [], total: 0, trackingNumber: null }),
    decide(state, command) {
      switch (command.type) {
        case "CreateOrder": {
          if (state.status !== "None") refuse("order_exists", "the order already exists");
          if (typeof command.customerId !== "string" || !command.customerId.trim()) {
            refuse("invalid_order", "an order needs a customer");
          }
          if (!Array.isArray(command.items) || command.items.length === 0) {
            refuse("invalid_order", "an order needs at least one item");
          }
          let total = 0;
          for (const item of command.items) {
            if (!item?.productId || !Number.isInteger(item.quantity) || item.quantity < 1
              || !Number.isInteger(item.unitPrice) || item.unitPrice < 0) {
              refuse("invalid_order", "every item needs a productId, a quantity >= 1 and a unitPrice >= 0");
            }
            total += item.quantity * item.unitPrice;
          }
          const items = command.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice }));
          return [{ type: "OrderCreated", data: { customerId: command.customerId, items, total } }];
        }
        case "PayOrder":
          if (state.status !== "Pending") refuse("order_not_payable", `only a pending order can be paid; this one is ${state.status}`);
          if (command.amount !== state.total) refuse("payment_amount_mismatch", `the order's total is ${state.total}`);
          return [{ type: "OrderPaid", data: { paymentMethod: command.paymentMethod ?? "card", amount: command.amount } }];
        case "ShipOrder":
          if (state.status !== "Paid") refuse("order_not_shippable", `only a paid order can be shipped; this one is ${state.status}`);
          return [{ type: "OrderShipped", data: { trackingNumber: command.trackingNumber ?? null } }];
        default:
          return refuse("unknown_command", `unknown command ${command.type}`);
      }
    },
    evolve(state, event) {
      switch (event.type) {
        case "OrderCreated":
          return { ...state, status: "Pending", customerId: event.data.customerId, items: event.data.items, total: event.data.total };
        case "OrderPaid":
          return { ...state, status: "Paid" };
        case "OrderShipped":
          return { ...state, status: "Shipped", trackingNumber: event.data.trackingNumber };
        default:
          return state;
      }
    },
    // Another writer changed the order between our read and our append: decide again on the
    // new state (a second pay then meets a paid order and is refused).
    onConflict(conflict) {
      onConflict(conflict);
      return "rebase";
    },
  };
}
