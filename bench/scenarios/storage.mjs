// Scenarios 3 (aggregate load and the snapshot interval), 4 (projection rebuild) and 10
// (memory during a replay) in headless Chromium. The page modules (bench/browser/load.js,
// rebuild.js, memory.js) do the work and the timing; this file interleaves the arms (each
// repetition of each arm on a fresh database), checks what they stored and summarises.
import { median, p95, pairedRatio, round } from "../lib/stats.mjs";
import { call, fresh, openIn } from "../lib/pages.mjs";

/**
 * Scenario 3: aggregates of each size in `sizes.aggregates` loaded `sizes.loads` times, with
 * snapshots off and every `sizes.intervals` events. The sizes are one short of round numbers
 * (9,999 rather than 10,000): a round size is a multiple of every interval, so its last commit
 * would always leave a snapshot at the very end and the load would fold nothing; one short, the
 * last snapshot lies as far back as the interval allows.
 */
export async function runLoadScenario(page, sizes, log) {
  const arms = [{ arm: "raw", every: 0 }, { arm: "dexie", every: 0 },
    ...sizes.intervals.map((every) => ({ arm: "fieldstream", every }))];
  const key = ({ arm, every }) => (arm === "fieldstream" ? `fieldstream/${every === 0 ? "off" : every}` : arm);
  const runs = Object.fromEntries(arms.map((a) => [key(a), []]));
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const a of arms) {
      const name = fresh(`s3-${a.arm}`);
      const args = { ...a, name, sizes: sizes.aggregates, perCommand: sizes.perCommand, loads: sizes.loads };
      const bytes = await call(page, "prepare", args);
      const times = await call(page, "timeLoads", args);
      await call(page, "drop", name);
      runs[key(a)].push({ bytes, times });
    }
    log(`  3 rep ${rep + 1}/${sizes.reps}: ` + Object.entries(runs).map(([k, list]) =>
      `${k} ${round(p95(list[rep].times[sizes.aggregates.at(-1)]), 1)} ms`).join(", "));
  }
  const summary = {};
  for (const [k, list] of Object.entries(runs)) {
    const bySize = {};
    for (const size of sizes.aggregates) {
      const all = list.flatMap((run) => run.times[size]);
      bySize[size] = { p50: round(median(all), 2), p95: round(p95(all), 2) };
    }
    // Per repetition: the largest aggregate's p95 over the one closest to 100 events.
    const base = sizes.aggregates.reduce((a, b) => (Math.abs(b - 100) < Math.abs(a - 100) ? b : a));
    const largest = sizes.aggregates.at(-1);
    const growth = list.map((run) => p95(run.times[largest]) / p95(run.times[base]));
    summary[k] = {
      runs: list.length, bySize,
      bytes: median(list.map((run) => run.bytes.total)),
      byStore: list[0].bytes.byStore,
      largestOverBase: { median: round(median(growth), 2), min: round(Math.min(...growth), 2), max: round(Math.max(...growth), 2), base, largest },
      ratioToRaw: Object.fromEntries(sizes.aggregates.map((size) => [size, pairedRatio(
        list.map((run) => p95(run.times[size])), runs.raw.map((run) => p95(run.times[size])))])),
    };
  }
  return { arms: summary, choice: chooseInterval(summary, sizes.intervals) };
}

/**
 * The default snapshot interval the data supports: the largest interval (fewest snapshot
 * writes) whose largest aggregate loads within 1.2 × its one closest to 100 events (median over
 * repetitions of the p95 ratio); when none does, the one with the smallest such ratio.
 */
function chooseInterval(summary, intervals) {
  const candidates = intervals.filter((every) => every > 0)
    .map((every) => ({ every, ...summary[`fieldstream/${every}`] }));
  const within = candidates.filter((c) => c.largestOverBase.median <= 1.2);
  const pick = within.length > 0
    ? within.reduce((a, b) => (b.every > a.every ? b : a))
    : candidates.reduce((a, b) => (b.largestOverBase.median < a.largestOverBase.median ? b : a));
  return { every: pick.every, largestOverBase: pick.largestOverBase, metTarget: within.length > 0,
    rule: "largest interval whose largest aggregate loads within 1.2 × the one closest to 100 events (p95); else the lowest ratio" };
}

