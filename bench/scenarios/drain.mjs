// Scenario 6: draining an offline queue to a real local fieldstream-server, fieldstream's sync
// against a hand-written fetch loop of protocol v1 (bench/browser/drain.js). Every run (one arm,
// one repetition) gets a fresh server (fresh SQLite file), so that no arm pulls another's
// events; the server serves the page itself, so page and API share one origin. The arms run
// interleaved, each run on a fresh IndexedDB database and streams of its own. After each run
// its events are read back from its server: each must be there exactly once.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, healthy } from "../../scripts/server-process.mjs";
import { median, p95, pairedRatio, round } from "../lib/stats.mjs";
import { call, fresh, openIn } from "../lib/pages.mjs";

/** Starts `binary` (dev mode, rate limit off, a fresh SQLite file) serving `root` too. */
export async function startServer(binary, root) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "fieldstream-bench-"));
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ["serve", "--dev", "--database", join(dir, "server.db"),
    "--listen", `127.0.0.1:${port}`, "--static", root, "--log", "warn", "--rate-limit", "0"],
  { stdio: ["ignore", "inherit", "inherit"] });
  await healthy(origin, child);
  return {
    origin,
    async close() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every event on the server, in position order. */
async function allEvents(origin) {
  const events = [];
  for (let after = 0; ;) {
    const page = await (await fetch(`${origin}/v1/events?after=${after}&limit=10000`)).json();
    events.push(...page.events);
    if (page.events.length === 0) return events;
    after = page.events.at(-1).position;
  }
}

/** Runs scenario 6 against the server binary `binary`. */
export async function runDrainScenario(browser, root, binary, sizes, log) {
  const arms = ["raw", "fieldstream"];
  const cells = [];
  for (const batch of sizes.batches) {
    const events = sizes.events[batch] ?? sizes.events.default;
    const context = await browser.newContext();
    const runs = Object.fromEntries(arms.map((arm) => [arm, []]));
    const check = { stored: 0, lost: 0, duplicated: 0 };
    try {
      for (let rep = 0; rep < sizes.reps; rep++) {
        for (const arm of arms) {
          const run = await drainOnce(context, binary, root, arm, batch, rep, events, check);
          runs[arm].push(run);
        }
        log(`  6 batch ${batch} rep ${rep + 1}/${sizes.reps}: ` + arms.map((arm) =>
          `${arm} ${Math.round(runs[arm][rep].ms)} ms, ${runs[arm][rep].requests} requests`).join(", "));
      }
      cells.push(summarise(batch, events, runs, check));
    } finally {
      await context.close();
    }
  }
  return { cells };
}

/**
 * One arm's drain against a server of its own (a fresh SQLite file, serving the page too), so
 * that no arm pulls another's events; what it stored is verified and added to `check`.
 */
async function drainOnce(context, binary, root, arm, batch, rep, events, check) {
  const server = await startServer(binary, root);
  try {
    const { page } = await openIn(context, server.origin, "/bench/page.html?m=drain");
    const name = fresh(`s6-${arm}`);
    const prefix = `${arm}${batch}r${rep}`;
    await call(page, "prepare", { arm, name, prefix, events });
    const run = await call(page, "drain", { arm, name, batch });
    await call(page, "drop", name);
    await page.close();
    if (run.left !== 0) throw new Error(`scenario 6 ${arm} batch ${batch}: ${run.left} left in the queue`);
    const verified = verify(await allEvents(server.origin), [prefix], events);
    check.stored += verified.stored;
    check.lost += verified.lost;
    check.duplicated += verified.duplicated;
    return run;
  } finally {
    await server.close();
  }
}

/** Each run's events are on the server exactly once: no loss, no duplicate. */
function verify(stored, prefixes, events) {
  const ids = new Set();
  const perPrefix = Object.fromEntries(prefixes.map((prefix) => [prefix, 0]));
  let duplicated = 0;
  for (const event of stored) {
    if (ids.has(event.id)) duplicated += 1;
    ids.add(event.id);
    const prefix = event.stream.split("-")[1];
    if (prefix in perPrefix) perPrefix[prefix] += 1;
    if (event.version !== 1) duplicated += 1;
  }
  const lost = Object.values(perPrefix).reduce((sum, count) => sum + Math.max(0, events - count), 0);
  const extra = Object.values(perPrefix).reduce((sum, count) => sum + Math.max(0, count - events), 0);
  if (lost > 0 || duplicated + extra > 0) throw new Error(`scenario 6: ${lost} events lost, ${duplicated + extra} duplicated`);
  return { stored: stored.length, lost, duplicated: duplicated + extra };
}

function summarise(batch, events, runs, check) {
  const arms = {};
  for (const [arm, list] of Object.entries(runs)) {
    const ms = list.map((run) => run.ms);
    arms[arm] = { runs: list.length, ms: { median: round(median(ms), 1), p95: round(p95(ms), 1) },
      eventsPerSecond: round(events / (median(ms) / 1000), 0),
      requests: median(list.map((run) => run.requests)), sent: median(list.map((run) => run.sent)),
      received: median(list.map((run) => run.received)), byPath: list[0].byPath };
  }
  const rate = (arm) => runs[arm].map((run) => events / run.ms);
  return { batch, events, arms, check,
    ratios: { fieldstreamOverRaw: pairedRatio(rate("fieldstream"), rate("raw")) } };
}
