// The package as a new user gets it: `npm pack`'s tarball installed into a fresh project in a
// temporary folder, where a strict TypeScript check (target es2022, no skipLibCheck) passes, the
// Order example runs in Node.js, Vite bundles a page, and every entry exports exactly the names
// index.d.ts declares.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "vite";

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
  for (const file of ["js/index.d.ts", "js/browser.js", "js/node.js", "js/workerd.js", "pkg/fieldstream_bg.wasm", "LICENSE"]) {
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
  const types = readFileSync(join(app, "node_modules", "fieldstream", "js", "index.d.ts"), "utf8");
  const declared = [...types.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).sort();
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

test("Vite bundles a page that imports the package by name, with the .wasm as an asset", async () => {
  writeFileSync(join(app, "index.html"), '<!doctype html><script type="module" src="./main.js"></script>');
  writeFileSync(
    join(app, "main.js"),
    'import { open } from "fieldstream";\nconst store = await open({ storage: "memory" });\ndocument.title = store.clientId;\n',
  );
  const outDir = join(app, "dist");
  await build({ root: app, logLevel: "warn", configFile: false, build: { outDir, target: "es2022" } });
  const assets = readdirSync(join(outDir, "assets"));
  assert.ok(assets.some((file) => file.endsWith(".wasm")), `a .wasm asset among ${assets}`);
  assert.ok(assets.some((file) => file.endsWith(".js")), `a script among ${assets}`);
});
