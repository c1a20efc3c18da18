// Which of the package's two WebAssembly modules `open()` needs. The lite one (pkg/lite/) is
// built without the cargo features `memory`, `sync`, `personal` and `sql`: storage "memory"
// (asked for, or the default where there is no IndexedDB), sync with a server, storage
// "remote", storage "durable-object" (and its `sql` option), a `secret` and aggregates that
// declare `personalData` need the full one (pkg/), which the browser entry loads only then.

/** Whether `options` (as given to `open()`) ask for anything only the full module has. */
export function needsFull(options) {
  const withoutIndexedDb = typeof indexedDB === "undefined";
  if (options === null || typeof options !== "object") return withoutIndexedDb;
  const storage = options.storage ?? (withoutIndexedDb ? "memory" : "indexeddb");
  if (storage === "memory" || storage === "remote" || storage === "durable-object") return true;
  if (options.sync !== undefined || options.secret !== undefined || options.sql !== undefined) return true;
  const aggregates = options.aggregates;
  if (aggregates === null || typeof aggregates !== "object") return false;
  return Object.values(aggregates).some((aggregate) => aggregate?.personalData !== undefined);
}
