// The browser entry of the fieldstream package (bundlers, `<script type="module">`, dedicated
// workers): fetches and instantiates the WebAssembly module next to this file (top-level
// await), then exposes the public API (exactly what index.d.ts declares).
import init, { setErrorFactory, setPanicHandler } from "../pkg/fieldstream.js";
import { makeError } from "./errors.js";
import { reportPanic } from "./panic.js";

await init({ module_or_path: new URL("../pkg/fieldstream_bg.wasm", import.meta.url) });
setErrorFactory(makeError);
setPanicHandler(reportPanic);

export * from "./public.js";
