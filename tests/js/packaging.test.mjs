// The package as a new user gets it: `npm pack`'s tarball installed into a fresh project in a
// temporary folder, where a strict TypeScript check (target es2022, no skipLibCheck) passes, the
// Order example runs in Node.js, every entry exports exactly the names index.d.ts declares (its
// own and the error classes it re-exports from errors.d.ts), and
// Vite bundles two pages: one that opens without sync, which never loads the full WebAssembly
// module, and one that opens with sync on it (both run in headless Chromium).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import sirv from "sirv";
import { build } from "vite";
import { launchChromium } from "../browser/harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tools = join(root, "node_modules");

let folder;
let app;
before(() => {
  folder = mkdtempSync(join(tmpdir(), "fieldstream-package-"));
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", folder], { cwd: root, encoding: "utf8" }),
  );
  app = join(folder, "app");
  const installed = join(app, "node_modules", "fieldstream");
  mkdirSync(installed, { recursive: true });
  // What `npm install <tarball>` does for a package without dependencies: unpack it in place.
  execFileSync("tar", ["-xzf", join(folder, packed[0].filename), "-C", installed, "--strip-components=1"]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
});
after(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

test("the tarball holds the built package, its types and its licence, and nothing of the sources", () => {
  const installed = join(app, "node_modules", "fieldstream");
  const files = readdirSync(installed, { recursive: true }).map(String).sort();
  for (const file of ["js/index.d.ts", "js/errors.d.ts", "js/projections.d.ts", "js/browser.js", "js/node.js", "js/workerd.js", "pkg/fieldstream_bg.wasm",
    "pkg/lite/fieldstream_bg.wasm", "pkg/lite/fieldstream.js", "pkg/edge/fieldstream_bg.wasm", "pkg/edge/fieldstream.js",
    "LICENSE"]) {
    assert.ok(files.includes(file), `${file} is in the tarball`);
  }
  assert.deepEqual(files.filter((file) => /^(src|server|tests|target)\//.test(file)), []);
});

test("its types pass a strict tsc at target es2022 without skipLibCheck", () => {
  cpSync(join(root, "tests", "types", "usage.ts"), join(app, "usage.ts"));
  const compilerOptions = {
    strict: true,
    noEmit: true,
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    lib: ["es2022", "dom"],
    skipLibCheck: false,
  };
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["usage.ts"] }));
  execFileSync(process.execPath, [join(tools, "typescript", "bin", "tsc"), "-p", app], { encoding: "utf8" });
});

test("the Order example runs in Node.js from the installed package", () => {
  cpSync(join(root, "examples", "order-history.mjs"), join(app, "examples", "order-history.mjs"));
  cpSync(join(root, "examples", "edge-worker", "src", "order.mjs"), join(app, "examples", "edge-worker", "src", "order.mjs"));
  const output = execFileSync(process.execPath, ["examples/order-history.mjs"], { cwd: app, encoding: "utf8" });
  assert.match(output, /A second payment is refused: DomainError order_not_payable/);
  assert.match(output, /v3 .* OrderShipped +→ status Shipped/);
  assert.match(output, /The retried create was deduplicated: true/);
});

test("every entry exports exactly the values index.d.ts declares", async () => {
  const types = (file) => readFileSync(join(app, "node_modules", "fieldstream", "js", file), "utf8");
  const values = (source) => [...source.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]);
  const index = types("index.d.ts");
  // Its value re-exports (`export { … } from "./errors.js";`, not `export type`): exactly the
  // classes errors.d.ts declares.
  const reExported = [...index.matchAll(/^export \{([^}]*)\} from "\.\/errors\.js";/gm)]
    .flatMap((m) => m[1].split(",").map((name) => name.trim()).filter(Boolean));
  assert.deepEqual([...reExported].sort(), values(types("errors.d.ts")).sort(), "index.d.ts re-exports errors.d.ts");
  const declared = [...values(index), ...reExported].sort();
  const script = 'import("fieldstream").then((m) => console.log(JSON.stringify(Object.keys(m).sort())))';
  const exported = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" }));
  assert.deepEqual(exported, declared, "the Node.js entry");
  // The browser and workerd entries load the module their own way, then export the same file.
  for (const entry of ["browser.js", "workerd.js", "node.js"]) {
    const source = readFileSync(join(app, "node_modules", "fieldstream", "js", entry), "utf8");
    const exports = source.split("\n").filter((line) => line.startsWith("export"));
    assert.deepEqual(exports, ['export * from "./public.js";'], entry);
  }
});

