// The benchmark results as Markdown: one table per scenario, the machine and durability first.
// (The JSON file is the results object itself; see bench/run.mjs.) Scenarios 3–6, 8 and 10
// are in report-more.mjs.
import { moreMarkdown } from "./report-more.mjs";

/** `value` formatted with thousands separators and at most `digits` decimals; "—" if not finite. */
export const n = (value, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits }) : "—";
/** A paired ratio as "median (min–max)". */
export const ratio = (r) => {
  if (!r || !r.pairs) return "—";
  const d = (v) => n(v, Math.abs(v) < 0.1 ? 3 : 2);
  return `${d(r.median)} (${d(r.min)}–${d(r.max)})`;
};
/** Bytes with their KiB. */
export const kib = (bytes) => `${n(bytes)} B (${n(bytes / 1024, 1)} KiB)`;

/** A Markdown table. */
export function table(header, rows) {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

/** The whole report as Markdown. */
export function markdown(results) {
  const { machine, sizes } = results;
  const out = [
    `# fieldstream benchmark results${results.smoke ? " (SMOKE: tiny sizes, not figures)" : ""}`,
    "",
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; load average at start ${machine.load.join(" / ")}`,
    `- Browser: ${machine.browser ?? "—"}; Node.js ${machine.node}; ${machine.postgres}; Dexie ${machine.dexie ?? "—"}`,
    `- fieldstream arm: ${machine.fieldstreamArm ?? "—"}; server build: ${machine.serverBuild ?? "—"}`,
    `- Commit ${machine.commit}, ${machine.date}; ${sizes.reps} repetitions per arm, interleaved, each on a fresh database`,
    `- Durability: IndexedDB — ${results.durability.indexedDb}; SQLite — ${results.durability.sqlite}; PostgreSQL — ${results.durability.postgres}`,
    "",
    "Ratios are computed per pair of back-to-back runs and given as median (min–max).",
  ];
  for (const [key, title] of [["scenario1", ""], ["scenario1strict", ", strict durability"]]) {
    if (!results[key]) continue;
    out.push("", `## Scenario 1${title}: append ${n(sizes.browser.total)} events (about 300 bytes each)`, "");
    const rows = [];
    for (const row of results[key]) {
      const overRaw = { raw: "1", dexie: row.ratios.dexieOverRaw, fieldstream: row.ratios.fieldstreamOverRaw,
        sealed: row.ratios.sealedOverRaw, layout: row.ratios.layoutOverRaw };
      for (const [arm, s] of Object.entries(row.arms)) {
        rows.push([n(row.perCommand), arm, n(s.eventsPerSecond), n(s.ms.median, 1), n(s.ms.p95, 1),
          arm === "raw" ? "1" : ratio(overRaw[arm]),
          arm === "fieldstream" ? ratio(row.ratios.fieldstreamOverDexie) : "—",
          arm === "fieldstream" && row.ratios.fieldstreamOverLayout ? ratio(row.ratios.fieldstreamOverLayout)
            : arm === "sealed" ? ratio(row.ratios.sealedOverFieldstream) : "—",
          s.durability ?? "—"]);
      }
      for (const arm of row.skipped) rows.push([n(row.perCommand), arm, "not measurable with today's API", "", "", "", "", "", ""]);
    }
    out.push(table(["events/command", "arm", "events/s (median)", "run ms (median)", "run ms (p95)",
      "throughput ÷ raw", "throughput ÷ Dexie", "÷ layout arm (fieldstream), ÷ fieldstream (sealed)", "durability"], rows));
  }
  if (results.scenario1realistic) {
    const s = results.scenario1realistic;
    out.push("", `## Scenario 1, realistic variant: ${n(s.commands)} one-event commands on 10 aggregates holding 50+ events, snapshots every 100, one inline projection`, "");
    out.push(table(["arm", "events/s (median)", "run ms (median)", "run ms (p95)", "throughput ÷ raw", "throughput ÷ Dexie", "durability"],
      Object.entries(s.arms).map(([arm, a]) => [arm, n(a.eventsPerSecond), n(a.ms.median, 1), n(a.ms.p95, 1),
        arm === "raw" ? "1" : ratio(arm === "dexie" ? s.ratios.dexieOverRaw : s.ratios.fieldstreamOverRaw),
        arm === "fieldstream" ? ratio(s.ratios.fieldstreamOverDexie) : "—", a.durability ?? "—"])));
  }
  for (const [key, title] of [["scenario2", ""], ["scenario2strict", ", strict durability"]]) {
    const s = results[key];
    if (!s) continue;
    out.push("", `## Scenario 2${title}: one command of one event (${n(sizes.browser.samples)} timed per run)`, "");
    out.push(table(["arm", "p50 ms", "p95 ms", "p50 ÷ raw p50", "p50 ÷ Dexie p50", "durability"],
      Object.entries(s.arms).map(([arm, a]) => [arm, n(a.p50, 3), n(a.p95, 3),
        arm === "raw" ? "1" : ratio(arm === "dexie" ? s.ratios.dexieOverRaw : s.ratios.fieldstreamOverRaw),
        arm === "fieldstream" ? ratio(s.ratios.fieldstreamOverDexie) : "—", a.durability ?? "—"])));
  }
  if (results.scenario7) {
    const s = results.scenario7;
    out.push("", "## Scenario 7: server appends per second (one event of about 300 bytes per append)", "");
    const rows = [];
    for (const cell of s.cells) {
      for (const [arm, a] of Object.entries(cell.arms)) {
        rows.push([cell.backend, n(cell.writers), arm, n(a.appendsPerSecond.median), n(a.appendsPerSecond.p5),
          n(a.latencyMs.p50, 2), n(a.latencyMs.p95, 2),
          { server: ratio(cell.ratios.serverOverRaw), backend: ratio(cell.ratios.backendOverRaw),
            "raw-ordered": ratio(cell.ratios.rawOrderedOverRaw), raw: "1" }[arm],
          arm === "server" ? ratio(cell.ratios.serverOverRawOrdered) : arm === "raw-ordered" ? "1" : "—"]);
      }
    }
    out.push(table(["backend", "writers", "arm", "appends/s (median)", "appends/s (p95 run)",
      "append ms p50", "append ms p95", "throughput ÷ raw", "throughput ÷ raw-ordered"], rows));
    const scaling = [];
    for (const backend of [...new Set(s.cells.map((cell) => cell.backend))]) {
      const cells = s.cells.filter((cell) => cell.backend === backend);
      const one = cells.find((cell) => cell.writers === 1);
      if (!one) continue;
      const base = one.arms.server.appendsPerSecond.median;
      scaling.push(`${backend} ` + cells.filter((cell) => cell.writers !== 1)
        .map((cell) => `${cell.writers} writers ${n(cell.arms.server.appendsPerSecond.median / base, 2)} ×`).join(", "));
    }
    if (scaling.length > 0) out.push("", `Server throughput ÷ its own at 1 writer (medians): ${scaling.join("; ")}.`);
    out.push("", `Live subscribers: a burst of ${n(sizes.server.burst)} appends (4 writers) to ${n(sizes.server.subscribers)} subscribers, ${n(sizes.server.subscriberReps)} runs; delivery from the commit (the event's \`recordedAt\`) to the subscriber's receipt`, "");
    out.push(table(["backend", "deliveries", "delivery ms p50", "delivery ms p99 (median run)", "p99 (worst run)", "max ms", "p99 from the send (median run)", "deliveries/s", "reads (all runs)"],
      s.subscribers.map((b) => [b.backend, n(b.deliveries), n(b.deliveryMs.p50, 1), n(b.deliveryMs.p99, 1),
        n(b.deliveryMs.worstP99, 1), n(b.deliveryMs.max, 1), n(b.fromSendMs?.p99, 1), n(b.deliveriesPerSecond),
        n(b.samples.reduce((sum, run) => sum + (run.readsDuringBurst ?? NaN), 0))])));
  }
  out.push(...moreMarkdown(results));
  if (results.scenario9) {
    out.push("", "## Scenario 9: bundle", "");
    for (const set of results.scenario9.sets) {
      out.push(`**${set.name}**`, "");
      out.push(table(["file", "path", "raw", "gzip -9", "brotli -q 11"],
        set.files.map((f) => [f.role, `\`${f.path}\``, kib(f.raw), kib(f.gzip), kib(f.brotli)])), "");
    }
    const crates = results.scenario9.codeByCrate;
    if (crates) {
      out.push("Share of the default entry's code section by crate (its release build before wasm-opt, by function name; " +
        "generic code counts under the crate that defines it, such as `alloc` for collections of fieldstream's types):", "");
      out.push(table(["crate", "share of code"], crates.map((c) => [c.crate, `${n(c.share, 1)}%`])));
    }
  }
  return `${out.join("\n")}\n`;
}
