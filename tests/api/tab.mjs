// A customer's tab, for the tests of features meeting sync: `Add` records one `ItemAdded` per
// item (commands near and over the server's limits), `Close` must name the tab's total (so a
// command decided on an old total comes back rejected after another device's change).

/** The Tab aggregate, taking a snapshot every `snapshotEvery` events. */
export function tabAggregate(DomainError, { snapshotEvery = 1 } = {}) {
  const refuse = (code) => {
    throw new DomainError(code, `refused: ${code}`);
  };
  return {
    snapshotEvery,
    initialState: () => ({ opened: false, closed: false, items: 0, total: 0 }),
    decide(state, command) {
      if (command.type === "Open") return state.opened ? refuse("tab_open") : [{ type: "TabOpened", data: {} }];
      if (!state.opened) refuse("tab_not_open");
      if (state.closed) refuse("tab_closed");
      if (command.type === "Add") {
        return Array.from({ length: command.count }, () => ({ type: "ItemAdded", data: { price: command.price } }));
      }
      if (command.type === "Close") {
        return command.total === state.total ? [{ type: "TabClosed", data: { total: command.total } }] : refuse("total_mismatch");
      }
      return refuse("unknown_command");
    },
    evolve(state, event) {
      switch (event.type) {
        case "TabOpened": return { ...state, opened: true };
        case "ItemAdded": return { ...state, items: state.items + 1, total: state.total + event.data.price };
        case "TabClosed": return { ...state, closed: true };
        default: return state;
      }
    },
  };
}

/** The `tabs` read model: one document per tab with its items and total. */
export const tabsProjection = {
  apply(event, view) {
    const key = event.stream;
    if (event.type === "TabOpened") view.put(key, { items: 0, total: 0, closed: false });
    if (event.type === "ItemAdded") {
      const doc = view.get(key);
      view.put(key, { ...doc, items: doc.items + 1, total: doc.total + event.data.price });
    }
    if (event.type === "TabClosed") view.put(key, { ...view.get(key), closed: true });
  },
};

/** The state a history folds to, the plain way: what `load` must agree with. */
export function foldTab(history) {
  const tab = tabAggregate(Error);
  return history.reduce((state, event) => tab.evolve(state, event), tab.initialState());
}
