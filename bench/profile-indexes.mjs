#!/usr/bin/env node
// What the indexes of an events store cost a write, in Chromium: the measurement behind the
// choice of IndexedDB layout (BENCHMARKS.md, "The command path, step by step"). The same records
// as fieldstream's layout 7 writes for a new command (`stream`, `version`, `seq`, a random
// `id`, `pending`, the envelope as JSON text) are added in one readwrite transaction per
// command to stores keyed by `[stream, version]` that differ only in their unique indexes:
//
// - `none`: no index (raw IndexedDB's layout);
// - `seq`: `by_seq`;
// - `seq+id`: `by_seq` and `by_id`;
// - `layout 7`: `by_seq`, `by_id`, `by_position` and `by_pending` (a pending record has no
//   `position`, so that index holds nothing for it);
// - `layout 7, v7 ids`: the same with time-ordered ids (UUID version 7: 48 bits of Unix
//   milliseconds, then random bits), so that `by_id` grows at its end like `by_seq`;
// - `layout 7, binary ids`: the same with each id as its 16 bytes (an `ArrayBuffer` key)
//   instead of its 36-character text;
// - `record per command`: one record per command holding its events (their ids and bodies
//   in arrays), keyed by `[stream, first version]`, with `by_seq` (its last sequence number)
//   and `by_pending` (its first): one index entry per command instead of per event.
//
// Each repetition writes a fresh database per variant, the variants' order rotated; the ratios
// are paired per repetition against `none`.
//
//   node bench/profile-indexes.mjs [repetitions]
import { launchChromium, serveRepository } from "../tests/browser/harness.mjs";
import { pairedRatio, median, rotated } from "./lib/stats.mjs";

const repetitions = Number(process.argv[2] ?? 7);
const shapes = [
  { perCommand: 1, events: 1_000 },
  { perCommand: 100, events: 10_000 },
];
const variants = {
  none: [],
  seq: ["seq"],
  "seq+id": ["seq", "id"],
  "layout 7": ["seq", "id", "position", "pending"],
  "layout 7, v7 ids": ["seq", "id", "position", "pending"],
  "layout 7, binary ids": ["seq", "id", "position", "pending"],
  "record per command": ["seq", "pending"],
};

/** In the page: writes `events` records in commands of `perCommand` to a new database whose
 * events store has a unique index on each of `fields`; resolves to the milliseconds taken. */
async function write({ name, fields, perCommand, events, timeOrdered, binary, perRecord }) {
  const binaryId = () => crypto.getRandomValues(new Uint8Array(16)).buffer;
  const v7 = () => {
    const time = Date.now().toString(16).padStart(12, "0");
    return `${time.slice(0, 8)}-${time.slice(8)}-7${crypto.randomUUID().slice(15)}`;
  };
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore("events", { keyPath: ["stream", "version"] });
      for (const field of fields) store.createIndex(`by_${field}`, field, { unique: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const body = JSON.stringify({ type: "LineAdded", data: { sku: "s".repeat(200), quantity: 3 } });
  let seq = 0;
  const started = performance.now();
  for (let command = 0; command < events / perCommand; command += 1) {
    await new Promise((resolve, reject) => {
      const tx = db.transaction("events", "readwrite");
      const store = tx.objectStore("events");
      const stream = `Order-${command % 50}`;
      if (perRecord) {
        const first = seq + 1;
        seq += perCommand;
        const ids = Array.from({ length: perCommand }, () => crypto.randomUUID());
        store.add({ stream, version: first, seq, pending: first, ids, bodies: ids.map(() => body) });
      } else {
        for (let i = 0; i < perCommand; i += 1) {
          seq += 1;
          const id = binary ? binaryId() : timeOrdered ? v7() : crypto.randomUUID();
          store.add({ stream, version: seq, seq, id, pending: seq, body });
        }
      }
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.commit();
    });
  }
  const elapsed = performance.now() - started;
  db.close();
  return elapsed;
}

const site = await serveRepository();
const browser = await launchChromium();
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${site.origin}/bench/page.html`);
  for (const shape of shapes) {
    const times = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (let rep = 0; rep < repetitions; rep += 1) {
      for (const name of rotated(Object.keys(variants), rep)) {
        const database = `indexes-${shape.perCommand}-${name}-${rep}`;
        times[name].push(await page.evaluate(write, {
          name: database, fields: variants[name], timeOrdered: name.endsWith("v7 ids"), binary: name.endsWith("binary ids"),
          perRecord: name === "record per command",
          ...shape,
        }));
      }
    }
    console.log(`\n== ${shape.events} events in commands of ${shape.perCommand} (${repetitions} repetitions)`);
    for (const [name, runs] of Object.entries(times)) {
      const ratio = pairedRatio(runs, times.none);
      console.log(`${name.padEnd(20)} median ${median(runs).toFixed(0)} ms, time ÷ none ${ratio.median} (${ratio.min}–${ratio.max})`);
    }
  }
} finally {
  await browser.close();
  await site.close();
}
