// Scenario 5 inside the benchmark page: what the JS↔wasm boundary costs per event, on the
// memory store (no IndexedDB in the way). One aggregate of `events` events is written, then
// each arm runs once per round, interleaved; the first round of a fresh page is the cold one.
//
// - load: `store.load` — the engine hands `evolve` each page of events as one JSON text
//   (`JSON.parse` once per page) and calls `evolve` once per event; the state comes back as JSON.
// - history: `store.history` — every event back to JS through serde-wasm-bindgen, field by field.
// - json: the floor of a per-batch JSON crossing in JS alone: `JSON.parse` of the events' text,
//   then the same fold.
// - js: the same fold over events already in JS (no crossing at all).
import { appendCommand, chunks, evolve, initialState, streamRecords } from "./domain.js";
import { openBench } from "./fieldstream-adapter.js";

const fold = (events) => events.reduce((state, event) => evolve(state, event.data), initialState());

/** One run: resolves to per-arm lists of µs per event (index 0 is the cold round). */
export async function run({ events, rounds }) {
  const store = await openBench(`crossing-${Date.now()}`, { storage: "memory" });
  try {
    for (const part of chunks(streamRecords("Bench-X", events), 500)) {
      await store.execute("Bench", "X", appendCommand(part));
    }
    const text = JSON.stringify(await store.history("Bench", "X"));
    const inJs = JSON.parse(text);
    const arms = {
      load: async () => (await store.load("Bench", "X")).state,
      history: async () => fold(await store.history("Bench", "X")),
      json: async () => fold(JSON.parse(text)),
      js: async () => fold(inJs),
    };
    const perEvent = Object.fromEntries(Object.keys(arms).map((arm) => [arm, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [arm, work] of Object.entries(arms)) {
        const started = performance.now();
        const state = await work();
        perEvent[arm].push(((performance.now() - started) * 1000) / events);
        if (state.events !== events) throw new Error(`${arm}: folded ${state.events} of ${events} events`);
      }
    }
    return { perEvent, eventBytes: Math.round(text.length / events) };
  } finally {
    await store.close();
  }
}