/** Scenario 4: rebuilding the per-product read model from `sizes.total` events. */
export async function runRebuildScenario(page, sizes, log) {
  const arms = ["raw", "dexie", "fieldstream"];
  const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
  const products = Math.min(sizes.total, 10_000);
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const arm of arms) {
      const name = fresh(`s4-${arm}`);
      await call(page, "prepare", { arm, name, total: sizes.total });
      const run = await call(page, "rebuild", { arm, name, products });
      await call(page, "drop", name);
      if (run.docs !== products) throw new Error(`scenario 4 ${arm}: ${run.docs} of ${products} documents`);
      if (arm === "fieldstream" && run.lines !== Math.ceil(sizes.total / 10_000)) {
        throw new Error(`scenario 4 fieldstream: product p-0000 has ${run.lines} lines`);
      }
      runs[arm].push(run.ms);
    }
    log(`  4 rep ${rep + 1}/${sizes.reps}: ` + arms.map((arm) => `${arm} ${Math.round(runs[arm][rep])} ms`).join(", "));
  }
  const rate = (arm) => runs[arm].map((ms) => sizes.total / ms);
  return {
    total: sizes.total, products,
    arms: Object.fromEntries(arms.map((arm) => [arm, { runs: runs[arm].length,
      ms: { median: round(median(runs[arm]), 1), p95: round(p95(runs[arm]), 1) },
      eventsPerSecond: round(sizes.total / (median(runs[arm]) / 1000), 0) }])),
    ratios: { fieldstreamOverRaw: pairedRatio(rate("fieldstream"), rate("raw")),
      fieldstreamOverDexie: pairedRatio(rate("fieldstream"), rate("dexie")),
      dexieOverRaw: pairedRatio(rate("dexie"), rate("raw")) },
  };
}

/** Scenario 10: peak JS heap and wasm memory replaying logs of each size in `sizes.logs`. */
export async function runMemoryScenario(browser, origin, sizes, log) {
  const arms = ["raw", "fieldstream"];
  const rows = [];
  for (const total of sizes.logs) {
    const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const arm of arms) {
        const context = await browser.newContext();
        const name = fresh(`s10-${arm}`);
        const writer = await openIn(context, origin, "/bench/page.html?m=memory");
        await call(writer.page, "prepare", { arm, name, total });
        await writer.page.close();
        // A fresh page (a new renderer with its own heap and wasm memory) replays the log.
        const { page } = await openIn(context, origin, "/bench/page.html?m=memory");
        const cdp = await context.newCDPSession(page);
        await call(page, "open", { arm, name });
        await cdp.send("HeapProfiler.collectGarbage");
        const before = (await cdp.send("Runtime.getHeapUsage")).usedSize;
        let peak = before;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak = Math.max(peak, (await cdp.send("Runtime.getHeapUsage")).usedSize);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        })();
        const replay = await call(page, "replay", {});
        sampling = false;
        await sampler;
        const wasm = await call(page, "close", {});
        await call(page, "drop", name);
        await context.close();
        if (replay.events !== total) throw new Error(`scenario 10 ${arm}: replayed ${replay.events} of ${total}`);
        runs[arm].push({ ms: replay.ms, heapBefore: before, heapPeak: peak, ...wasm });
      }
      log(`  10 ${total} rep ${rep + 1}/${sizes.reps}: ` + arms.map((arm) =>
        `${arm} heap +${round((runs[arm][rep].heapPeak - runs[arm][rep].heapBefore) / 2 ** 20, 1)} MiB` +
        (runs[arm][rep].wasmAfter ? `, wasm ${round(runs[arm][rep].wasmAfter / 2 ** 20, 1)} MiB` : "")).join("; "));
    }
    rows.push({ total, arms: Object.fromEntries(arms.map((arm) => [arm, {
      runs: runs[arm].length,
      ms: round(median(runs[arm].map((r) => r.ms)), 1),
      heapPeak: median(runs[arm].map((r) => r.heapPeak)),
      heapGrowth: median(runs[arm].map((r) => r.heapPeak - r.heapBefore)),
      wasmBefore: arm === "fieldstream" ? median(runs[arm].map((r) => r.wasmBefore)) : undefined,
      wasmAfter: arm === "fieldstream" ? median(runs[arm].map((r) => r.wasmAfter)) : undefined,
    }])) });
  }
  return { rows };
}
