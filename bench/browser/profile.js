// The page side of bench/profile-execute.mjs: one fieldstream store in the configuration being
// profiled, a way to count the IndexedDB calls of its commands, and timings of its commands
// against one raw `put` transaction.
import { commandRecords } from "./events.js";
import { openBench } from "./fieldstream-adapter.js";
import { openRaw } from "./raw-idb.js";
import { productsProjection } from "./domain.js";
import { countIdbCalls } from "./idb-calls.js";

let store;
let raw;
let next = 0;
let command;
/** Events per command of the variant: the raw transactions timed against it write as many. */
let perCommand = 1;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Opens the store of `variant` ("new stream", "existing aggregates" or "1,000-event
 * commands") and warms it up. */
export async function prepare(variant) {
  const name = `profile-${Date.now()}`;
  raw = await openRaw(`${name}-raw`);
  perCommand = 1;
  if (variant === "1,000-event commands") {
    perCommand = 1000;
    store = await openBench(name);
    command = () => {
      const records = commandRecords(1000, 1000, next)[0];
      return ["Bench", `big-${next++}`, { type: "Append", events: records.map(({ type, data }) => ({ type, data })) }];
    };
  } else if (variant === "new stream") {
    store = await openBench(name);
    command = () => {
      const [record] = commandRecords(1, 1, next++)[0];
      return ["Bench", `new-${next}`, { type: "Append", events: [{ type: record.type, data: record.data }] }];
    };
  } else {
    store = await openBench(name, { snapshotEvery: 100, projections: { products: productsProjection } });
    const aggregates = 10;
    for (let a = 0; a < aggregates; a++) {
      const records = commandRecords(50, 50, a)[0];
      await store.execute("Bench", `agg-${a}`, { type: "Append", events: records.map(({ type, data }) => ({ type, data })) });
    }
    command = () => {
      const [record] = commandRecords(1, 1, next)[0];
      return ["Bench", `agg-${next++ % aggregates}`, { type: "Append", events: [{ type: record.type, data: record.data }] }];
    };
  }
  for (let i = 0; i < 10; i++) await store.execute(...command());
}

/** The IndexedDB calls (and transactions, by mode and scope) per command, over `commands`. */
export async function countCalls(commands) {
  const stop = countIdbCalls();
  for (let i = 0; i < commands; i++) await store.execute(...command());
  const calls = stop();
  return Object.fromEntries(Object.entries(calls).map(([key, n]) => [key, n / commands]));
}

/** Median ms of `samples` commands and of as many raw transactions writing as many events
 * (one `put` each), interleaved; `meanRatio` divides their sums, finer than the timer's
 * 0.1 ms steps that round each median. */
export async function time(samples) {
  const times = { execute: [], rawPut: [] };
  const records = commandRecords(samples * perCommand, perCommand);
  for (let i = 0; i < samples; i++) {
    let started = performance.now();
    await store.execute(...command());
    times.execute.push(performance.now() - started);
    started = performance.now();
    await raw.append(records[i]);
    times.rawPut.push(performance.now() - started);
  }
  const sum = (values) => values.reduce((total, value) => total + value, 0);
  return {
    execute: median(times.execute),
    rawPut: median(times.rawPut),
    ratio: median(times.execute) / median(times.rawPut),
    meanRatio: sum(times.execute) / sum(times.rawPut),
  };
}
