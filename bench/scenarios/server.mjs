// Scenario 7: appends per second through fieldstream-server against raw SQL, on SQLite and on
// PostgreSQL, with 1, 16 and 64 writers; then live subscribers receiving a burst (delivery
// latency from the commit to each subscriber's receipt). Each repetition is
// one call of the `server-bench` binary (tools/server-bench) on a fresh database; the arms of a
// cell run interleaved, in an order rotated each repetition (server, backend, raw-ordered, raw;
// then backend, raw-ordered, raw, server; ...). The arms are described
// in tools/server-bench/src/arms.rs and raw.rs.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { median, p95, pairedRatio, rotated, round } from "../lib/stats.mjs";

/** The optimised build the figures come from: the same flags as scripts/soak.sh. */
const RELEASE_FLAGS = [
  "--config", "profile.release.opt-level=3", "--config", "profile.release.lto=false",
  "--config", "profile.release.codegen-units=16", "--config", 'profile.release.panic="unwind"',
];

/**
 * Builds (unless given by FIELDSTREAM_SERVER_BIN and SERVER_BENCH_BIN) the server and the bench
 * binary. The real run uses the optimised build, in two cargo calls so that the server binary is
 * the very one `scripts/soak.sh` builds (no rebuild between the two); the smoke run uses the
 * debug build, in one call (one feature set, one compile of the server library).
 */
export function buildBinaries(root, { smoke }) {
  const profile = smoke ? "debug" : "release";
  const server = process.env.FIELDSTREAM_SERVER_BIN ?? join(root, "target", profile, "fieldstream-server");
  const bench = process.env.SERVER_BENCH_BIN ?? join(root, "target", profile, "server-bench");
  const cargo = (args) => execFileSync("cargo", ["build", ...args], { cwd: root, stdio: "inherit" });
  const crates = [];
  if (!process.env.FIELDSTREAM_SERVER_BIN) crates.push("fieldstream-server");
  if (!process.env.SERVER_BENCH_BIN) crates.push("server-bench");
  if (smoke && crates.length > 0) cargo(crates.flatMap((crate) => ["-p", crate]));
  if (!smoke) for (const crate of crates) cargo(["-p", crate, "--release", ...RELEASE_FLAGS]);
  for (const binary of [server, bench]) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing`);
  }
  return { server, bench, profile };
}

function once(binaries, args) {
  const output = execFileSync(binaries.bench, args, {
    encoding: "utf8",
    env: { ...process.env, FIELDSTREAM_SERVER_BIN: binaries.server },
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(output.trim().split("\n").pop());
}

const ARMS = ["server", "backend", "raw-ordered", "raw"];

/** Runs scenario 7; `sizes` holds the repetitions and workload sizes. */
export function runServerScenario(binaries, sizes, log) {
  const cells = [];
  for (const backend of ["sqlite", "postgres"]) {
    for (const { writers, appends } of sizes.appendCells) {
      const runs = Object.fromEntries(ARMS.map((arm) => [arm, []]));
      for (let rep = 0; rep < sizes.reps; rep++) {
        for (const arm of rotated(ARMS, rep)) {
          const line = once(binaries, ["appends", "--arm", arm, "--backend", backend,
            "--writers", String(writers), "--appends", String(appends)]);
          runs[arm].push(line);
        }
        log(`  7 ${backend} ${writers}w rep ${rep + 1}/${sizes.reps}: ` +
          ARMS.map((arm) => `${arm} ${runs[arm][rep].appendsPerSecond}/s`).join(", "));
      }
      cells.push(summariseCell(backend, writers, appends, runs));
    }
  }
  const subscribers = [];
  for (const backend of ["sqlite", "postgres"]) {
    const runs = [];
    for (let rep = 0; rep < sizes.subscriberReps; rep++) {
      runs.push(once(binaries, ["subscribers", "--backend", backend,
        "--subscribers", String(sizes.subscribers), "--burst", String(sizes.burst)]));
      log(`  7 ${backend} subscribers rep ${rep + 1}/${sizes.subscriberReps}: ` +
        `p99 ${runs[rep].deliveryMs.p99} ms`);
    }
    subscribers.push(summariseSubscribers(backend, runs));
  }
  return { cells, subscribers };
}

function summariseCell(backend, writers, appendsPerWriter, runs) {
  const arms = {};
  for (const arm of ARMS) {
    const list = runs[arm];
    const rates = list.map((run) => run.appendsPerSecond);
    arms[arm] = {
      runs: list.length,
      appendsPerSecond: { median: round(median(rates), 0), p5: round(quantileLow(rates), 0) },
      elapsedMs: { median: round(median(list.map((run) => run.elapsedMs))), p95: round(p95(list.map((run) => run.elapsedMs))) },
      latencyMs: {
        p50: round(median(list.map((run) => run.latencyMs.p50)), 3),
        p95: round(median(list.map((run) => run.latencyMs.p95)), 3),
      },
      samples: list,
    };
  }
  const rate = (arm) => runs[arm].map((run) => run.appendsPerSecond);
  return {
    backend, writers, appendsPerWriter,
    arms,
    ratios: {
      serverOverRaw: pairedRatio(rate("server"), rate("raw")),
      backendOverRaw: pairedRatio(rate("backend"), rate("raw")),
      rawOrderedOverRaw: pairedRatio(rate("raw-ordered"), rate("raw")),
      serverOverRawOrdered: pairedRatio(rate("server"), rate("raw-ordered")),
    },
  };
}

/** The throughput the slowest 5% of runs stay under (the p95 of run time, as a rate). */
function quantileLow(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.05 * sorted.length) - 1)];
}

function summariseSubscribers(backend, runs) {
  const pick = (key) => runs.map((run) => run.deliveryMs[key]);
  return {
    backend,
    subscribers: runs[0].subscribers,
    burst: runs[0].burst,
    runs: runs.length,
    deliveries: runs.reduce((sum, run) => sum + run.deliveries, 0),
    deliveryMs: { p50: round(median(pick("p50")), 1), p99: round(median(pick("p99")), 1),
      worstP99: round(Math.max(...pick("p99")), 1), max: round(Math.max(...pick("max")), 1) },
    fromSendMs: { p50: round(median(runs.map((run) => run.fromSendMs.p50)), 1),
      p99: round(median(runs.map((run) => run.fromSendMs.p99)), 1) },
    deliveriesPerSecond: round(median(runs.map((run) => run.deliveriesPerSecond)), 0),
    samples: runs,
  };
}
