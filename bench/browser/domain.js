// The domain the benchmark scenarios 3–6, 8 and 10 share: an order-line aggregate whose state
// sums what its events carry, a per-product read model, and the same logic as plain JS
// reducers for the raw-IndexedDB and Dexie arms, so every arm does the same work per event.
// Plain JS, no fieldstream import (the cold-start baselines load it); `openBench` in
// fieldstream-adapter.js puts it into fieldstream.
import { payload } from "./events.js";

/** The state of an aggregate with no events. */
export const initialState = () => ({ events: 0, quantity: 0, revenue: 0, lastProduct: null });

/** The state after one event's payload `data`. */
export function evolve(state, data) {
  return {
    events: state.events + 1,
    quantity: state.quantity + data.quantity,
    revenue: state.revenue + data.quantity * data.unitPrice,
    lastProduct: data.productId,
  };
}

/** The per-product read-model document after one event's payload `data`. */
export function productDoc(doc, data) {
  return { product: data.productId, lines: (doc?.lines ?? 0) + 1, quantity: (doc?.quantity ?? 0) + data.quantity };
}

/** The records of `count` events of stream `stream` (versions 1…count), about 300 bytes each. */
export function streamRecords(stream, count, seed = 0) {
  const records = [];
  for (let i = 0; i < count; i++) {
    records.push({
      stream, version: i + 1, id: crypto.randomUUID(), type: "ItemAdded", schemaVersion: 1,
      data: payload(seed % 1000, seed + i), metadata: { correlationId: `bench-${stream}` },
    });
  }
  return records;
}

/** `list` cut into pieces of `size`. */
export function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** The fieldstream command appending `records` (their type and payload) to aggregate `Bench`. */
export const appendCommand = (records) => ({ type: "Append", events: records.map(({ type, data }) => ({ type, data })) });

/** The `products` projection: one document per product. */
export const productsProjection = {
  apply: (event, view) => view.put(event.data.productId, productDoc(view.get(event.data.productId), event.data)),
};
