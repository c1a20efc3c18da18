// The React hooks in real React: components count their renders and keep what they rendered,
// and `window.hooks` lets the test drive stores (one page, IndexedDB) and read the counts.
import { Component, createElement as h, memo, useState } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { open } from "fieldstream";
import { useAggregate, useProjectionStatus, useQuery, useSyncStatus } from "fieldstream/react";
import { Order, orders } from "./order.js";

const renders = { query: 0, doc: 0, aggregate: 0, status: 0, syncing: 0, projection: 0, projections: 0 };
const seen = { query: [], doc: [], aggregate: [], status: [], syncing: [], projection: [], projections: [] };
const note = (name, value) => {
  renders[name]++;
  seen[name].push(value);
};

const QueryView = memo(function QueryView({ store }) {
  // An inline spec, a new object every render.
  const page = useQuery(store, "orders", { index: "customerId", equals: "c-1", limit: 10 });
  note("query", page);
  return h("ul", null, page?.docs.map(({ key, doc }) => h("li", { key }, `${key} ${doc.status}`)));
});

const DocView = memo(function DocView({ store }) {
  const doc = useQuery(store, "orders", { key: "o-1" });
  note("doc", doc);
  return h("p", null, doc === undefined ? "loading" : JSON.stringify(doc));
});

const AggregateView = memo(function AggregateView({ store }) {
  const order = useAggregate(store, "Order", "o-1");
  note("aggregate", order);
  return h("p", null, order ? `v${order.version} ${order.state.status}` : "loading");
});

const StatusView = memo(function StatusView({ store, name }) {
  const status = useSyncStatus(store);
  note(name, status);
  return h("p", null, status ? `pending ${status.pending}` : "no store");
});

const ProjectionView = memo(function ProjectionView({ store }) {
  const status = useProjectionStatus(store, "trails");
  note("projection", status);
  return h("p", null, status ? `lag ${status.lag}${status.stopped ? ", stopped" : ""}` : "loading");
});

const ProjectionsView = memo(function ProjectionsView({ store }) {
  const all = useProjectionStatus(store);
  note("projections", all);
  return h("p", null, all ? all.map((status) => status.name).join(", ") : "loading");
});

function UnknownProjection({ store }) {
  useProjectionStatus(store, "no_such_projection");
  return h("p", null, "rendered");
}

/** Order trails (`OrderCreated;OrderPaid`); `apply` throws on payments while `broken.on`. */
const broken = { on: false };
const trails = {
  apply(event, view) {
    if (broken.on && event.type === "OrderPaid") throw new Error("the payment service is down");
    const id = event.stream.slice("Order-".length);
    const trail = view.get(id)?.trail;
    view.put(id, { trail: trail ? `${trail};${event.type}` : event.type });
  },
  maxRetries: 1,
  backoffMs: 300,
};

let bump;
function App({ local, syncing }) {
  const [tick, setTick] = useState(0);
  bump = () => flushSync(() => setTick((n) => n + 1));
  // `tick` reaches QueryView only, so a parent render re-renders it with a fresh inline spec.
  return h("div", null,
    h(QueryView, { store: local, tick }),
    h(DocView, { store: local }),
    h(AggregateView, { store: local }),
    h(StatusView, { store: local, name: "status" }),
    h(StatusView, { store: syncing, name: "syncing" }));
}

class Boundary extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    return this.state.error ? h("p", null, `caught ${this.state.error.name}: ${this.state.error.code}`) : this.props.children;
  }
}

function Unknown({ store }) {
  useQuery(store, "no_such_projection", { index: "status", equals: "Paid" });
  return h("p", null, "rendered");
}

/** Counts the store's live subscriptions and captures its status listeners. */
function spy(store) {
  const counts = { subscribed: 0, active: 0, statusListeners: [] };
  const subscribe = store.subscribe.bind(store);
  store.subscribe = (...args) => {
    const stop = subscribe(...args);
    counts.subscribed++;
    counts.active++;
    return () => {
      counts.active--;
      stop();
    };
  };
  const onStatus = store.onStatus.bind(store);
  store.onStatus = (listener) => {
    counts.statusListeners.push(listener);
    return onStatus(listener);
  };
  return counts;
}

async function main() {
  const name = `hooks-${crypto.randomUUID()}`;
  const local = await open({ name, aggregates: { Order }, projections: { orders } });
  // The same database opened again: stands for another tab.
  const other = await open({ name, aggregates: { Order }, projections: { orders } });
  // Sync to a closed port: its status changes (pending, errors) with no server.
  const syncing = await open({
    name: `${name}-sync`, storage: "memory", aggregates: { Order },
    sync: { url: "http://127.0.0.1:9", live: false, pollMs: 60_000 },
  });
  // A store whose read model can be made to fail, for useProjectionStatus.
  const failing = await open({ name: `${name}-trails`, aggregates: { Order }, projections: { trails, orders } });
  const counts = spy(local);
  const root = createRoot(document.querySelector("#root"));
  flushSync(() => root.render(h(App, { local, syncing })));
  createRoot(document.querySelector("#failing")).render(h(Boundary, null, h(Unknown, { store: local })));
  const projectionRoot = createRoot(document.querySelector("#projections"));
  flushSync(() => projectionRoot.render(h("div", null, h(ProjectionView, { store: failing }), h(ProjectionsView, { store: failing }))));
  createRoot(document.querySelector("#unknown-projection"))
    .render(h(Boundary, null, h(UnknownProjection, { store: failing })));

  const items = [{ productId: "p-1", quantity: 1, unitPrice: 100 }];
  window.hooks = {
    renders: () => ({ ...renders }),
    counts: () => ({ subscribed: counts.subscribed, active: counts.active }),
    /** Whether the last two values `name` rendered are the very same object. */
    sameAsBefore: (name) => seen[name].length >= 2 && seen[name].at(-1) === seen[name].at(-2),
    /** What `name` rendered, as JSON (`undefined` as the string "undefined"). */
    rendered: (name) => seen[name].map((value) => (value === undefined ? "undefined" : JSON.stringify(value))),
    failing: () => document.querySelector("#failing").textContent,
    create: (store, id, customerId) =>
      (store === "other" ? other : local).execute("Order", id, { type: "CreateOrder", customerId, items }).then(() => true),
    pay: (store, id) => (store === "other" ? other : local).execute("Order", id, { type: "PayOrder", amount: 100 }).then(() => true),
    createSyncing: () => syncing.execute("Order", "s-1", { type: "CreateOrder", customerId: "c-9", items }).then(() => true),
    bump: () => bump(),
    /** Calls every status listener of the local store with its (unchanged) status. */
    repeatStatus: () => counts.statusListeners.forEach((listener) => listener(local.status())),
    unmount: () => root.unmount(),
    unknownProjection: () => document.querySelector("#unknown-projection").textContent,
    /** A command on the store whose `trails` read model fails on payments while `broken`. */
    onTrails: (id, type) => failing.execute("Order", id, type === "create"
      ? { type: "CreateOrder", customerId: "c-1", items }
      : { type: "PayOrder", amount: 100 }).then(() => true),
    breakTrails: (on) => {
      broken.on = on;
      return true;
    },
    skipTrails: async () => {
      const [status] = await failing.projections();
      await failing.skipDeadLetter("trails", status.deadLetters[0].eventId);
      return true;
    },
  };
  window.ready = true;
}

main().catch((error) => {
  window.failed = String(error?.stack ?? error);
});
