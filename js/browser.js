// The browser entry of the fieldstream package (bundlers, `<script type="module">`, dedicated
// workers): exposes the public API (exactly what index.d.ts declares), and `open()` fetches and
// instantiates the WebAssembly module next to this package's files on demand: the lite one
// (pkg/lite/) by default, the full one (pkg/) only for options that need it (sync, storage
// "remote", a secret, personal data: load/needs.js). A page that never asks for those never
// downloads their code: each module is a dynamic `import()` that bundlers split into a chunk of
// its own.
import { useModules } from "./api.js";
import { needsFull } from "./load/needs.js";

useModules((options) => (needsFull(options) ? import("./load/full.js") : import("./load/lite.js")));

export * from "./public.js";
