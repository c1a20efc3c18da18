// Scenario 9: what a browser downloads, raw, gzip (level 9) and brotli (quality 11, Node's
// zlib), for two sets: the default browser entry (a page that opens without sync: the lite
// .wasm, its wasm-bindgen JS glue and the package's JS it loads) and the full feature set (the
// full .wasm, its glue and the package's JS with the full module's loader). Measures pkg/ and
// pkg/lite/ as built by scripts/build.mjs; changes nothing.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { codeByCrate } from "../lib/wasm-crates.mjs";

/** The two sets: their module's .wasm and glue, and the JS module the page's `open()` imports
 * for it (with what that imports, beside the entry's own imports). */
const SETS = [
  { name: "default browser entry", wasm: "pkg/lite/fieldstream_bg.wasm", glue: "pkg/lite/fieldstream.js", loader: "js/load/lite.js" },
  { name: "full feature set", wasm: "pkg/fieldstream_bg.wasm", glue: "pkg/fieldstream.js", loader: "js/load/full.js" },
];
const ENTRY = "js/browser.js";

function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

/** The package's own JS files `start` loads, itself included: its static imports (and theirs)
 * under js/, not the glue under pkg/ (counted on its own) nor dynamic `import()`s. */
function jsClosure(root, start, seen = new Set()) {
  if (seen.has(start)) return seen;
  seen.add(start);
  const source = readFileSync(join(root, start), "utf8");
  for (const [, specifier] of source.matchAll(/^(?:import|export)[^;]*?\sfrom\s+"(\.[^"]+)"/gms)) {
    const path = relative(root, join(root, dirname(start), specifier));
    if (path.startsWith("js/")) jsClosure(root, path, seen);
  }
  return seen;
}

/** The sizes of one set: wasm, glue, the package's JS (each file compressed on its own and
 * summed) and the total. */
function measureSet(root, set) {
  const js = [...new Set([...jsClosure(root, ENTRY), ...jsClosure(root, set.loader)])].sort();
  const files = [
    { role: "wasm", path: set.wasm, ...sizes(readFileSync(join(root, set.wasm))) },
    { role: "glue", path: set.glue, ...sizes(readFileSync(join(root, set.glue))) },
  ];
  const entry = { role: "entry", path: `${js.length} files of js/ (${js.map((f) => f.slice(3)).join(", ")})`, files: js.length };
  const total = { role: "total", path: "wasm + glue + entry" };
  for (const key of ["raw", "gzip", "brotli"]) {
    entry[key] = js.reduce((sum, file) => sum + sizes(readFileSync(join(root, file)))[key], 0);
  }
  files.push(entry);
  for (const key of ["raw", "gzip", "brotli"]) total[key] = files.reduce((sum, file) => sum + file[key], 0);
  return { name: set.name, files: [...files, total] };
}

/** The release .wasm as cargo wrote it, before wasm-opt: it still has its function names. */
const NAMED_WASM = "target/wasm32-unknown-unknown/release-lite/fieldstream.wasm";

/**
 * Sizes of each file of each set and of wasm + glue + entry together, and the share of each
 * crate in the default entry's code (from the named build, when present).
 */
export function measureBundle(root) {
  const named = join(root, NAMED_WASM);
  return {
    sets: SETS.map((set) => measureSet(root, set)),
    targetBrotliBytes: 150 * 1024,
    stretchBrotliBytes: 100 * 1024,
    codeByCrate: existsSync(named) ? codeByCrate(named) : undefined,
  };
}
