// Scenario 6 inside the benchmark page, served by the fieldstream-server it drains to (same
// origin): an offline queue of `events` one-event commands, written untimed, then drained to
// the server in requests of `batch` events, timed from opening the database to an empty queue.
// Every request goes through the page's `fetch`, which this module wraps to count requests
// and bytes (request bodies as sent, answers by their Content-Length).
//
// - fieldstream: `open({ sync: { url, batchSize, live: false } })`, then `sync()` until nothing
//   is pending: what the package does (push the oldest entries as one `POST /v1/batch`, pull to
//   the server's head, store acknowledgements and confirmations).
// - raw: a hand-written outbox (one IndexedDB store of `{ stream, events }` entries): `getAll`
//   the oldest `batch`, one `POST /v1/batch` of protocol v1 with the same events, then delete
//   the acknowledged entries in one transaction; until empty.
import { appendCommand, streamRecords } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";
import { countIdbCalls } from "./idb-calls.js";
import { deleteDatabase, openExisting, result } from "./raw-idb.js";

const counts = { requests: 0, sent: 0, received: 0, byPath: {} };
const original = globalThis.fetch.bind(globalThis);
// Counts the protocol's requests only (paths under /v1/): the package's own fetch of its wasm
// module is not part of a drain.
globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  if (!url.pathname.startsWith("/v1/")) return original(input, init);
  const key = `${init?.method ?? "GET"} ${url.pathname}`;
  counts.requests += 1;
  counts.byPath[key] = (counts.byPath[key] ?? 0) + 1;
  counts.sent += typeof init?.body === "string" ? new TextEncoder().encode(init.body).length : 0;
  const response = await original(input, init);
  counts.received += Number(response.headers.get("content-length") ?? 0);
  return response;
};

/** The queue's events: command c appends version 1 of stream `Bench-<prefix>-<c>`. */
const queue = (prefix, events) =>
  Array.from({ length: events }, (_, c) => streamRecords(`Bench-${prefix}-${c}`, 1, c)[0]);

/** Writes the offline queue (untimed). */
export async function prepare({ arm, name, prefix, events }) {
  const records = queue(prefix, events);
  if (arm === "fieldstream") {
    const store = await openBench(name);
    for (const record of records) {
      await store.execute("Bench", record.stream.slice("Bench-".length), appendCommand([record]));
    }
    await store.close();
    return;
  }
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("outbox", { autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    for (const { stream, id, type, schemaVersion, data, metadata } of records) {
      tx.objectStore("outbox").add({ stream, events: [{ id, type, schemaVersion, data, metadata }] });
    }
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

async function drainRaw(name, batch) {
  const db = await openExisting(name);
  for (;;) {
    const tx = db.transaction("outbox");
    const [keys, entries] = await Promise.all([result(tx.objectStore("outbox").getAllKeys(null, batch)),
      result(tx.objectStore("outbox").getAll(null, batch))]);
    if (entries.length === 0) break;
    const body = JSON.stringify({
      appends: entries.map(({ stream, events }) => ({ stream, expectedVersion: 0, events })),
    });
    const answer = await fetch("/v1/batch", { method: "POST", headers: { "content-type": "application/json" }, body });
    if (!answer.ok) throw new Error(`raw drain: ${answer.status}`);
    const { results } = await answer.json();
    if (results.some((r) => r.status !== "ok")) throw new Error(`raw drain: ${JSON.stringify(results.find((r) => r.status !== "ok"))}`);
    await new Promise((resolve, reject) => {
      const del = db.transaction("outbox", "readwrite");
      del.objectStore("outbox").delete(IDBKeyRange.bound(keys[0], keys[keys.length - 1]));
      del.oncomplete = resolve;
      del.onerror = () => reject(del.error);
    });
  }
  db.close();
}

/**
 * The timed drain; resolves to its time, the counted traffic and what is left in the queue
 * (and, with `countCalls`, the IndexedDB calls it made: for profiles, not for timed runs).
 */
export async function drain({ arm, name, batch, countCalls = false }) {
  Object.assign(counts, { requests: 0, sent: 0, received: 0, byPath: {} });
  const stop = countCalls ? countIdbCalls() : () => undefined;
  const started = performance.now();
  let left;
  let ms;
  if (arm === "fieldstream") {
    const store = await openBench(name, { sync: { url: location.origin, batchSize: batch, live: false, pollMs: 3_600_000 } });
    // `sync()` drains the whole outbox; a round the driver started by itself may come first.
    for (let i = 0; i < 10; i++) {
      await store.sync();
      if (store.status().pending === 0) break;
    }
    ms = performance.now() - started;
    left = store.status().pending;
    await store.close();
  } else {
    await drainRaw(name, batch);
    ms = performance.now() - started;
    const db = await openExisting(name);
    left = await result(db.transaction("outbox").objectStore("outbox").count());
    db.close();
  }
  const calls = stop();
  return { ms, left, calls, requests: counts.requests, sent: counts.sent, received: counts.received, byPath: { ...counts.byPath } };
}

/** Deletes database `name`. */
export const drop = (name) => deleteDatabase(name);
