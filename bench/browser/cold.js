// Scenario 8: cold start, timed from the navigation's start (performance.now() counts from the
// page's time origin) to the first committed command and then to the first query's answer.
// The page is loaded in a fresh browser context, so every script, the .wasm and the database
// are new: what a first visit costs.
//
// - fieldstream: import the package (fetching and compiling the .wasm), `open()` with the Bench
//   aggregate and the `products` projection, `execute` one command of one event, then `get`
//   the product's document.
// - dexie: import Dexie, open a database with an events table and a products table, add the
//   event and put its document in one transaction, then `get` the document.
// - raw: `indexedDB.open` with the same two stores, one transaction putting both, then `get`.
const params = new URLSearchParams(location.search);
const arm = params.get("arm");
const name = params.get("name");

async function fieldstream() {
  const [{ appendCommand, productsProjection, streamRecords }, { openBench }] = await Promise.all([
    import("./domain.js"), import("./fieldstream-adapter.js")]);
  const store = await openBench(name, { projections: { products: productsProjection } });
  const [record] = streamRecords("Bench-1", 1);
  await store.execute("Bench", "1", appendCommand([record]));
  const committed = performance.now();
  const doc = await store.get("products", record.data.productId);
  return { committed, queried: performance.now(), found: doc?.lines === 1 };
}

async function dexie() {
  const [{ default: Dexie }, { productDoc, streamRecords }] = await Promise.all([
    import("/node_modules/dexie/dist/dexie.mjs"), import("./domain.js")]);
  const db = new Dexie(name);
  db.version(1).stores({ events: "[stream+version]", products: "product" });
  await db.open();
  const [record] = streamRecords("Bench-1", 1);
  await db.transaction("rw", db.events, db.products, async () => {
    await db.events.add(record);
    await db.products.put(productDoc(undefined, record.data));
  });
  const committed = performance.now();
  const doc = await db.products.get(record.data.productId);
  return { committed, queried: performance.now(), found: doc?.lines === 1 };
}

async function raw() {
  const { productDoc, streamRecords } = await import("./domain.js");
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("events", { keyPath: ["stream", "version"] });
      request.result.createObjectStore("products", { keyPath: "product" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const [record] = streamRecords("Bench-1", 1);
  await new Promise((resolve, reject) => {
    const tx = db.transaction(["events", "products"], "readwrite");
    tx.objectStore("events").add(record);
    tx.objectStore("products").put(productDoc(undefined, record.data));
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  const committed = performance.now();
  const doc = await new Promise((resolve, reject) => {
    const request = db.transaction("products").objectStore("products").get(record.data.productId);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return { committed, queried: performance.now(), found: doc?.lines === 1 };
}

const arms = { fieldstream, dexie, raw };
arms[arm]().then(
  (result) => { window.result = result; },
  (error) => { window.result = { error: String(error?.stack ?? error) }; },
);
