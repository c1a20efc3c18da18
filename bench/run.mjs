#!/usr/bin/env node
// `npm run bench`: fieldstream's benchmark harness (issue 9). Builds what it measures, then runs
// the scenarios — 9 (bundle); in headless Chromium 1 and 2 (appends), 3 (aggregate load and
// snapshot interval), 4 (projection rebuild), 5 (JS↔wasm crossing), 6 (offline queue drained
// to a real local fieldstream-server), 8 (cold start) and 10 (memory during replay), against
// raw IndexedDB and Dexie; and 7 (server: fieldstream-server against raw SQL on SQLite and
// PostgreSQL, live subscribers) — with the arms interleaved and every repetition on a fresh
// database. Prints the machine, browser and durability, and writes target/bench/results.json
// and results.md.
//
//   node bench/run.mjs                  # the real run (15 repetitions; 7 for 4, 6, 10)
//   node bench/run.mjs --smoke          # tiny sizes, 2 repetitions: checks that every arm runs
//   node bench/run.mjs --only=7,9       # some scenarios only (written as results-partial.*)
//   node bench/run.mjs --reps=3         # full sizes, 3 repetitions of every scenario
//   node bench/run.mjs --no-build       # measure pkg/ as it is (no scripts/build.mjs first)
//
// Scenario 7 needs PostgreSQL: without FIELDSTREAM_TEST_POSTGRES_URL this script runs itself
// again under scripts/with-postgres.sh (a throwaway cluster on loopback).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, serveRepository } from "../tests/browser/harness.mjs";
import { assertEveryArmRan } from "./lib/checks.mjs";
import { openIn } from "./lib/pages.mjs";
import { describeMachine, durability } from "./lib/machine.mjs";
import { markdown } from "./lib/report.mjs";
import { measureBundle } from "./scenarios/bundle.mjs";
import { runAppendScenario, runLatencyScenario, runRealisticScenario } from "./scenarios/browser.mjs";
import { runDrainScenario } from "./scenarios/drain.mjs";
import { buildBinaries, runServerScenario } from "./scenarios/server.mjs";
import { runLoadScenario, runMemoryScenario, runRebuildScenario } from "./scenarios/storage.mjs";
import { runColdStartScenario, runCrossingScenario } from "./scenarios/wasm.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const only = args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",")
  ?? ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
const log = (line) => process.stderr.write(`${line}\n`);

