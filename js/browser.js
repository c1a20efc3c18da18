// The browser entry of the fieldstream package (bundlers, `<script type="module">`, dedicated
// workers): exposes the public API (exactly what index.d.ts declares), and `open()` fetches and
// instantiates the WebAssembly module next to this package's files on demand: the lite one
// (pkg/lite/) by default, the full one (pkg/) only for options that need it (sync, storage
// "memory" or "remote", a secret, personal data: load/needs.js). A page that never asks for those never
// downloads their code: each module is a dynamic `import()` that bundlers split into a chunk of
// its own.
//
// A module is fetched the first time a store needs it: an app that must open stores while
// offline keeps both (pkg/, pkg/lite/, js/load/) in its service worker's cache.
import { useModules } from "./api.js";
import { NetworkError } from "./errors.js";
import { needsFull } from "./load/needs.js";

/** A failed fetch (or instantiation) of a module becomes a NetworkError with it as `cause`. */
const unavailable = (error) => {
  throw new NetworkError(`fieldstream could not load its WebAssembly module: ${error?.message ?? error}`, { cause: error });
};

useModules((options) =>
  (needsFull(options) ? import("./load/full.js") : import("./load/lite.js")).catch(unavailable));

export * from "./public.js";
