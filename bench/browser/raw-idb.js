// The raw-IndexedDB arm: what a developer writes by hand with no library, the physical limit of
// the browser's storage. Events are keyed by [stream, version] like fieldstream's; one command
// is one readwrite transaction holding a put loop, timed to the transaction's `complete`.

/** Opens (creating) database `name` with one `events` store; its transactions ask for
 * `durability` ("relaxed" or "strict") when given, else take the browser's default. */
export async function openRaw(name, { durability: asked } = {}) {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () =>
      request.result.createObjectStore("events", { keyPath: ["stream", "version"] });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  let durability = "default";
  return {
    /** Puts `records` in one transaction; resolves at its `complete`. */
    append(records) {
      return new Promise((resolve, reject) => {
        const tx = db.transaction("events", "readwrite", asked ? { durability: asked } : undefined);
        durability = tx.durability ?? "default";
        const store = tx.objectStore("events");
        for (const record of records) store.put(record);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
        tx.commit();
      });
    },
    /** How many events the database holds. */
    count() {
      return new Promise((resolve, reject) => {
        const request = db.transaction("events").objectStore("events").count();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    },
    /** The durability the last transaction reported (`default` means the browser's). */
    durability: () => durability,
    close: () => db.close(),
  };
}

/**
 * Deletes database `name`. A connection some library left open only delays it (`blocked`);
 * after 5 s the deletion is left to finish on its own, since every run uses a new name anyway.
 */
export function deleteDatabase(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve(true);
    request.onerror = () => reject(request.error);
    setTimeout(() => resolve(false), 5000);
  });
}

/** How many events the `events` store of database `name` holds (any library's layout: a
 * record is one event, or a run of events that names their `ids`, as fieldstream's are). */
export async function countEvents(name) {
  const db = await openExisting(name);
  try {
    if (!db.objectStoreNames.contains("events")) return 0;
    const events = db.transaction("events").objectStore("events");
    const [first] = await result(events.getAll(null, 1));
    if (!Array.isArray(first?.ids)) return await result(events.count());
    const runs = await result(events.getAll());
    return runs.reduce((count, run) => count + run.ids.length, 0);
  } finally {
    db.close();
  }
}

/** Opens database `name` as it is (no upgrade). */
export function openExisting(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolves `request`'s result. */
export const result = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

/**
 * The logical size of database `name`: the JSON length of every stored key and value, in
 * total and per object store (what each layout keeps, not the browser's files on disk).
 */
export async function storedBytes(name) {
  const db = await openExisting(name);
  try {
    const byStore = {};
    for (const store of db.objectStoreNames) {
      const tx = db.transaction(store);
      const [keys, values] = await Promise.all([result(tx.objectStore(store).getAllKeys()),
        result(tx.objectStore(store).getAll())]);
      let bytes = 0;
      for (let i = 0; i < keys.length; i++) bytes += JSON.stringify(keys[i]).length + JSON.stringify(values[i]).length;
      byStore[store] = bytes;
    }
    return { total: Object.values(byStore).reduce((a, b) => a + b, 0), byStore };
  } finally {
    db.close();
  }
}
