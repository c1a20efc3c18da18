// The raw arm that writes fieldstream's own layout by hand: the records a fieldstream command
// stores (its events as one run record: key fields, ids and the envelopes as one JSON array
// text; the outbox entry holding the command; the local sequence counter with the log's
// counts), in one readwrite transaction
// over the stores they live in, with no engine in between. Against the fieldstream arm it
// shows what the engine costs; against the plain raw arm, what the layout costs.
import { open } from "/js/browser.js";
import { openExisting } from "./raw-idb.js";

/** Creates database `name` with fieldstream's current schema (through `open()`), then opens
 * it by hand; `strict` asks for strict durability. */
export async function openLayout(name, { strict = false } = {}) {
  const created = await open({ name, storage: "indexeddb", aggregates: {} });
  created.close();
  const db = await openExisting(name);
  let seq = 0;
  let count = 0;
  const options = strict ? { durability: "strict" } : undefined;
  return {
    /** Writes one command's `records` as fieldstream would; resolves at `complete`. */
    append(records) {
      return new Promise((resolve, reject) => {
        const tx = db.transaction(["events", "outbox", "meta"], "readwrite", options);
        const events = tx.objectStore("events");
        const first = seq + 1;
        const commandId = crypto.randomUUID();
        const envelopes = records.map((record) => ({
          id: record.id, stream: record.stream, version: record.version,
          type: record.type, schemaVersion: record.schemaVersion, data: record.data,
          metadata: { ...record.metadata, commandId, clientId: "bench", occurredAt: Date.now() },
        }));
        seq += records.length;
        count += records.length;
        events.add({ stream: records[0].stream, version: records[0].version,
          last: records[records.length - 1].version, seq, ids: records.map((record) => record.id),
          pending: seq, body: JSON.stringify(envelopes) });
        const command = { type: "Append", events: records.map(({ type, data }) => ({ type, data })) };
        const [bench, id] = records[0].stream.split("-");
        tx.objectStore("outbox").put({ seq: first, stream: records[0].stream, body: JSON.stringify({
          seq: first, commandId, aggregateType: bench, aggregateId: id, stream: records[0].stream, command,
          expectedVersion: records[0].version - 1, eventIds: records.map((record) => record.id),
          idempotencyKey: null, correlationId: records[0].metadata.correlationId, causationId: null,
          attempt: 0, createdAt: Date.now(),
        }) });
        tx.objectStore("meta").put({ key: "seq", value: seq, events: count, pending: count });
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
        tx.commit();
      });
    },
    close: () => db.close(),
  };
}
