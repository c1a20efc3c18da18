// Scenario 9: what a browser downloads, raw, gzip (level 9) and brotli (quality 11, Node's
// zlib): the .wasm, the wasm-bindgen JS glue and the browser entry file. Measures pkg/ as built
// by scripts/build.mjs; changes nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

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

/** Sizes of each file and of wasm + glue + entry together (each compressed on its own). */
export function measureBundle(root) {
  const files = FILES.map(([role, path]) => ({ role, path, ...sizes(readFileSync(join(root, path))) }));
  const total = { role: "total", path: "wasm + glue + entry" };
  for (const key of ["raw", "gzip", "brotli"]) total[key] = files.reduce((sum, file) => sum + file[key], 0);
  return { files: [...files, total], targetBrotliBytes: 150 * 1024, stretchBrotliBytes: 100 * 1024 };
}