if (only.includes("7") && !process.env.FIELDSTREAM_TEST_POSTGRES_URL) {
  const again = spawnSync("bash", [join(root, "scripts", "with-postgres.sh"), process.execPath,
    fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
  process.exit(again.status ?? 1);
}

// `--reps=N` sets every scenario's repetitions (the real run's default is 15; scenarios 4, 6
// and 10, whose set-up writes 10,000 to 100,000 events per repetition, default to 7, the
// fewest any scenario runs).
const repsArg = Number(args.find((arg) => arg.startsWith("--reps="))?.slice("--reps=".length));
const reps = smoke ? 2 : repsArg || 15;
const few = (n) => (smoke ? 2 : repsArg || n);
const sizes = {
  reps,
  browser: smoke
    ? { reps, total: 20, perCommand: [1, 10], strictPerCommand: [1], realistic: 20, samples: 5, warmup: 1 }
    : { reps, total: 10_000, perCommand: [1, 10, 100, 1000], strictPerCommand: [1, 100, 1000], realistic: 1000,
      samples: 100, warmup: 5 },
  load: smoke
    ? { reps, aggregates: [9, 99], intervals: [0, 25], loads: 2, perCommand: 7 }
    : { reps, aggregates: [9, 99, 999, 9_999], intervals: [0, 25, 50, 100, 500], loads: 10, perCommand: 37 },
  rebuild: { reps: few(7), total: smoke ? 200 : 100_000 },
  crossing: { reps, events: smoke ? 100 : 1000, rounds: smoke ? 3 : 20 },
  drain: smoke
    ? { reps, batches: [1, 10], events: { default: 10 } }
    : { reps: few(7), batches: [1, 10, 100, 500], events: { 1: 1000, default: 10_000 } },
  cold: { reps },
  memory: { reps: few(7), logs: smoke ? [100, 1000] : [10_000, 100_000] },
  server: smoke
    ? { reps, appendCells: [{ writers: 1, appends: 5 }, { writers: 16, appends: 2 }, { writers: 64, appends: 1 }],
      subscribers: 20, burst: 10, subscriberReps: 2 }
    : { reps, appendCells: [{ writers: 1, appends: 300 }, { writers: 16, appends: 25 }, { writers: 64, appends: 10 }],
      subscribers: 200, burst: 200, subscriberReps: 5 },
};

async function main() {
  const started = Date.now();
  const results = { smoke, sizes, durability, machine: describeMachine(root) };

  // Everything is built before anything is timed, so no compiler shares the CPU with a run.
  const browserScenarios = ["1", "2", "3", "4", "5", "6", "8", "10"];
  if (only.some((s) => [...browserScenarios, "9"].includes(s))) {
    const built = existsSync(join(root, "pkg", "fieldstream_bg.wasm")) && existsSync(join(root, "pkg", "lite", "fieldstream_bg.wasm"));
    if (!built || (!smoke && !args.includes("--no-build"))) {
      execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
    }
  }
  const binaries = only.some((s) => ["6", "7"].includes(s)) ? buildBinaries(root, { smoke }) : undefined;
  if (binaries) results.machine.serverBuild = binaries.profile === "release" ? "release, opt-level 3 (as scripts/soak.sh)" : "debug";

  if (only.includes("9")) {
    log("scenario 9: bundle");
    results.scenario9 = measureBundle(root);
  }
  if (only.some((s) => browserScenarios.includes(s))) {
    const server = await serveRepository();
    const browser = await launchChromium();
    try {
      results.machine.browser = `Chromium ${browser.version()} (headless)`;
      await runBrowserScenarios(browser, server.origin, results, binaries);
    } finally {
      await browser.close();
      await server.close();
    }
  }
  if (binaries && only.includes("7")) {
    log(`scenario 7: server (${binaries.profile} build)`);
    results.scenario7 = runServerScenario(binaries, sizes.server, log);
  }

  assertEveryArmRan(results, sizes);
  results.seconds = Math.round((Date.now() - started) / 1000);
  const out = join(root, "target", "bench");
  mkdirSync(out, { recursive: true });
  // A smoke or partial run never overwrites the results of a full one.
  const partial = args.some((arg) => arg.startsWith("--only="));
  const named = args.find((arg) => arg.startsWith("--name="))?.slice("--name=".length);
  const base = named ? `results-${named}` : smoke ? "results-smoke" : partial ? "results-partial" : "results";
  writeFileSync(join(out, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const report = markdown(results);
  writeFileSync(join(out, `${base}.md`), report);
  console.log(report);
  log(`bench: every arm ran (${results.seconds} s); wrote target/bench/${base}.json and ${base}.md`);
}

main().catch((error) => {
  console.error(`bench: ${error?.stack ?? error}`);
  process.exit(1);
});

/** The scenarios that run in Chromium, each in pages of its own (scenarios 1 and 2 share one). */
async function runBrowserScenarios(browser, origin, results, binaries) {
  if (only.includes("1") || only.includes("2")) {
    const context = await browser.newContext();
    const { page, errors } = await openIn(context, origin, "/bench/page.html");
    const about = await page.evaluate(() => window.bench.describe());
    results.machine.dexie = about.dexie;
    results.machine.fieldstreamArm = about.fieldstreamArm;
    log(`browser: ${results.machine.browser}; ${about.fieldstreamArm}`);
    if (only.includes("1")) {
      log("scenario 1: append throughput");
      results.scenario1 = await runAppendScenario(page, sizes.browser, log);
      log("scenario 1, realistic variant: one-event commands on 10 aggregates with a projection");
      results.scenario1realistic = await runRealisticScenario(page, sizes.browser, log);
      log("scenario 1, strict durability");
      results.scenario1strict = await runAppendScenario(page, sizes.browser, log, { strict: true });
    }
    if (only.includes("2")) {
      log("scenario 2: one-event latency");
      results.scenario2 = await runLatencyScenario(page, sizes.browser, log);
      log("scenario 2, strict durability");
      results.scenario2strict = await runLatencyScenario(page, sizes.browser, log, { strict: true });
    }
    if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
    await context.close();
  }
  for (const [id, module, label, run, size] of [
    ["3", "load", "aggregate load and snapshot interval", runLoadScenario, sizes.load],
    ["4", "rebuild", "projection rebuild", runRebuildScenario, sizes.rebuild],
  ]) {
    if (!only.includes(id)) continue;
    log(`scenario ${id}: ${label}`);
    const context = await browser.newContext();
    const { page, errors } = await openIn(context, origin, `/bench/page.html?m=${module}`);
    results[`scenario${id}`] = await run(page, size, log);
    if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
    await context.close();
  }
  if (only.includes("5")) {
    log("scenario 5: JS↔wasm crossing");
    results.scenario5 = await runCrossingScenario(browser, origin, sizes.crossing, log);
  }
  if (only.includes("6")) {
    log(`scenario 6: offline queue drain (${binaries.profile} server)`);
    results.scenario6 = await runDrainScenario(browser, root, binaries.server, sizes.drain, log);
  }
  if (only.includes("8")) {
    log("scenario 8: cold start");
    results.scenario8 = await runColdStartScenario(browser, origin, sizes.cold, log);
  }
  if (only.includes("10")) {
    log("scenario 10: memory during replay");
    results.scenario10 = await runMemoryScenario(browser, origin, sizes.memory, log);
  }
}
