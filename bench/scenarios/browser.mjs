// Scenarios 1 and 2 in headless Chromium: the benchmark page (bench/page.html) served from
// loopback, every arm once per repetition in an order rotated each repetition, each run on a
// fresh IndexedDB database. The page does the timing and reports the durability each arm's
// writes ran with; this file keeps the runs and computes medians, p95 and per-pair ratios.
import { median, p95, pairedRatio, rotated, round } from "../lib/stats.mjs";

const ARMS = ["raw", "dexie", "fieldstream"];
/** Scenario 1 also runs fieldstream with personal data declared (the cost of encryption) and
 * a raw arm writing fieldstream's own layout by hand (the layout's cost apart from the
 * engine's). */
const APPEND_ARMS = [...ARMS, "sealed", "layout"];
let databases = 0;
const fresh = (label) => `bench-${label}-${Date.now()}-${databases++}`;

/** Every arm's durability, as its runs reported it (one value, or the values seen). */
function durabilities(runs) {
  return Object.fromEntries(Object.entries(runs).map(([arm, list]) =>
    [arm, [...new Set(list.map((run) => run.durability))].join(", ")]));
}

/** Scenario 1: `sizes.total` events in commands of each size of `sizes.perCommand`; with
 * `strict`, every arm asks for strict durability and the extra arms are left out. */
export async function runAppendScenario(page, sizes, log, { strict = false } = {}) {
  const rows = [];
  const candidates = strict ? ARMS : APPEND_ARMS;
  const label = strict ? "1 strict" : "1";
  for (const perCommand of strict ? sizes.strictPerCommand : sizes.perCommand) {
    const arms = [];
    for (const arm of candidates) {
      if (await page.evaluate(([a, k]) => window.bench.supports(a, k), [arm, perCommand])) arms.push(arm);
    }
    const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const arm of rotated(arms, rep)) {
        const run = await page.evaluate((args) => window.bench.appendRun(args),
          { arm, total: sizes.total, perCommand, name: fresh(`s1-${arm}`), strict });
        if (run.stored !== run.events) throw new Error(`scenario ${label} ${arm}: ${run.stored} of ${run.events} events stored`);
        runs[arm].push(run);
      }
      log(`  ${label} ${perCommand}/command rep ${rep + 1}/${sizes.reps}: ` +
        arms.map((arm) => `${arm} ${Math.round(runs[arm][rep].ms)} ms`).join(", "));
    }
    const summary = {};
    const durability = durabilities(runs);
    for (const arm of arms) {
      const ms = runs[arm].map((run) => run.ms);
      summary[arm] = {
        runs: ms.length,
        eventsPerSecond: round(sizes.total / (median(ms) / 1000), 0),
        ms: { median: round(median(ms), 1), p95: round(p95(ms), 1) },
        durability: durability[arm],
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
    if (runs.layout) {
      ratios.layoutOverRaw = pairedRatio(rate("layout"), rate("raw"));
      ratios.fieldstreamOverLayout = pairedRatio(rate("fieldstream"), rate("layout"));
    }
    rows.push({ perCommand, total: sizes.total, commands: Math.ceil(sizes.total / perCommand),
      arms: summary, skipped: candidates.filter((arm) => !arms.includes(arm)), ratios });
  }
  return rows;
}

/** Scenario 1's realistic variant: `sizes.realistic` one-event commands over 10 aggregates
 * that hold events, with a snapshot interval and an inline projection (see realistic.js). */
export async function runRealisticScenario(page, sizes, log) {
  const runs = Object.fromEntries(ARMS.map((arm) => [arm, []]));
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const arm of rotated(ARMS, rep)) {
      const run = await page.evaluate((args) => window.bench.realisticRun(args),
        { arm, commands: sizes.realistic, name: fresh(`s1r-${arm}`) });
      if (run.stored !== run.events) throw new Error(`scenario 1 realistic ${arm}: ${run.stored} of ${run.events} events stored`);
      runs[arm].push(run);
    }
    log(`  1 realistic rep ${rep + 1}/${sizes.reps}: ` +
      ARMS.map((arm) => `${arm} ${Math.round(runs[arm][rep].ms)} ms`).join(", "));
  }
  const durability = durabilities(runs);
  const arms = {};
  for (const arm of ARMS) {
    const ms = runs[arm].map((run) => run.ms);
    arms[arm] = { runs: ms.length, eventsPerSecond: round(sizes.realistic / (median(ms) / 1000), 0),
      ms: { median: round(median(ms), 1), p95: round(p95(ms), 1) }, durability: durability[arm] };
  }
  const rate = (arm) => runs[arm].map((run) => run.events / run.ms);
  return {
    commands: sizes.realistic,
    arms,
    ratios: {
      dexieOverRaw: pairedRatio(rate("dexie"), rate("raw")),
      fieldstreamOverRaw: pairedRatio(rate("fieldstream"), rate("raw")),
      fieldstreamOverDexie: pairedRatio(rate("fieldstream"), rate("dexie")),
    },
  };
}

/** Scenario 2: latency of one command of one event (`strict`: every arm asks for strict
 * durability). */
export async function runLatencyScenario(page, sizes, log, { strict = false } = {}) {
  const runs = Object.fromEntries(ARMS.map((arm) => [arm, []]));
  const durability = Object.fromEntries(ARMS.map((arm) => [arm, []]));
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const arm of rotated(ARMS, rep)) {
      const run = await page.evaluate((args) => window.bench.latencyRun(args),
        { arm, samples: sizes.samples, warmup: sizes.warmup, name: fresh(`s2-${arm}`), strict });
      if (run.stored !== run.events) throw new Error(`scenario 2 ${arm}: ${run.stored} of ${run.events} events stored`);
      runs[arm].push(run.latencies);
      durability[arm].push(run);
    }
    log(`  2${strict ? " strict" : ""} rep ${rep + 1}/${sizes.reps}: ` +
      ARMS.map((arm) => `${arm} p50 ${round(median(runs[arm][rep]), 2)} ms`).join(", "));
  }
  const reported = durabilities(durability);
  const arms = {};
  for (const arm of ARMS) {
    const all = runs[arm].flat();
    arms[arm] = { runs: runs[arm].length, samples: all.length,
      p50: round(median(all), 3), p95: round(p95(all), 3), durability: reported[arm] };
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
