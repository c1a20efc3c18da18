// Helpers for running the package inside workerd through miniflare: where the package's
// `workerd` export condition leads, and miniflare options for a worker script whose imports
// (relative paths, the .wasm as a compiled module) miniflare collects by itself.
import { execFileSync } from "node:child_process";
import { relative, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The file `import "fieldstream"` gives under the `workerd` condition, relative to `dir`. */
export function workerdEntry(dir) {
  const resolved = execFileSync(process.execPath, [
    "--conditions=workerd", "--input-type=module", "-e",
    "process.stdout.write(import.meta.resolve('fieldstream'))",
  ], { cwd: root }).toString();
  const path = relative(dir, fileURLToPath(resolved));
  return path.startsWith(".") ? path : `./${path}`;
}

/** Miniflare options for `script`, a module worker that lives (virtually) in `dir`. */
export function workerdModules(dir, script, extra = {}) {
  return {
    modules: true,
    script,
    scriptPath: join(dir, "worker.generated.mjs"),
    modulesRoot: root,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-06-01",
    ...extra,
  };
}
