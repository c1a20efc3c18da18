#!/usr/bin/env node
// Where the time of one fieldstream command goes in the browser (the profile behind
// BENCHMARKS.md's scenario 2 analysis): counts the IndexedDB calls one `execute` makes (by
// wrapping the IndexedDB prototypes in the page), and times loading a new aggregate, executing a
// command and a bare read-only transaction, each as the median of 100.
//
//   node bench/profile-execute.mjs        # needs pkg/ (npm run build)
import { launchChromium, openPage, serveRepository } from "../tests/browser/harness.mjs";

const server = await serveRepository();
const browser = await launchChromium();
try {
  const { page } = await openPage(browser, server.origin, "/bench/page.html");
  const profile = await page.evaluate(async () => {
    const { Engine } = await import("/js/browser.js");
    const engine = await Engine.openIndexedDb(`profile-${Date.now()}`);
    const items = [{ productId: "p-1", quantity: 2, unitPrice: 2490 }];
    const create = (id) => engine.execute("Order", id, { type: "CreateOrder", customerId: "c-1", items });
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    for (let i = 0; i < 5; i++) await create(`warm-${i}`);

    const calls = {};
    const count = (key) => { calls[key] = (calls[key] ?? 0) + 1; };
    const wrap = (proto, name, key) => {
      const original = proto[name];
      proto[name] = function (...args) {
        count(key);
        if (name === "transaction") {
          const stores = Array.isArray(args[0]) ? args[0].length : 1;
          count(`transaction ${args[1] ?? "readonly"} over ${stores} store(s)`);
        }
        return original.apply(this, args);
      };
      return () => { proto[name] = original; };
    };
    const unwrap = [
      ...["put", "add", "get", "getAll", "getAllKeys", "count", "openCursor", "delete"]
        .map((name) => wrap(IDBObjectStore.prototype, name, `store.${name}`)),
      ...["get", "getAll", "getAllKeys", "count", "openCursor"]
        .map((name) => wrap(IDBIndex.prototype, name, `index.${name}`)),
      wrap(IDBDatabase.prototype, "transaction", "transactions"),
      wrap(BroadcastChannel.prototype, "postMessage", "BroadcastChannel messages"),
    ];
    const commands = 50;
    for (let i = 0; i < commands; i++) await create(`counted-${i}`);
    unwrap.forEach((restore) => restore());
    const perCommand = Object.fromEntries(Object.entries(calls).map(([key, n]) => [key, n / commands]));

    const times = { loadNewAggregate: [], execute: [], bareReadOnlyTransaction: [] };
    for (let i = 0; i < 100; i++) {
      let started = performance.now();
      await engine.load("Order", `timed-${i}`);
      times.loadNewAggregate.push(performance.now() - started);
      started = performance.now();
      await create(`timed-${i}`);
      times.execute.push(performance.now() - started);
    }
    const db = await new Promise((resolve) => {
      const request = indexedDB.open(`profile-raw-${Date.now()}`, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("s");
      request.onsuccess = () => resolve(request.result);
    });
    for (let i = 0; i < 100; i++) {
      const started = performance.now();
      await new Promise((resolve) => {
        const tx = db.transaction("s");
        tx.objectStore("s").get(i);
        tx.oncomplete = resolve;
      });
      times.bareReadOnlyTransaction.push(performance.now() - started);
    }
    const medianMs = Object.fromEntries(Object.entries(times).map(([key, list]) => [key, median(list)]));
    return { perCommand, medianMs };
  });
  console.log("IndexedDB calls per execute:", profile.perCommand);
  console.log("median ms:", profile.medianMs);
} finally {
  await browser.close();
  await server.close();
}
