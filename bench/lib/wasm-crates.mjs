// Where the bytes of the .wasm go: attributes each function body of a WebAssembly file to the
// crate its (mangled) name starts with, using the file's `name` section. The shipped
// pkg/fieldstream_bg.wasm has no names left after wasm-opt, so scenario 9 reads the release
// build cargo wrote before wasm-opt; the shares are what matters, not the absolute bytes.
import { readFileSync } from "node:fs";

/** A reader of the LEB128 integers and sections of a wasm binary. */
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 8; // after the magic number and version
  }
  byte() {
    return this.bytes[this.at++];
  }
  uint() {
    let result = 0;
    let scale = 1;
    let byte;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return result;
  }
  string() {
    const length = this.uint();
    const text = this.bytes.subarray(this.at, this.at + length).toString("utf8");
    this.at += length;
    return text;
  }
  limits() {
    const flags = this.byte();
    this.uint();
    if (flags & 1) this.uint();
  }
}

/** Counts imported functions (they come first in the function index space). */
function importedFunctions(reader) {
  let functions = 0;
  for (let count = reader.uint(); count > 0; count--) {
    reader.string();
    reader.string();
    const kind = reader.byte();
    if (kind === 0) {
      reader.uint();
      functions++;
    } else if (kind === 1) {
      reader.byte();
      reader.limits();
    } else if (kind === 2) {
      reader.limits();
    } else if (kind === 3) {
      reader.at += 2;
    } else {
      reader.uint(); // a tag
    }
  }
  return functions;
}

/** The crate a mangled (legacy `_ZN…` or v0 `_R…`) or plain Rust symbol belongs to. */
export function crateOf(symbol) {
  if (symbol.startsWith("_ZN")) {
    const length = /^_ZN(\d+)/.exec(symbol);
    if (!length) return "?";
    const start = 3 + length[1].length;
    const first = symbol.slice(start, start + Number(length[1]));
    // `<impl Trait for Type>` items: `_$LT$crate..path..Type$u20$as$u20$…`
    return first.startsWith("_$LT$") ? first.slice(5).replace(/^\$RF\$(mut\$u20\$)?/, "").split(/\.\.|\$/)[0] : first;
  }
  if (symbol.startsWith("_R")) {
    // The first crate root: `C`, an optional disambiguator `s<base62>_`, then `<length><name>`.
    const crate = /C(?:s[0-9a-zA-Z]*_)?(\d+)([a-zA-Z_][a-zA-Z0-9_]*)/.exec(symbol);
    return crate ? crate[2].slice(0, Number(crate[1])) : "?";
  }
  return /^<?([a-zA-Z_][a-zA-Z0-9_]*)/.exec(symbol)?.[1] ?? "?";
}

/** `{ crate, bytes, share }` of the code section, largest first; `top` rows plus the rest. */
export function codeByCrate(path, top = 12) {
  const reader = new Reader(readFileSync(path));
  let imports = 0;
  const bodies = [];
  const names = new Map();
  while (reader.at < reader.bytes.length) {
    const id = reader.byte();
    const size = reader.uint();
    const end = reader.at + size;
    if (id === 2) imports = importedFunctions(reader);
    if (id === 10) {
      for (let count = reader.uint(); count > 0; count--) {
        const length = reader.uint();
        bodies.push(length);
        reader.at += length;
      }
    }
    if (id === 0 && reader.string() === "name") {
      while (reader.at < end) {
        const kind = reader.byte();
        const subsectionEnd = reader.uint() + reader.at;
        if (kind === 1) {
          for (let count = reader.uint(); count > 0; count--) {
            const index = reader.uint();
            names.set(index, reader.string());
          }
        }
        reader.at = subsectionEnd;
      }
    }
    reader.at = end;
  }
  if (names.size === 0) return undefined;
  const totals = new Map();
  let code = 0;
  bodies.forEach((bytes, index) => {
    const crate = crateOf(names.get(imports + index) ?? "?");
    totals.set(crate, (totals.get(crate) ?? 0) + bytes);
    code += bytes;
  });
  const sorted = [...totals].sort((a, b) => b[1] - a[1]);
  const rows = sorted.slice(0, top).map(([crate, bytes]) => ({ crate, bytes }));
  const rest = sorted.slice(top).reduce((sum, [, bytes]) => sum + bytes, 0);
  rows.push({ crate: "(all others)", bytes: rest });
  return rows.map((row) => ({ ...row, share: Math.round((1000 * row.bytes) / code) / 10 }));
}
