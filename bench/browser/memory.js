// Scenario 10 inside the benchmark page: one aggregate of `total` events written (untimed, in
// one page), then replayed in a fresh page while the orchestrator samples the JS heap through
// the DevTools protocol. Snapshots are off, so the replay folds every event.
//
// - fieldstream: `store.load` (pages of events from IndexedDB, folded by `evolve`); the wasm
//   memory's size is read after the replay (it only grows, so it is the peak).
// - raw: `getAll` pages of 1,000 events, each page starting after the last key, folded by the
//   same reducer: what replaying in constant memory takes by hand.
import { appendCommand, chunks, evolve, initialState, streamRecords } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";
import { deleteDatabase, openExisting, openRaw, result } from "./raw-idb.js";

const STREAM = "Bench-M";

/** Writes the log (untimed). */
export async function prepare({ arm, name, total }) {
  const pieces = chunks(streamRecords(STREAM, total), 1000);
  if (arm === "fieldstream") {
    const store = await openBench(name);
    for (const part of pieces) await store.execute("Bench", "M", appendCommand(part));
    await store.close();
  } else {
    const db = await openRaw(name);
    for (const part of pieces) await db.append(part);
    db.close();
  }
}

/** The wasm module's memory in bytes (0 before fieldstream was loaded): the lite module's, which
 * the browser entry opens a store without sync on. */
async function wasmBytes() {
  const glue = await import("/pkg/lite/fieldstream.js");
  const exports = await glue.default();
  return exports.memory.buffer.byteLength;
}

/** Opens the arm's session (untimed): `replay()` folds the whole log. */
export async function open({ arm, name }) {
  if (arm === "fieldstream") {
    const store = await openBench(name);
    const before = await wasmBytes();
    window.memorySession = {
      replay: async () => (await store.load("Bench", "M")).state,
      after: async () => ({ wasmBefore: before, wasmAfter: await wasmBytes() }),
      close: () => store.close(),
    };
  } else {
    const db = await openExisting(name);
    window.memorySession = {
      async replay() {
        let state = initialState();
        let after = 0;
        for (;;) {
          const page = await result(db.transaction("events").objectStore("events")
            .getAll(IDBKeyRange.bound([STREAM, after], [STREAM, Number.MAX_SAFE_INTEGER], true), 1000));
          for (const record of page) state = evolve(state, record.data);
          if (page.length < 1000) return state;
          after = page[page.length - 1].version;
        }
      },
      after: async () => ({}),
      close: () => db.close(),
    };
  }
}

/** The replay (timed by the caller); resolves to the events folded and the time. */
export async function replay() {
  const started = performance.now();
  const state = await window.memorySession.replay();
  return { ms: performance.now() - started, events: state.events };
}

/** Ends the session: the wasm memory before and after the replay (fieldstream only). */
export async function close() {
  const after = await window.memorySession.after();
  await window.memorySession.close();
  return after;
}

/** Deletes database `name`. */
export const drop = (name) => deleteDatabase(name);
