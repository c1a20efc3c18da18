// The Node.js entry of the fieldstream package: loads the WebAssembly module synchronously
// from the package's own files, then exposes the public API (exactly what index.d.ts declares).
import { readFileSync } from "node:fs";
import { initSync, setErrorFactory, setPanicHandler } from "../pkg/fieldstream.js";
import { makeError } from "./errors.js";
import { reportPanic } from "./panic.js";

initSync({ module: readFileSync(new URL("../pkg/fieldstream_bg.wasm", import.meta.url)) });
setErrorFactory(makeError);
setPanicHandler(reportPanic);

export * from "./public.js";
