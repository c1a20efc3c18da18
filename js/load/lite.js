// The browser's default WebAssembly module (pkg/lite/: IndexedDB storage only, no sync client,
// no remote store, no cipher of personal data), fetched and instantiated when this file is first
// imported.
import init, * as bindings from "../../pkg/lite/fieldstream.js";
import { bind } from "./bind.js";

await init({ module_or_path: new URL("../../pkg/lite/fieldstream_bg.wasm", import.meta.url) });

/** The lite module's `WasmStore` class. */
export const WasmStore = bind(bindings);
