#!/usr/bin/env node
// `npm run bench`: fieldstream's benchmark harness (issue 9). Builds what it measures, then runs
// the scenarios that exist today — 9 (bundle), 1 and 2 (browser: raw IndexedDB, Dexie,
// fieldstream) and 7 (server: fieldstream-server against raw SQL on SQLite and PostgreSQL, live
// subscribers) — with the arms interleaved and every repetition on a fresh database. Prints the
// machine, browser and durability, and writes target/bench/results.json and results.md.
//
//   node bench/run.mjs              # the real run (15 repetitions; about 20–30 min on 2 cores)
//   node bench/run.mjs --smoke      # tiny sizes, 2 repetitions: checks that every arm runs
//   node bench/run.mjs --only=7,9   # some scenarios only (written as results-partial.*)
//
// Scenario 7 needs PostgreSQL: without FIELDSTREAM_TEST_POSTGRES_URL this script runs itself
// again under scripts/with-postgres.sh (a throwaway cluster on loopback).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, openPage, serveRepository } from "../tests/browser/harness.mjs";
import { describeMachine, durability } from "./lib/machine.mjs";
import { markdown } from "./lib/report.mjs";
import { measureBundle } from "./scenarios/bundle.mjs";
import { runAppendScenario, runLatencyScenario } from "./scenarios/browser.mjs";
import { buildBinaries, runServerScenario } from "./scenarios/server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const only = args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",")
  ?? ["1", "2", "7", "9"];
const log = (line) => process.stderr.write(`${line}\n`);

if (only.includes("7") && !process.env.FIELDSTREAM_TEST_POSTGRES_URL) {
  const again = spawnSync("bash", [join(root, "scripts", "with-postgres.sh"), process.execPath,
    fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
  process.exit(again.status ?? 1);
}

const reps = smoke ? 2 : 15;
const sizes = {
  reps,
  browser: smoke
    ? { reps, total: 20, perCommand: [1, 10], samples: 5, warmup: 1 }
    : { reps, total: 10_000, perCommand: [1, 10, 100, 1000], samples: 100, warmup: 5 },
  server: smoke
    ? { reps, appendCells: [{ writers: 1, appends: 5 }, { writers: 16, appends: 2 }],
      subscribers: 20, burst: 10, subscriberReps: 2 }
    : { reps, appendCells: [{ writers: 1, appends: 300 }, { writers: 16, appends: 25 }],
      subscribers: 200, burst: 200, subscriberReps: 5 },
};

/** Fails the run unless every arm of every scenario ran its repetitions. */
function assertEveryArmRan(results) {
  const problems = [];
  for (const row of results.scenario1 ?? []) {
    // raw and Dexie always run; fieldstream wherever its adapter supports the command size,
    // which is at least one event per command.
    const expected = ["raw", "dexie", ...(row.skipped.includes("fieldstream") ? [] : ["fieldstream"])];
    if (row.perCommand === 1 && row.skipped.includes("fieldstream")) problems.push("scenario 1: fieldstream");
    for (const arm of expected) {
      if (row.arms[arm]?.runs !== reps) problems.push(`scenario 1 ${row.perCommand}/command: ${arm}`);
    }
  }
  for (const arm of ["raw", "dexie", "fieldstream"]) {
    if (results.scenario2 && results.scenario2.arms[arm]?.runs !== reps) problems.push(`scenario 2: ${arm}`);
  }
  for (const cell of results.scenario7?.cells ?? []) {
    for (const arm of ["server", "backend", "raw-ordered", "raw"]) {
      if (cell.arms[arm]?.runs !== reps) problems.push(`scenario 7 ${cell.backend} ${cell.writers}w: ${arm}`);
    }
  }
  for (const s of results.scenario7?.subscribers ?? []) {
    const expected = s.subscribers * s.burst * sizes.server.subscriberReps;
    if (s.deliveries !== expected) problems.push(`scenario 7 ${s.backend} subscribers: ${s.deliveries} of ${expected}`);
  }
  if (results.scenario7 && results.scenario7.cells.length !== 2 * sizes.server.appendCells.length) {
    problems.push("scenario 7: a backend or writer count is missing");
  }
  if (results.scenario9 && !results.scenario9.files.every((file) => file.raw > 0 && file.brotli > 0)) {
    problems.push("scenario 9: an empty file");
  }
  if (problems.length > 0) throw new Error(`arms that did not run: ${problems.join("; ")}`);
}

async function main() {
  const started = Date.now();
  const results = { smoke, sizes, durability, machine: describeMachine(root) };

  // Everything is built before anything is timed, so no compiler shares the CPU with a run.
  if (only.some((s) => ["1", "2", "9"].includes(s))) {
    if (!smoke || !existsSync(join(root, "pkg", "fieldstream_bg.wasm"))) {
      execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
    }
  }
  const binaries = only.includes("7") ? buildBinaries(root, { smoke }) : undefined;
  if (binaries) results.machine.serverBuild = binaries.profile === "release" ? "release, opt-level 3 (as scripts/soak.sh)" : "debug";

  if (only.includes("9")) {
    log("scenario 9: bundle");
    results.scenario9 = measureBundle(root);
  }
  if (only.includes("1") || only.includes("2")) {
    const server = await serveRepository();
    const browser = await launchChromium();
    try {
      const { page, errors } = await openPage(browser, server.origin, "/bench/page.html");
      const page_ = await page.evaluate(() => window.bench.describe());
      results.machine.browser = `Chromium ${browser.version()} (headless)`;
      results.machine.dexie = page_.dexie;
      results.machine.fieldstreamArm = page_.fieldstreamArm;
      log(`browser: ${results.machine.browser}; ${page_.fieldstreamArm}`);
      if (only.includes("1")) {
        log("scenario 1: append throughput");
        results.scenario1 = await runAppendScenario(page, sizes.browser, log);
      }
      if (only.includes("2")) {
        log("scenario 2: one-event latency");
        results.scenario2 = await runLatencyScenario(page, sizes.browser, log);
      }
      if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
    } finally {
      await browser.close();
      await server.close();
    }
  }
  if (binaries) {
    log(`scenario 7: server (${binaries.profile} build)`);
    results.scenario7 = runServerScenario(binaries, sizes.server, log);
  }

  assertEveryArmRan(results);
  results.seconds = Math.round((Date.now() - started) / 1000);
  const out = join(root, "target", "bench");
  mkdirSync(out, { recursive: true });
  // A smoke or partial run never overwrites the results of a full one.
  const partial = args.some((arg) => arg.startsWith("--only="));
  const base = smoke ? "results-smoke" : partial ? "results-partial" : "results";
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
