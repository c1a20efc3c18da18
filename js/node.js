// The Node.js entry of the fieldstream package: loads the WebAssembly module synchronously
// from the package's own files, then exposes the bindings.
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/fieldstream.js";

initSync({ module: readFileSync(new URL("../pkg/fieldstream_bg.wasm", import.meta.url)) });

export * from "../pkg/fieldstream.js";
export { startSync } from "./sync.js";
