// The fieldstream arm of the browser scenarios, behind one small adapter so that the harness
// does not care how the package is driven.
//
// The arm opens the package's public API, `open()`, on IndexedDB with one aggregate, `Bench`,
// written in JavaScript as an app would: its command carries the events to append, `decide`
// returns them, and its state stays empty (so the figure is storage, not domain work). A
// benchmark command of N records becomes one `execute` of a command producing N events on a
// new `Bench` aggregate: the events, the outbox entry and the stream's idempotency and
// snapshot checks commit in one IndexedDB transaction, as for any app.
import { open } from "/js/browser.js";
import { evolve, initialState } from "./domain.js";

/** What the results call this arm. */
export const label = "fieldstream (open(), JS aggregate)";

/** Every command size (1, 10, 100, 1,000 events) can be expressed. */
export function supports() {
  return true;
}

/** The command that appends `records`, prepared before the clock starts. */
export function commandFor(records) {
  const id = records[0].stream.slice("Bench-".length);
  const events = records.map(({ type, data }) => ({ type, data }));
  return ["Bench", id, { type: "Append", events }];
}

/** The personal data of the sealed arm: each event's `note` (about 200 bytes) belongs to the
 * customer its `customerId` names. */
export const personalData = { ItemAdded: { subject: "customerId", fields: ["note"] } };

/** The sealed arm's command: as `commandFor`, with one customer per command among 100 (a
 * sales territory), so that the run seals under 100 subject keys, as an app would, instead of
 * making a key per event. */
export function sealedCommandFor(records) {
  const [bench, id, command] = commandFor(records);
  const customer = `c-${String(Number(records[0].metadata.correlationId.slice("bench-".length)) % 100).padStart(5, "0")}`;
  return [bench, id, { ...command, events: command.events.map((event) => ({ ...event, data: { ...event.data, customerId: customer } })) }];
}

/** Opens the arm on IndexedDB database `name` with the browser's default durability (or
 * `strict`); `sealed` declares `personalData`, so every event's note is encrypted under its
 * customer's key. */
export async function openArm(name, { sealed = false, strict = false } = {}) {
  const store = await open({
    name,
    storage: "indexeddb",
    ...(strict ? { durability: "strict" } : {}),
    aggregates: {
      Bench: {
        initialState: () => ({}),
        decide: (_state, command) => command.events,
        evolve: (state) => state,
        snapshotEvery: 0,
        ...(sealed ? { personalData } : {}),
      },
    },
  });
  return {
    /** Executes one prepared command; resolves once its transaction has completed. */
    execute: (command) => store.execute(...command),
    close: () => store.close(),
  };
}

/**
 * Opens fieldstream with aggregate `Bench` (the domain of domain.js; snapshots every `snapshotEvery`
 * events, 0 = off) and the given projections and sync options.
 */
export function openBench(name, { snapshotEvery = 0, projections, sync, storage = "indexeddb", strict = false } = {}) {
  return open({
    name,
    storage,
    ...(strict ? { durability: "strict" } : {}),
    aggregates: {
      Bench: {
        initialState,
        decide: (_state, command) => command.events,
        evolve: (state, event) => evolve(state, event.data),
        snapshotEvery,
      },
    },
    ...(projections ? { projections } : {}),
    ...(sync ? { sync } : {}),
  });
}
