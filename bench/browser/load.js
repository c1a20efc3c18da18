// Scenario 3 inside the benchmark page: aggregates of several sizes written (untimed) by each
// arm into a fresh database, then loaded again and again, each load timed on its own.
//
// - fieldstream: `store.load("Bench", id)` — the latest snapshot plus the events after it,
//   folded by the aggregate's `evolve`; written in commands of `perCommand` events, so a
//   snapshot lands at the first commit that crosses each multiple of the interval.
// - raw: one `getAll` over the stream's key range, folded by the same reducer in JS.
// - dexie: `where("[stream+version]").between(…).toArray()`, folded the same way.
import Dexie from "/node_modules/dexie/dist/dexie.mjs";
import { appendCommand, chunks, evolve, initialState, streamRecords } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";
import { openDexie } from "./dexie-arm.js";
import { deleteDatabase, openExisting, openRaw, result, storedBytes } from "./raw-idb.js";

const streamOf = (size) => `Bench-L${size}`;
const fold = (records) => records.reduce((state, record) => evolve(state, record.data), initialState());

/** Opens one arm's session: `load(size)` resolves to the folded state of aggregate L<size>. */
async function session(arm, name, every) {
  if (arm === "fieldstream") {
    const store = await openBench(name, { snapshotEvery: every });
    return { load: async (size) => (await store.load("Bench", `L${size}`)).state, close: () => store.close() };
  }
  if (arm === "raw") {
    const db = await openExisting(name);
    return {
      load: async (size) => fold(await result(db.transaction("events").objectStore("events")
        .getAll(IDBKeyRange.bound([streamOf(size), 0], [streamOf(size), Number.MAX_SAFE_INTEGER])))),
      close: () => db.close(),
    };
  }
  const db = new Dexie(name);
  db.version(1).stores({ events: "[stream+version]" });
  await db.open();
  return {
    load: async (size) => fold(await db.events.where("[stream+version]")
      .between([streamOf(size), Dexie.minKey], [streamOf(size), Dexie.maxKey]).toArray()),
    close: () => db.close(),
  };
}

/** Writes aggregates of each size of `sizes` with arm `arm` (untimed); resolves to the bytes stored. */
export async function prepare({ arm, name, sizes, every, perCommand }) {
  if (arm === "fieldstream") {
    const store = await openBench(name, { snapshotEvery: every });
    for (const size of sizes) {
      for (const part of chunks(streamRecords(streamOf(size), size, size), perCommand)) {
        await store.execute("Bench", `L${size}`, appendCommand(part));
      }
    }
    await store.close();
  } else {
    const db = arm === "raw" ? await openRaw(name) : await openDexie(name);
    for (const size of sizes) {
      for (const part of chunks(streamRecords(streamOf(size), size, size), perCommand)) await db.append(part);
    }
    db.close();
  }
  return storedBytes(name);
}

/** Loads each aggregate `loads` times in a new session; resolves to the times (ms) per size. */
export async function timeLoads({ arm, name, sizes, every, loads }) {
  const s = await session(arm, name, every);
  const times = {};
  try {
    for (const size of sizes) {
      times[size] = [];
      for (let i = 0; i < loads; i++) {
        const started = performance.now();
        const state = await s.load(size);
        times[size].push(performance.now() - started);
        if (state.events !== size) throw new Error(`${arm}: aggregate L${size} loaded with ${state.events} events`);
      }
    }
  } finally {
    await s.close();
  }
  return times;
}

/** Deletes database `name`. */
export const drop = (name) => deleteDatabase(name);
