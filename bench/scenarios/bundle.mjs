// Scenario 9: what a browser downloads, raw, gzip (level 9) and brotli (quality 11, Node's
// zlib): the .wasm, the wasm-bindgen JS glue and the browser entry file. Measures pkg/ as built
// by scripts/build.mjs; changes nothing.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { codeByCrate } from "../lib/wasm-crates.mjs";

const FILES = [
  ["wasm", "pkg/fieldstream_bg.wasm"],
  ["glue", "pkg/fieldstream.js"],
  ["entry", "js/browser.js"],
];

function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

/** The release .wasm as cargo wrote it, before wasm-opt: it still has its function names. */
const NAMED_WASM = "target/wasm32-unknown-unknown/release/fieldstream.wasm";

/**
 * Sizes of each file and of wasm + glue + entry together (each compressed on its own), and the
 * share of each crate in the code (from the named build, when present).
 */
export function measureBundle(root) {
  const files = FILES.map(([role, path]) => ({ role, path, ...sizes(readFileSync(join(root, path))) }));
  const total = { role: "total", path: "wasm + glue + entry" };
  for (const key of ["raw", "gzip", "brotli"]) total[key] = files.reduce((sum, file) => sum + file[key], 0);
  const named = join(root, NAMED_WASM);
  return {
    files: [...files, total],
    targetBrotliBytes: 150 * 1024,
    stretchBrotliBytes: 100 * 1024,
    codeByCrate: existsSync(named) ? codeByCrate(named) : undefined,
  };
}
