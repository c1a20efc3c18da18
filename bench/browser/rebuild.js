// Scenario 4 inside the benchmark page: rebuilding a per-product read model from a log of
// events. Each arm first writes the log (untimed, commands of 100 events), then the timed part
// reads every event and stores the finished read model:
//
// - fieldstream: `open()` with the `products` projection added, which brings it up to date from
//   the log before it resolves (catch-up in steps of 500 events); timed from `open` to its end.
// - raw: `getAll` pages of 500 events (each page starts after the last key), the same reducer
//   in a Map, then one transaction putting every document.
// - dexie: `where(":id").above(lastKey).limit(500)` pages, the same reducer, one `bulkPut`.
import Dexie from "/node_modules/dexie/dist/dexie.mjs";
import { appendCommand, productDoc, productsProjection } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";
import { commandRecords } from "./events.js";
import { openDexie } from "./dexie-arm.js";
import { deleteDatabase, openExisting, openRaw, result } from "./raw-idb.js";

const PAGE = 500;

/** Writes `total` events with arm `arm` into database `name` (untimed). */
export async function prepare({ arm, name, total }) {
  const commands = commandRecords(total, 100);
  if (arm === "fieldstream") {
    const store = await openBench(name);
    for (const records of commands) {
      await store.execute("Bench", records[0].stream.slice("Bench-".length), appendCommand(records));
    }
    await store.close();
    return;
  }
  const db = arm === "raw" ? await openRaw(name) : await openDexie(name);
  for (const records of commands) await db.append(records);
  db.close();
  if (arm === "dexie") {
    // The read model's table exists before the clock starts, as fieldstream's store does.
    const dexie = dexieWithProducts(name);
    await dexie.open();
    dexie.close();
  } else {
    // The read model's store exists before the clock starts, as fieldstream's does.
    const existing = await openExisting(name);
    const version = existing.version;
    // Closed first: an open connection would block the upgrade below for good.
    existing.close();
    await new Promise((resolve, reject) => {
      const request = indexedDB.open(name, version + 1);
      request.onupgradeneeded = () => request.result.createObjectStore("products");
      request.onsuccess = () => { request.result.close(); resolve(); };
      request.onerror = () => reject(request.error);
    });
  }
}

async function rebuildRaw(name) {
  const db = await openExisting(name);
  const docs = new Map();
  let after = null;
  for (;;) {
    const range = after === null ? null : IDBKeyRange.lowerBound(after, true);
    const page = await result(db.transaction("events").objectStore("events").getAll(range, PAGE));
    for (const { data } of page) docs.set(data.productId, productDoc(docs.get(data.productId), data));
    if (page.length < PAGE) break;
    after = [page[page.length - 1].stream, page[page.length - 1].version];
  }
  await new Promise((resolve, reject) => {
    const tx = db.transaction("products", "readwrite");
    const store = tx.objectStore("products");
    for (const [key, doc] of docs) store.put(doc, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.commit();
  });
  db.close();
  return docs.size;
}

function dexieWithProducts(name) {
  const db = new Dexie(name);
  db.version(1).stores({ events: "[stream+version]" });
  db.version(2).stores({ events: "[stream+version]", products: "product" });
  return db;
}

async function rebuildDexie(name) {
  const db = dexieWithProducts(name);
  await db.open();
  const docs = new Map();
  let page = await db.events.limit(PAGE).toArray();
  for (;;) {
    for (const { data } of page) docs.set(data.productId, productDoc(docs.get(data.productId), data));
    if (page.length < PAGE) break;
    const last = page[page.length - 1];
    page = await db.events.where(":id").above([last.stream, last.version]).limit(PAGE).toArray();
  }
  await db.products.bulkPut([...docs.values()]);
  db.close();
  return docs.size;
}

/** The timed rebuild; resolves to its time and the number of documents it made. */
export async function rebuild({ arm, name, products }) {
  const started = performance.now();
  let docs;
  if (arm === "fieldstream") {
    const store = await openBench(name, { projections: { products: productsProjection } });
    const ms = performance.now() - started;
    // Checked after the clock: one document per product, the first with its lines counted.
    const first = await store.get("products", "p-0000");
    await store.close();
    return { ms, docs: first ? products : 0, lines: first?.lines };
  }
  docs = arm === "raw" ? await rebuildRaw(name) : await rebuildDexie(name);
  return { ms: performance.now() - started, docs };
}

/** Deletes database `name`. */
export const drop = (name) => deleteDatabase(name);
