// The Order domain of the app: an aggregate and a read model, written in JavaScript.
import { DomainError } from "fieldstream";

export const Order = {
  initialState: () => ({ status: "None", customerId: null, total: 0 }),
  decide(state, command) {
    if (command.type === "CreateOrder") {
      if (state.status !== "None") throw new DomainError("order_exists", "the order already exists");
      const total = command.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
      return [{ type: "OrderCreated", data: { customerId: command.customerId, items: command.items, total } }];
    }
    if (command.type === "PayOrder") {
      if (state.status !== "Pending") throw new DomainError("order_not_payable", "only a pending order can be paid");
      return [{ type: "OrderPaid", data: { amount: command.amount } }];
    }
    throw new DomainError("unknown_command", command.type);
  },
  evolve(state, event) {
    if (event.type === "OrderCreated") return { ...state, status: "Pending", customerId: event.data.customerId, total: event.data.total };
    if (event.type === "OrderPaid") return { ...state, status: "Paid" };
    return state;
  },
};

export const orders = {
  indexes: ["customerId", "status"],
  apply(event, view) {
    const id = event.stream.slice("Order-".length);
    if (event.type === "OrderCreated") {
      view.put(id, { id, customerId: event.data.customerId, status: "Pending", total: event.data.total });
    }
    if (event.type === "OrderPaid") view.put(id, { ...view.get(id), status: "Paid" });
  },
};
