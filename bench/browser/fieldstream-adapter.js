// The fieldstream arm of the browser scenarios, behind one small adapter so that the harness
// does not care which JavaScript API of the package it drives.
//
// TODAY (stopgap API): the package exports `Engine`, whose only aggregate is the built-in Order
// example, and every Order command produces exactly one event. So this arm supports commands of
// one event only: a benchmark command of one record becomes `CreateOrder` on a new order (the
// record's stream), with items sized so that the `OrderCreated` event is about 300 bytes of JSON
// like the other arms' records. The engine also updates its `orders` read model and writes an
// outbox entry in the same transaction, as it does for any app; that work is part of the figure.
//
// WHEN `open()` LANDS (issue 7), change only this file:
//   - `openArm(name)`: `const store = await open({ name, storage: "indexeddb", aggregates: {
//       Bench: { initialState: () => ({}), decide: (_state, command) => command.events,
//                evolve: (state) => state } } })`; `close: () => store.close()`;
//   - `commandFor(records)`: `["Bench", records[0].stream,
//       { type: "AddItems", events: records.map(({ type, data }) => ({ type, data })) }]`,
//     executed as `store.execute(...command)`;
//   - `supports()`: every command size (1, 10, 100, 1,000 events), so scenario 1 gets its
//     fieldstream rows at 10+ events per command, where the targets are set.
import { Engine } from "/js/browser.js";

/** What the results call this arm. */
export const label = "fieldstream (Engine, Order example)";

/** Whether a command of `perCommand` events can be expressed with today's API. */
export function supports(perCommand) {
  return perCommand === 1;
}

/** The Order items of a `CreateOrder` whose event is about 300 bytes, from a record's payload. */
function itemsFor(data) {
  const items = [];
  const event = { customerId: data.customerId, items, total: 0 };
  while (JSON.stringify(event).length < 280) {
    const item = { productId: `${data.productId}-${items.length}`, quantity: data.quantity,
      unitPrice: data.unitPrice };
    items.push(item);
    event.total += item.quantity * item.unitPrice;
  }
  return items;
}

/** The command that appends `records` (one record today), prepared before the clock starts. */
export function commandFor(records) {
  if (!supports(records.length)) throw new Error(`${label}: commands of ${records.length} events`);
  const [{ stream, data }] = records;
  return ["Order", stream, { type: "CreateOrder", customerId: data.customerId, items: itemsFor(data) }];
}

/** Opens the arm on IndexedDB database `name` with the browser's default durability. */
export async function openArm(name) {
  const engine = await Engine.openIndexedDb(name);
  return {
    /** Executes one prepared command; resolves once its transaction has completed. */
    execute: (command) => engine.execute(...command),
    close: () => engine.close(),
  };
}
