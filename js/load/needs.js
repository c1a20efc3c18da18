// Which of the package's two WebAssembly modules `open()` needs. The lite one (pkg/lite/) is
// built without the cargo features `sync` and `personal`: sync with a server, storage "remote",
// a `secret` and aggregates that declare `personalData` need the full one (pkg/), which the
// browser entry loads only then.

/** Whether `options` (as given to `open()`) ask for anything only the full module has. */
export function needsFull(options) {
  if (options === null || typeof options !== "object") return false;
  if (options.sync !== undefined || options.storage === "remote" || options.secret !== undefined) return true;
  const aggregates = options.aggregates;
  if (aggregates === null || typeof aggregates !== "object") return false;
  return Object.values(aggregates).some((aggregate) => aggregate?.personalData !== undefined);
}
