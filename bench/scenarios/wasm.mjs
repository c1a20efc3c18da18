// Scenarios 5 (the JS↔wasm crossing) and 8 (cold start) in headless Chromium.
//
// Scenario 5: each repetition is a fresh page (so its first round is cold) running
// bench/browser/crossing.js on the memory store. Scenario 8: each repetition of each arm loads
// bench/cold.html in a fresh browser context (empty HTTP cache and storage), interleaved.
import { median, p95, pairedRatio, round } from "../lib/stats.mjs";
import { call, fresh, openIn } from "../lib/pages.mjs";

/** Scenario 5: µs per event of each crossing style, cold (first round) and warm (the rest). */
export async function runCrossingScenario(browser, origin, sizes, log) {
  const runs = [];
  for (let rep = 0; rep < sizes.reps; rep++) {
    const context = await browser.newContext();
    const { page } = await openIn(context, origin, "/bench/page.html?m=crossing");
    runs.push(await call(page, "run", { events: sizes.events, rounds: sizes.rounds }));
    await context.close();
    log(`  5 rep ${rep + 1}/${sizes.reps}: ` + Object.entries(runs[rep].perEvent)
      .map(([arm, list]) => `${arm} ${round(median(list.slice(1)), 2)} µs/event`).join(", "));
  }
  const arms = {};
  for (const arm of Object.keys(runs[0].perEvent)) {
    const cold = runs.map((run) => run.perEvent[arm][0]);
    const warm = runs.flatMap((run) => run.perEvent[arm].slice(1));
    arms[arm] = { runs: runs.length, coldUs: round(median(cold), 2), warmUs: round(median(warm), 2),
      warmP95Us: round(p95(warm), 2) };
  }
  const warmOf = (arm) => runs.map((run) => median(run.perEvent[arm].slice(1)));
  return { events: sizes.events, eventBytes: runs[0].eventBytes, arms,
    ratios: { loadOverJs: pairedRatio(warmOf("load"), warmOf("js")),
      loadOverJson: pairedRatio(warmOf("load"), warmOf("json")),
      historyOverJson: pairedRatio(warmOf("history"), warmOf("json")) } };
}

/** Scenario 8: from navigation to the first committed command and the first query's answer. */
export async function runColdStartScenario(browser, origin, sizes, log) {
  const arms = ["raw", "dexie", "fieldstream"];
  const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
  for (let rep = 0; rep < sizes.reps; rep++) {
    for (const arm of arms) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/bench/cold.html?arm=${arm}&name=${fresh(`s8-${arm}`)}`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
      const result = await page.evaluate(() => window.result);
      await context.close();
      if (result.error || !result.found) throw new Error(`scenario 8 ${arm}: ${result.error ?? "the document was not found"}`);
      runs[arm].push(result);
    }
    log(`  8 rep ${rep + 1}/${sizes.reps}: ` + arms.map((arm) =>
      `${arm} ${Math.round(runs[arm][rep].committed)}/${Math.round(runs[arm][rep].queried)} ms`).join(", "));
  }
  const pick = (arm, key) => runs[arm].map((run) => run[key]);
  return {
    arms: Object.fromEntries(arms.map((arm) => [arm, { runs: runs[arm].length,
      committed: { median: round(median(pick(arm, "committed")), 1), p95: round(p95(pick(arm, "committed")), 1) },
      queried: { median: round(median(pick(arm, "queried")), 1), p95: round(p95(pick(arm, "queried")), 1) } }])),
    ratios: {
      fieldstreamOverDexie: pairedRatio(pick("fieldstream", "queried"), pick("dexie", "queried")),
      fieldstreamOverRaw: pairedRatio(pick("fieldstream", "queried"), pick("raw", "queried")),
    },
  };
}
