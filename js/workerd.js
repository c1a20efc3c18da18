// The edge-worker entry of the fieldstream package (Cloudflare's workerd and other runtimes
// that forbid compiling WebAssembly from bytes): the edge module's .wasm (the full module and the
// Durable Object store, storage "durable-object") is imported as a module, which the runtime
// compiles at deploy time, and instantiated synchronously.
import wasm from "../pkg/edge/fieldstream_bg.wasm";
import * as bindings from "../pkg/edge/fieldstream.js";
import { useModules } from "./api.js";
import { bind } from "./load/bind.js";
import { startSync } from "./sync.js";

bindings.initSync({ module: wasm });
const WasmStore = bind(bindings);
const full = { WasmStore, startSync };
useModules(async () => full);

export * from "./public.js";
