// Scenarios 1 and 2 in headless Chromium: the benchmark page (bench/page.html) served from
// loopback, arms interleaved per repetition (raw, dexie, fieldstream, raw, dexie, ...), each
// repetition on a fresh IndexedDB database. The page does the timing; this file keeps the runs
// and computes medians, p95 and the per-pair ratios.
import { median, p95, pairedRatio, round } from "../lib/stats.mjs";

const ARMS = ["raw", "dexie", "fieldstream"];
/** Scenario 1 also runs fieldstream with personal data declared: the cost of encryption. */
const APPEND_ARMS = [...ARMS, "sealed"];
let databases = 0;
const fresh = (label) => `bench-${label}-${Date.now()}-${databases++}`;

/** Scenario 1: `sizes.total` events in commands of each size of `sizes.perCommand`. */
export async function runAppendScenario(page, sizes, log) {
  const rows = [];
  for (const perCommand of sizes.perCommand) {
    const arms = [];
    for (const arm of APPEND_ARMS) {
      if (await page.evaluate(([a, k]) => window.bench.supports(a, k), [arm, perCommand])) arms.push(arm);
    }
    const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const arm of arms) {
        const run = await page.evaluate((args) => window.bench.appendRun(args),
          { arm, total: sizes.total, perCommand, name: fresh(`s1-${arm}`) });
        if (run.stored !== run.events) throw new Error(`scenario 1 ${arm}: ${run.stored} of ${run.events} events stored`);
        runs[arm].push(run);
      }
      log(`  1 ${perCommand}/command rep ${rep + 1}/${sizes.reps}: ` +
        arms.map((arm) => `${arm} ${Math.round(runs[arm][rep].ms)} ms`).join(", "));
    }
    const summary = {};
    for (const arm of arms) {
      const ms = runs[arm].map((run) => run.ms);
      summary[arm] = {
        runs: ms.length,
        eventsPerSecond: round(sizes.total / (median(ms) / 1000), 0),
        ms: { median: round(median(ms), 1), p95: round(p95(ms), 1) },
        durability: runs[arm][0].durability,
      };
    }
    const rate = (arm) => runs[arm].map((run) => run.events / run.ms);
    const ratios = {};
    if (runs.dexie) ratios.dexieOverRaw = pairedRatio(rate("dexie"), rate("raw"));
    if (runs.fieldstream) {
      ratios.fieldstreamOverRaw = pairedRatio(rate("fieldstream"), rate("raw"));
      ratios.fieldstreamOverDexie = pairedRatio(rate("fieldstream"), rate("dexie"));
    }
    if (runs.sealed) {
      ratios.sealedOverRaw = pairedRatio(rate("sealed"), rate("raw"));
      ratios.sealedOverFieldstream = pairedRatio(rate("sealed"), rate("fieldstream"));
    }
    rows.push({ perCommand, total: sizes.total, commands: Math.ceil(sizes.total / perCommand),
      arms: summary, skipped: APPEND_ARMS.filter((arm) => !arms.includes(arm)), ratios });
  }
  return rows;
}

/** Scenario 2: latency of one command of one event. */
export async function runLatencyScenario(page, sizes, log) {
  const runs = Object.fromEntries(ARMS.map((arm) => [arm, []]));
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const arm of ARMS) {
      const run = await page.evaluate((args) => window.bench.latencyRun(args),
        { arm, samples: sizes.samples, warmup: sizes.warmup, name: fresh(`s2-${arm}`) });
      if (run.stored !== run.events) throw new Error(`scenario 2 ${arm}: ${run.stored} of ${run.events} events stored`);
      runs[arm].push(run.latencies);
    }
    log(`  2 rep ${rep + 1}/${sizes.reps}: ` +
      ARMS.map((arm) => `${arm} p50 ${round(median(runs[arm][rep]), 2)} ms`).join(", "));
  }
  const arms = {};
  for (const arm of ARMS) {
    const all = runs[arm].flat();
    arms[arm] = { runs: runs[arm].length, samples: all.length,
      p50: round(median(all), 3), p95: round(p95(all), 3) };
  }
  // Latency ratios: per repetition, this arm's p50 over the baseline's p50 (lower is better).
  const p50s = (arm) => runs[arm].map((latencies) => median(latencies));
  return {
    arms,
    ratios: {
      dexieOverRaw: pairedRatio(p50s("dexie"), p50s("raw")),
      fieldstreamOverRaw: pairedRatio(p50s("fieldstream"), p50s("raw")),
      fieldstreamOverDexie: pairedRatio(p50s("fieldstream"), p50s("dexie")),
    },
  };
}
