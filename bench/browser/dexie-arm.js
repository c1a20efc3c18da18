// The Dexie arm: what a web developer would pick instead of fieldstream. The same records in a
// table keyed by [stream+version]; a command is one `bulkPut` (several events) or one `add`
// (one event). Dexie runs each in an implicit readwrite transaction and resolves its promise
// only after the transaction's `complete`, so the timing ends at the same point as the others.
import Dexie from "/node_modules/dexie/dist/dexie.mjs";

/** Opens (creating) Dexie database `name` with table `events` and the schemas of `tables`;
 * `strict` asks for strict durability. */
export async function openDexie(name, { strict = false, tables = {} } = {}) {
  const db = new Dexie(name, strict ? { chromeTransactionDurability: "strict" } : undefined);
  db.version(1).stores({ events: "[stream+version]", ...tables });
  await db.open();
  return {
    /** One `add` for one record, else one `bulkPut`. */
    append(records) {
      return records.length === 1 ? db.events.add(records[0]) : db.events.bulkPut(records);
    },
    count: () => db.events.count(),
    close: () => db.close(),
    /** The Dexie instance, for arms that use more than `events`. */
    dexie: db,
  };
}

/** Dexie's version. */
export const dexieVersion = Dexie.semVer;
