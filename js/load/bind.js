// Readies a loaded WebAssembly module of fieldstream for the API: its errors become the
// package's error classes and its panics reach the panic handler. Every module loaded (the lite
// and the full one may both run in one page) goes through here once.
import { makeError } from "../errors.js";
import { reportPanic } from "../panic.js";

/** Sets up `bindings` (a module's wasm-bindgen glue, instantiated) and returns its `WasmStore`
 * class, on which `open()` runs. */
export function bind(bindings) {
  bindings.setErrorFactory(makeError);
  bindings.setPanicHandler(reportPanic);
  return bindings.WasmStore;
}
