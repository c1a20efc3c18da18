// The Markdown tables of scenarios 3, 4, 5, 6, 8 and 10 (report.mjs has the others).
import { kib, n, ratio, table } from "./report.mjs";

const mib = (bytes) => (Number.isFinite(bytes) ? `${n(bytes / 2 ** 20, 1)} MiB` : "—");

/** Lines of Markdown for the scenarios of `results` this file covers. */
export function moreMarkdown(results) {
  const { sizes } = results;
  const out = [];
  if (results.scenario3) {
    const s = results.scenario3;
    const aggregates = sizes.load.aggregates;
    out.push("", `## Scenario 3: loading an aggregate (${n(sizes.load.loads)} loads per aggregate per run; written in commands of ${sizes.load.perCommand} events)`, "");
    out.push(table(["arm", ...aggregates.map((size) => `${n(size)} events: p95 ms (p50)`), `p95 ${n(aggregates.at(-1))} ÷ p95 ${n(Object.values(s.arms)[0].largestOverBase.base)}`,
      `p95 ÷ raw at ${n(aggregates.at(-1))}`, "bytes stored (all events)", "of which snapshots"],
    Object.entries(s.arms).map(([arm, a]) => [arm,
      ...aggregates.map((size) => `${n(a.bySize[size].p95, 2)} (${n(a.bySize[size].p50, 2)})`),
      `${n(a.largestOverBase.median, 2)} (${n(a.largestOverBase.min, 2)}–${n(a.largestOverBase.max, 2)})`,
      arm === "raw" ? "1" : ratio(a.ratioToRaw[aggregates.at(-1)]),
      kib(a.bytes), a.byStore.snapshots === undefined ? "—" : kib(a.byStore.snapshots)])));
    out.push("", `Chosen snapshot interval: **${s.choice.every}** (${s.choice.rule}; ` +
      `${s.choice.metTarget ? "met" : "no interval met 1.2 ×"}: ${n(s.choice.largestOverBase.median, 2)} ×).`);
  }
  if (results.scenario4) {
    const s = results.scenario4;
    out.push("", `## Scenario 4: rebuilding a read model of ${n(s.products)} documents from ${n(s.total)} events`, "");
    out.push(table(["arm", "rebuild ms (median)", "rebuild ms (p95)", "events/s", "throughput ÷ raw", "throughput ÷ Dexie"],
      Object.entries(s.arms).map(([arm, a]) => [arm, n(a.ms.median, 1), n(a.ms.p95, 1), n(a.eventsPerSecond),
        arm === "raw" ? "1" : ratio(arm === "dexie" ? s.ratios.dexieOverRaw : s.ratios.fieldstreamOverRaw),
        arm === "fieldstream" ? ratio(s.ratios.fieldstreamOverDexie) : "—"])));
  }
  if (results.scenario5) {
    const s = results.scenario5;
    out.push("", `## Scenario 5: the JS↔wasm crossing (${n(s.events)} events of about ${n(s.eventBytes)} bytes of JSON, memory store)`, "");
    out.push(table(["arm", "cold µs/event", "warm µs/event (median)", "warm p95"],
      Object.entries(s.arms).map(([arm, a]) => [arm, n(a.coldUs, 2), n(a.warmUs, 2), n(a.warmP95Us, 2)])));
    out.push("", `Warm ratios: load ÷ js ${ratio(s.ratios.loadOverJs)}; load ÷ json ${ratio(s.ratios.loadOverJson)}; history ÷ json ${ratio(s.ratios.historyOverJson)}.`);
  }
  if (results.scenario6) {
    out.push("", "## Scenario 6: draining an offline queue to a local fieldstream-server", "");
    const rows = [];
    for (const cell of results.scenario6.cells) {
      for (const [arm, a] of Object.entries(cell.arms)) {
        rows.push([n(cell.batch), n(cell.events), arm, n(a.ms.median, 1), n(a.eventsPerSecond), n(a.requests),
          kib(a.sent), kib(a.received), arm === "raw" ? "1" : ratio(cell.ratios.fieldstreamOverRaw),
          `${cell.check.lost} / ${cell.check.duplicated}`]);
      }
    }
    out.push(table(["batch (events)", "queued events", "arm", "drain ms (median)", "events/s", "requests",
      "sent", "received", "throughput ÷ raw", "lost / duplicated"], rows));
  }
  if (results.scenario8) {
    const s = results.scenario8;
    out.push("", "## Scenario 8: cold start (fresh browser context: empty cache and storage)", "");
    out.push(table(["arm", "first commit ms (median)", "p95", "first query ms (median)", "p95"],
      Object.entries(s.arms).map(([arm, a]) => [arm, n(a.committed.median, 1), n(a.committed.p95, 1),
        n(a.queried.median, 1), n(a.queried.p95, 1)])));
    out.push("", `First query, fieldstream ÷ Dexie: ${ratio(s.ratios.fieldstreamOverDexie)}; fieldstream ÷ raw: ${ratio(s.ratios.fieldstreamOverRaw)}.`);
  }
  if (results.scenario10) {
    out.push("", "## Scenario 10: memory while replaying one aggregate's whole log (snapshots off)", "");
    const rows = [];
    for (const row of results.scenario10.rows) {
      for (const [arm, a] of Object.entries(row.arms)) {
        rows.push([n(row.total), arm, n(a.ms, 1), mib(a.heapPeak), mib(a.heapGrowth),
          arm === "fieldstream" ? mib(a.wasmBefore) : "—", arm === "fieldstream" ? mib(a.wasmAfter) : "—"]);
      }
    }
    out.push(table(["events", "arm", "replay ms", "JS heap peak", "JS heap peak − before", "wasm memory before", "wasm memory after (peak)"], rows));
  }
  return out;
}
