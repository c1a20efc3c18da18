// The edge-worker entry of the fieldstream package (Cloudflare's workerd and other runtimes
// that forbid compiling WebAssembly from bytes): the full module's .wasm is imported as a
// module, which the runtime compiles at deploy time, and instantiated synchronously.
import wasm from "../pkg/fieldstream_bg.wasm";
import * as bindings from "../pkg/fieldstream.js";
import { useModules } from "./api.js";
import { bind } from "./load/bind.js";
import { startSync } from "./sync.js";

bindings.initSync({ module: wasm });
const WasmStore = bind(bindings);
const full = { WasmStore, startSync };
useModules(async () => full);

export * from "./public.js";
