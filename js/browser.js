// The browser entry of the fieldstream package (bundlers, `<script type="module">`, dedicated
// workers): fetches and instantiates the WebAssembly module next to this file (top-level
// await), then exposes the bindings and the public API.
import init, { setErrorFactory } from "../pkg/fieldstream.js";
import { makeError } from "./errors.js";

await init({ module_or_path: new URL("../pkg/fieldstream_bg.wasm", import.meta.url) });
setErrorFactory(makeError);

export * from "../pkg/fieldstream.js";
export * from "./errors.js";
export { open, Store, REDACTED } from "./api.js";
export { startSync } from "./sync.js";
