// The browser entry of the fieldstream package: fetches and instantiates the WebAssembly
// module next to this file (top-level await), then exposes the bindings.
import init from "../pkg/fieldstream.js";

await init({ module_or_path: new URL("../pkg/fieldstream_bg.wasm", import.meta.url) });

export * from "../pkg/fieldstream.js";
export { startSync } from "./sync.js";
