// Which of the package's two WebAssembly modules `open()` needs. The lite one (pkg/lite/) is
// built without the cargo feature `sync`: sync with a server and storage "remote" need the full
// one (pkg/), which the browser entry loads only then.

/** Whether `options` (as given to `open()`) ask for anything only the full module has. */
export function needsFull(options) {
  if (options === null || typeof options !== "object") return false;
  return options.sync !== undefined || options.storage === "remote";
}
