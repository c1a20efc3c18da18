// The full WebAssembly module (pkg/: with the memory store, the sync client, the remote store
// and the cipher of personal data), fetched and instantiated when this file is first imported; the browser entry
// imports it on demand.
import init, * as bindings from "../../pkg/fieldstream.js";
import { bind } from "./bind.js";

export { startSync } from "../sync.js";

await init({ module_or_path: new URL("../../pkg/fieldstream_bg.wasm", import.meta.url) });

/** The full module's `WasmStore` class (and, above, the sync driver that runs its clients). */
export const WasmStore = bind(bindings);
