// The edge-worker entry of the fieldstream package (Cloudflare's workerd and other runtimes
// that forbid compiling WebAssembly from bytes): the .wasm is imported as a module, which the
// runtime compiles at deploy time, and instantiated synchronously.
import wasm from "../pkg/fieldstream_bg.wasm";
import { initSync, setErrorFactory, setPanicHandler } from "../pkg/fieldstream.js";
import { makeError } from "./errors.js";
import { reportPanic } from "./panic.js";

initSync({ module: wasm });
setErrorFactory(makeError);
setPanicHandler(reportPanic);

export * from "./public.js";
