#!/usr/bin/env node
// Where the time of one fieldstream command goes in the browser: the profile behind
// BENCHMARKS.md's scenarios 1 and 2. It runs the configurations the benchmarks measure, through
// the public API (`open()` with the `Bench` aggregate written in JavaScript, as
// bench/browser/fieldstream-adapter.js opens it):
//
// - `new stream`: scenario 1 and 2's fieldstream arm, one command of one event on a new
//   aggregate, snapshots off, no projection;
// - `existing aggregates`: scenario 1's realistic variant, one-event commands spread over 10
//   aggregates that already hold events, the default snapshot interval and one inline
//   projection (the `products` read model);
// - `1,000-event commands`: scenario 1 at 1,000 events per command, on new aggregates.
//
// For each it counts the IndexedDB calls one `execute` makes (the IndexedDB prototypes are
// wrapped in the page), times `execute` (median of 200) against one raw `put` transaction, and
// records a CPU profile of 200 commands through the DevTools protocol, summed by where the time
// goes (wasm, the page's JS, the browser's IndexedDB bindings, idle).
//
//   node bench/profile-execute.mjs [variant] [samples]   # needs pkg/ (npm run build)
//
// e.g. `node bench/profile-execute.mjs "new stream" 1000` profiles that variant alone.
import { launchChromium, openPage, serveRepository } from "../tests/browser/harness.mjs";
import { summarise } from "./lib/cpu-profile.mjs";

const server = await serveRepository();
const browser = await launchChromium();

try {
  const counts = { "new stream": 200, "existing aggregates": 200, "1,000-event commands": 20 };
  const [only, samplesArgument] = process.argv.slice(2);
  if (only && !(only in counts)) throw new Error(`no variant "${only}": ${Object.keys(counts).join(", ")}`);
  const variants = only ? { [only]: Number(samplesArgument ?? counts[only]) } : counts;
  for (const [variant, samples] of Object.entries(variants)) {
    const { page, context } = await openPage(browser, server.origin, "/bench/page.html?m=profile");
    await page.evaluate((variant) => window.bench.prepare(variant), variant);
    const calls = await page.evaluate((n) => window.bench.countCalls(n), Math.ceil(samples / 4));
    const session = await context.newCDPSession(page);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 100 });
    await session.send("Profiler.start");
    const timing = await page.evaluate((n) => window.bench.time(n), samples);
    const { profile } = await session.send("Profiler.stop");
    console.log(`\n== ${variant}`);
    console.log("IndexedDB calls per execute:", calls);
    console.log("median ms:", timing);
    const { kinds, top } = summarise(profile);
    console.log(`CPU of ${samples} timed commands and ${samples} raw transactions, by kind (ms):`, kinds);
    console.log("top functions by self time:\n" + top.join("\n"));
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
