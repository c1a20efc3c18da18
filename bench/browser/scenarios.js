// Scenarios 1 and 2 as they run inside the benchmark page: each call is one repetition of one
// arm on a fresh IndexedDB database (a new name), and returns its timings to the orchestrator.
import { durabilityOf } from "./durability.js";
import { commandRecords } from "./events.js";
import { openRaw, deleteDatabase, countEvents } from "./raw-idb.js";
import { openDexie, dexieVersion } from "./dexie-arm.js";
import { openLayout } from "./layout-arm.js";
import * as fieldstream from "./fieldstream-adapter.js";

export { realisticRun } from "./realistic.js";

/** The arms: each opens a database (`strict`: asking for strict durability) and appends one
 * command's records per call. */
const arms = {
  raw: {
    supports: () => true,
    prepare: (records) => records,
    open: async (name, strict) => {
      const db = await openRaw(name, strict ? { durability: "strict" } : {});
      return { run: (records) => db.append(records), close: db.close };
    },
  },
  layout: {
    supports: () => true,
    prepare: (records) => records,
    open: async (name, strict) => {
      const db = await openLayout(name, { strict });
      return { run: (records) => db.append(records), close: db.close };
    },
  },
  dexie: {
    supports: () => true,
    prepare: (records) => records,
    open: async (name, strict) => {
      const db = await openDexie(name, { strict });
      return { run: (records) => db.append(records), close: db.close };
    },
  },
  fieldstream: {
    supports: fieldstream.supports,
    prepare: fieldstream.commandFor,
    open: async (name, strict) => {
      const arm = await fieldstream.openArm(name, { strict });
      return { run: arm.execute, close: arm.close };
    },
  },
  sealed: {
    supports: fieldstream.supports,
    prepare: fieldstream.sealedCommandFor,
    open: async (name, strict) => {
      const arm = await fieldstream.openArm(name, { sealed: true, strict });
      return { run: arm.execute, close: arm.close };
    },
  },
};

/** What the page can tell about itself and its arms. */
export function describe() {
  return { userAgent: navigator.userAgent, dexie: dexieVersion, fieldstreamArm: fieldstream.label };
}

/** Whether `arm` can run commands of `perCommand` events. */
export function supports(arm, perCommand) {
  return arms[arm].supports(perCommand);
}

async function finish(session, name) {
  session.close();
  const stored = await countEvents(name);
  await deleteDatabase(name);
  return stored;
}

/**
 * Scenario 1: `total` events in commands of `perCommand` events, one after the other; the
 * clock runs from the first command to the last one's completion.
 */
export async function appendRun({ arm, total, perCommand, name, strict = false }) {
  const commands = commandRecords(total, perCommand).map(arms[arm].prepare);
  const session = await arms[arm].open(name, strict);
  const started = performance.now();
  for (const command of commands) await session.run(command);
  const ms = performance.now() - started;
  const durability = durabilityOf(name);
  const stored = await finish(session, name);
  return { ms, events: total, commands: commands.length, stored, durability };
}

/**
 * Scenario 2: `samples` commands of one event, each timed on its own, after `warmup` untimed
 * ones (the first transaction of a new database pays for opening its files).
 */
export async function latencyRun({ arm, samples, warmup, name, strict = false }) {
  const commands = commandRecords(samples + warmup, 1).map(arms[arm].prepare);
  const session = await arms[arm].open(name, strict);
  const latencies = [];
  for (const [index, command] of commands.entries()) {
    const started = performance.now();
    await session.run(command);
    if (index >= warmup) latencies.push(performance.now() - started);
  }
  const durability = durabilityOf(name);
  const stored = await finish(session, name);
  return { latencies, events: commands.length, stored, durability };
}
