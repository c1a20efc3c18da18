#!/usr/bin/env node
// Where the time of scenario 6's drain goes in the browser: the profile behind BENCHMARKS.md's
// drain figures. It prepares the scenario's offline queue (one-event commands on new streams),
// then drains it to a fresh local fieldstream-server with a DevTools CPU profile running, once
// for fieldstream's `sync()` and once for the hand-written fetch loop, and prints each drain's
// time, requests, IndexedDB calls and CPU by kind of code (wasm, glue, the browser's IndexedDB and JSON, idle:
// waiting on the network and the server).
//
//   node bench/profile-drain.mjs [events] [batch]   # needs pkg/ and target/debug/fieldstream-server
//   FIELDSTREAM_SERVER_BIN=target/release/fieldstream-server node bench/profile-drain.mjs
//   PROFILE_OUT=/tmp/drain node bench/profile-drain.mjs   # also writes the .cpuprofile files
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchChromium, root } from "../tests/browser/harness.mjs";
import { summarise } from "./lib/cpu-profile.mjs";
import { call, fresh, openIn } from "./lib/pages.mjs";
import { startServer } from "./scenarios/drain.mjs";

const events = Number(process.argv[2] ?? 5000);
const batch = Number(process.argv[3] ?? 100);
const binary = process.env.FIELDSTREAM_SERVER_BIN ?? join(root, "target", "debug", "fieldstream-server");
const browser = await launchChromium();

/** One drain of `arm` against a fresh server: profiled, or counting its IndexedDB calls. */
async function drainOnce(arm, counted) {
  const server = await startServer(binary, root);
  const context = await browser.newContext();
  try {
    const { page } = await openIn(context, server.origin, "/bench/page.html?m=drain");
    const name = fresh(`profile-${arm}`);
    await call(page, "prepare", { arm, name, prefix: `${arm}p`, events });
    if (counted) return await call(page, "drain", { arm, name, batch, countCalls: true });
    const session = await context.newCDPSession(page);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 });
    await session.send("Profiler.start");
    const run = await call(page, "drain", { arm, name, batch });
    const { profile } = await session.send("Profiler.stop");
    return { ...run, profile };
  } finally {
    await context.close();
    await server.close();
  }
}

try {
  for (const arm of ["fieldstream", "raw"]) {
    const run = await drainOnce(arm, false);
    const { calls } = await drainOnce(arm, true);
    console.log(`\n== ${arm}: ${events} events in batches of ${batch}`);
    console.log(`${Math.round(run.ms)} ms, ${run.requests} requests, ${run.sent} bytes sent, ${run.received} received`, run.byPath);
    console.log("IndexedDB calls of the drain (a second, untimed run):", calls);
    if (process.env.PROFILE_OUT) writeFileSync(`${process.env.PROFILE_OUT}-${arm}.cpuprofile`, JSON.stringify(run.profile));
    const { kinds, top } = summarise(run.profile);
    console.log("CPU by kind (ms):", kinds);
    console.log("top functions by self time:\n" + top.join("\n"));
  }
} finally {
  await browser.close();
}