test("Vite bundles a page on IndexedDB without sync with only the lite .wasm in reach, and a page with sync with the full one in a lazy chunk", async () => {
  writeFileSync(join(app, "index.html"), '<!doctype html><script type="module" src="./main.js"></script>');
  writeFileSync(
    join(app, "main.js"),
    'import { open } from "fieldstream";\n' +
      'const store = await open({ name: "vite-page" });\n' +
      "document.title = `ready ${store.clientId}`;\n",
  );
  writeFileSync(join(app, "sync.html"), '<!doctype html><script type="module" src="./sync.js"></script>');
  // A server that is never reached: with `auto: false` nothing syncs until `sync()` is called.
  writeFileSync(
    join(app, "sync.js"),
    'import { open } from "fieldstream";\n' +
      'const store = await open({ storage: "memory", sync: { url: "http://127.0.0.1:9", auto: false, live: false } });\n' +
      "document.title = `ready ${JSON.stringify(store.status())}`;\n",
  );
  // A module that cannot be fetched (offline, not cached) rejects open() with a NetworkError.
  writeFileSync(join(app, "unreachable.html"), '<!doctype html><script type="module" src="./unreachable.js"></script>');
  writeFileSync(
    join(app, "unreachable.js"),
    'import { open } from "fieldstream";\n' +
      'open({ name: "vite-unreachable" }).then(() => { document.title = "ready opened"; },\n' +
      '  (error) => { document.title = `ready ${error.name} ${error.cause instanceof Error}`; });\n',
  );
  const outDir = join(app, "dist");
  const input = { main: join(app, "index.html"), sync: join(app, "sync.html"), unreachable: join(app, "unreachable.html") };
  await build({
    root: app,
    logLevel: "warn",
    configFile: false,
    build: { outDir, target: "es2022", manifest: true, rollupOptions: { input } },
  });
  const assets = readdirSync(join(outDir, "assets"));
  const installed = join(app, "node_modules", "fieldstream", "pkg");
  /** The emitted asset that is the package's `wasm` (Vite copies it byte for byte). */
  const emitted = (wasm) => {
    const size = statSync(join(installed, wasm)).size;
    const found = assets.filter((file) => file.endsWith(".wasm") && statSync(join(outDir, "assets", file)).size === size);
    assert.equal(found.length, 1, `${wasm} is one emitted asset among ${assets}`);
    return found[0];
  };
  const lite = emitted(join("lite", "fieldstream_bg.wasm"));
  const full = emitted("fieldstream_bg.wasm");

  // What the page loads before any dynamic import(): its entry chunk and their static imports.
  const manifest = JSON.parse(readFileSync(join(outDir, ".vite", "manifest.json"), "utf8"));
  const initial = (key, seen = new Set()) => {
    if (seen.has(key)) return seen;
    seen.add(key);
    for (const imported of manifest[key].imports ?? []) initial(imported, seen);
    return seen;
  };
  const text = (key) => readFileSync(join(outDir, manifest[key].file), "utf8");
  const mainKey = Object.keys(manifest).find((key) => manifest[key].isEntry && key.endsWith("index.html"));
  const eager = [...initial(mainKey)];
  assert.ok(eager.some((key) => manifest[key].dynamicImports?.length), "the page imports the modules lazily");
  for (const key of eager) {
    assert.ok(!text(key).includes(full), `${manifest[key].file}, loaded up front, does not name the full .wasm`);
    assert.ok(!/syncclient_free/.test(text(key)), `${manifest[key].file}, loaded up front, holds no sync glue`);
  }
  const naming = (wasm) => Object.keys(manifest).filter((key) => manifest[key].file.endsWith(".js") && text(key).includes(wasm));
  for (const key of naming(full)) assert.ok(!eager.includes(key), `${key} (naming the full .wasm) is lazy`);
  assert.ok(naming(lite).length > 0 && naming(full).length > 0, "both modules are reachable");

  // In Chromium: the page without sync fetches only the lite .wasm; the one with sync opens on the
  // full module.
  const served = sirv(outDir, { dev: true });
  const server = createServer((request, response) => served(request, response));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();
  try {
    const visit = async (path, { blockWasm = false } = {}) => {
      const page = await browser.newPage();
      if (blockWasm) await page.route("**/*.wasm", (route) => route.abort("internetdisconnected"));
      const fetched = [];
      const errors = [];
      page.on("request", (request) => request.url().endsWith(".wasm") && fetched.push(request.url().split("/").pop()));
      page.on("pageerror", (error) => errors.push(error));
      await page.goto(`${origin}${path}`);
      await page.waitForFunction(() => document.title.startsWith("ready") || document.title === "failed", null, { timeout: 60_000 });
      const title = await page.title();
      await page.close();
      assert.deepEqual(errors, [], `${path} ran without errors`);
      return { fetched, title };
    };
    const plain = await visit("/index.html");
    assert.deepEqual(plain.fetched, [lite], "the page on IndexedDB without sync fetches the lite module only");
    const syncing = await visit("/sync.html");
    assert.deepEqual(syncing.fetched, [full], "the page with sync fetches the full module only");
    assert.equal(JSON.parse(syncing.title.slice("ready ".length)).pending, 0);
    const unreachable = await visit("/unreachable.html", { blockWasm: true });
    assert.equal(unreachable.title, "ready NetworkError true", "a NetworkError with the failure as its cause");
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
