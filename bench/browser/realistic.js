// Scenario 1's realistic variant, inside the benchmark page: one-event commands spread over 10
// aggregates that already hold events, the way an app works, with fieldstream's default
// snapshot interval (100) and one inline projection (`products`, one document per product).
// The raw and Dexie arms do the same work by hand: each command appends its event and updates
// its product's document in one transaction (the stream's next version is known in memory,
// as a hand-written app would keep it).
import { appendCommand, chunks, productDoc, productsProjection, streamRecords } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";
import { openDexie } from "./dexie-arm.js";
import { durabilityOf } from "./durability.js";
import { countEvents, deleteDatabase, result } from "./raw-idb.js";

/** Aggregates the commands are spread over, and the events each holds before the clock starts. */
export const AGGREGATES = 10;
export const PRELOADED = 50;

async function openRawDocs(name, strict) {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("events", { keyPath: ["stream", "version"] });
      request.result.createObjectStore("docs");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const options = strict ? { durability: "strict" } : undefined;
  return {
    /** Appends `records` and folds them into their products' documents, in one transaction. */
    async run(records) {
      const tx = db.transaction(["events", "docs"], "readwrite", options);
      const done = new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
      });
      const docs = tx.objectStore("docs");
      for (const record of records) tx.objectStore("events").put(record);
      const keys = [...new Set(records.map((record) => record.data.productId))];
      const found = await Promise.all(keys.map((key) => result(docs.get(key))));
      const current = new Map(keys.map((key, i) => [key, found[i]]));
      for (const record of records) {
        current.set(record.data.productId, productDoc(current.get(record.data.productId), record.data));
      }
      for (const [key, doc] of current) docs.put(doc, key);
      tx.commit();
      await done;
    },
    close: () => db.close(),
  };
}

async function openDexieDocs(name, strict) {
  const db = await openDexie(name, { strict, tables: { docs: "" } });
  return {
    run: (records) => db.dexie.transaction("rw", db.dexie.events, db.dexie.docs, async () => {
      const keys = [...new Set(records.map((record) => record.data.productId))];
      const found = await db.dexie.docs.bulkGet(keys);
      const current = new Map(keys.map((key, i) => [key, found[i]]));
      for (const record of records) {
        current.set(record.data.productId, productDoc(current.get(record.data.productId), record.data));
      }
      await Promise.all([db.dexie.events.bulkPut(records), db.dexie.docs.bulkPut([...current.values()], [...current.keys()])]);
    }),
    close: db.close,
  };
}

async function openFieldstream(name, strict) {
  const store = await openBench(name, { snapshotEvery: 100, projections: { products: productsProjection }, strict });
  return {
    run: (records) => store.execute("Bench", records[0].stream.slice("Bench-".length), appendCommand(records)),
    close: () => store.close(),
  };
}

const opens = { raw: openRawDocs, dexie: openDexieDocs, fieldstream: openFieldstream };

/**
 * One repetition of arm `arm` on database `name`: `PRELOADED` events per aggregate written
 * before the clock starts, then `commands` one-event commands, aggregate by aggregate in
 * turn, timed from the first to the last one's completion.
 */
export async function realisticRun({ arm, commands, name, strict = false }) {
  const perAggregate = Math.ceil(commands / AGGREGATES);
  const streams = Array.from({ length: AGGREGATES }, (_, a) =>
    streamRecords(`Bench-agg${a}`, PRELOADED + perAggregate, a * 1_000_003));
  const session = await opens[arm](name, strict);
  for (const records of streams) {
    for (const chunk of chunks(records.slice(0, PRELOADED), PRELOADED)) await session.run(chunk);
  }
  const timed = [];
  for (let i = 0; i < commands; i++) timed.push([streams[i % AGGREGATES][PRELOADED + Math.floor(i / AGGREGATES)]]);
  const started = performance.now();
  for (const records of timed) await session.run(records);
  const ms = performance.now() - started;
  const durability = durabilityOf(name);
  session.close();
  const stored = await countEvents(name) - AGGREGATES * PRELOADED;
  await deleteDatabase(name);
  return { ms, events: commands, stored, durability };
}
