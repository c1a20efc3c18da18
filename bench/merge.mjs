#!/usr/bin/env node
// Merges the results of several partial runs (`node bench/run.mjs --only=…`, each copied to a
// JSON file of its own) into one report: `node bench/merge.mjs out.md a.json b.json …` writes
// out.md and out.json with every scenario found, each from the last file that has it. For a
// long run split into pieces, so that a failure late in it loses one scenario, not all.
import { readFileSync, writeFileSync } from "node:fs";
import { markdown } from "./lib/report.mjs";

const [out, ...files] = process.argv.slice(2);
if (!out || files.length === 0) throw new Error("usage: node bench/merge.mjs out.md a.json [b.json …]");
const merged = {};
for (const file of files) {
  const results = JSON.parse(readFileSync(file, "utf8"));
  for (const [key, value] of Object.entries(results)) {
    if (key === "machine") merged.machine = { ...merged.machine, ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) };
    else merged[key] = value;
  }
}
merged.seconds = files.reduce((sum, file) => sum + (JSON.parse(readFileSync(file, "utf8")).seconds ?? 0), 0);
writeFileSync(out.replace(/\.md$/, ".json"), `${JSON.stringify(merged, null, 2)}\n`);
writeFileSync(out, markdown(merged));
console.log(`wrote ${out} and its .json (${Object.keys(merged).filter((k) => k.startsWith("scenario")).join(", ")})`);
