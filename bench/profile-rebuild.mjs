#!/usr/bin/env node
// Where the time of a read-model rebuild goes in the browser: the profile behind BENCHMARKS.md's
// scenario 4. It writes a log of `total` events (commands of 100, as the scenario does), then
// records a CPU profile of fieldstream's rebuild (`open()` with the `products` projection added)
// and of the raw arm's, summed by where the time goes (wasm, the page's JS, the browser's
// IndexedDB bindings, idle), with the IndexedDB calls each made (counted in the page).
//
//   node bench/profile-rebuild.mjs [total]    # needs pkg/ (npm run build); default 20,000
import { launchChromium, openPage, serveRepository } from "../tests/browser/harness.mjs";
import { summarise } from "./lib/cpu-profile.mjs";

const total = Number(process.argv[2] ?? 20_000);
const products = Math.min(total, 10_000);
const server = await serveRepository();
const browser = await launchChromium();

try {
  for (const arm of ["raw", "fieldstream"]) {
    const { page, context } = await openPage(browser, server.origin, "/bench/page.html?m=rebuild");
    const name = `profile-rebuild-${arm}-${Date.now()}`;
    await page.evaluate((args) => window.bench.prepare(args), { arm, name, total });
    const session = await context.newCDPSession(page);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 });
    await session.send("Profiler.start");
    const run = await page.evaluate(async (args) => {
      const { countIdbCalls } = await import("/bench/browser/idb-calls.js");
      const stop = countIdbCalls();
      const result = await window.bench.rebuild(args);
      return { ...result, calls: stop() };
    }, { arm, name, products });
    const { profile } = await session.send("Profiler.stop");
    await page.evaluate((name) => window.bench.drop(name), name);
    console.log(`\n== ${arm}: ${total} events, ${run.docs} documents, ${Math.round(run.ms)} ms`);
    const { kinds, top } = summarise(profile);
    const calls = Object.entries(run.calls).filter(([key]) => / on |transactions$/.test(key));
    console.log("IndexedDB calls:", Object.fromEntries(calls));
    console.log("CPU by kind (ms):", kinds);
    console.log("top functions by self time:\n" + top.join("\n"));
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
