// What the results were measured on: CPU, cores, memory, OS, Node.js, the browser, PostgreSQL,
// the commit, and the durability settings every arm runs with.
import { execFileSync } from "node:child_process";
import os from "node:os";

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** The machine and software versions (the browser's is added once it runs). */
export function describeMachine(root) {
  const cpus = os.cpus();
  const pgBin = run("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin | tail -n 1"]);
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${run("sh", ["-c", ". /etc/os-release && echo $PRETTY_NAME"])}, Linux ${os.release()}`,
    node: process.version,
    postgres: run(`${pgBin}/postgres`, ["--version"]),
    commit: run("git", ["-C", root, "rev-parse", "--short", "HEAD"]),
    date: new Date().toISOString(),
    load: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** The durability every arm runs with, stated once for the report. */
export const durability = {
  indexedDb:
    "what each arm's readwrite transactions report, in the tables' durability column: " +
    "\"default\" (raw, Dexie) is what Chromium treats as \"relaxed\" since version 121, and " +
    "fieldstream asks for \"relaxed\" by name: complete fires once data reaches the OS; the " +
    "strict variants of scenarios 1 and 2 ask every arm for \"strict\" (flushed to disk first)",
  sqlite: "WAL, synchronous=FULL (server, backend and raw arms alike)",
  postgres: "synchronous_commit=on, fsync on (cluster defaults; server, backend and raw arms alike)",
};
