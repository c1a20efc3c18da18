// Runs the edge worker locally in workerd through miniflare, without a bundler:
//
//   node examples/edge-worker/miniflare.mjs --server http://127.0.0.1:8080 [--port 8787] [--token T]
//
// Miniflare takes the worker's modules as they are. The one import a bundler would resolve,
// `"fieldstream"`, is resolved here as workerd's bundlers do: by the package's `workerd` export
// condition (the .wasm imported as a compiled module). `workerOptions()` is also what the
// example's test uses.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");

/** The file `import "fieldstream"` gives under the `workerd` condition. */
export function fieldstreamForWorkerd() {
  const url = execFileSync(process.execPath, [
    "--conditions=workerd", "--input-type=module", "-e",
    "process.stdout.write(import.meta.resolve('fieldstream'))",
  ], { cwd: root }).toString();
  return fileURLToPath(url);
}

const specifiers = /(?:^|[\s;])(?:import|export)\s*(?:[^'";]*?\sfrom\s*)?["']([^"']+)["']/g;

/** Every module `entry` reaches, with "fieldstream" standing for `packageEntry`. */
function collect(entry, packageEntry) {
  const modules = [];
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    if (path.endsWith(".wasm")) {
      modules.push({ type: "CompiledWasm", path, contents: readFileSync(path) });
      return;
    }
    let source = readFileSync(path, "utf8");
    source = source.replace(specifiers, (whole, specifier) => {
      if (specifier !== "fieldstream") return whole;
      let target = relative(dirname(path), packageEntry);
      if (!target.startsWith(".")) target = `./${target}`;
      return whole.replace(/["']fieldstream["']/, JSON.stringify(target));
    });
    modules.push({ type: "ESModule", path, contents: source });
    for (const [, specifier] of source.matchAll(specifiers)) {
      if (!specifier.startsWith(".")) throw new Error(`${path}: cannot resolve ${specifier}`);
      visit(resolve(dirname(path), specifier));
    }
  };
  visit(entry);
  return modules;
}

/** Miniflare options for the worker against the fieldstream-server at `url`. */
export function workerOptions({ url, token, port } = {}) {
  return {
    modules: collect(join(here, "src", "worker.mjs"), fieldstreamForWorkerd()),
    modulesRoot: root,
    compatibilityDate: "2025-06-01",
    bindings: { FIELDSTREAM_URL: url, ...(token ? { FIELDSTREAM_TOKEN: token } : {}) },
    ...(port === undefined ? {} : { port, host: "127.0.0.1" }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare(workerOptions({
    url: flag("server", "http://127.0.0.1:8080"),
    token: flag("token", process.env.FIELDSTREAM_TOKEN),
    port: Number(flag("port", "8787")),
  }));
  console.log(`edge worker on ${await mf.ready}`);
}
