// The Node.js entry of the fieldstream package: loads the full WebAssembly module synchronously
// from the package's own files, then exposes the public API (exactly what index.d.ts declares).
import { readFileSync } from "node:fs";
import * as bindings from "../pkg/fieldstream.js";
import { useModules } from "./api.js";
import { bind } from "./load/bind.js";
import { startSync } from "./sync.js";

bindings.initSync({ module: readFileSync(new URL("../pkg/fieldstream_bg.wasm", import.meta.url)) });
const WasmStore = bind(bindings);
const full = { WasmStore, startSync };
useModules(async () => full);

export * from "./public.js";
