#!/usr/bin/env node
// Starts the field-sales demo (the last step of `npm start`): builds `fieldstream-server`
// (quick when up to date), assembles the served folder target/www/ (the app from www/, the
// built package as an app would install it under node_modules/fieldstream/, and the service
// worker with the list of files to cache), then runs the server on its SQLite file in dev mode,
// serving the folder and the sync API on one port, and prints the URL. Ctrl-C stops it cleanly.
//
//   node scripts/start.mjs [--database FILE] [--profile release|debug] [--no-build]
//
// PORT (default 8080) picks the port; --database defaults to .fieldstream/demo.db.
// The end-to-end tests start the demo with this script (tests/e2e/demo.mjs).
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { healthy } from "./server-process.mjs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Everything under `dir`, as paths relative to it, in a stable order. */
function filesUnder(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path).map((file) => join(entry.name, file)));
    else found.push(entry.name);
  }
  return found.sort();
}

/**
 * Assembles the served folder `out`: www/, the package's published files (package.json's
 * `files`) under node_modules/fieldstream/, and sw.js with the shell's files and version.
 * Returns the shell's version.
 */
export function prepareSite(out = join(root, "target", "www")) {
  if (!existsSync(join(root, "pkg", "fieldstream_bg.wasm"))) {
    throw new Error("pkg/ is missing: build the package first (node scripts/build.mjs)");
  }
  rmSync(out, { recursive: true, force: true });
  cpSync(join(root, "www"), out, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const installed = join(out, "node_modules", "fieldstream");
  mkdirSync(installed, { recursive: true });
  for (const file of ["package.json", ...manifest.files]) {
    cpSync(join(root, file), join(installed, file), { recursive: true });
  }
  const shell = filesUnder(out)
    .filter((file) => file !== "sw.js" && /\.(html|css|js|wasm)$/.test(file) && !file.endsWith(".d.ts"))
    .map((file) => `./${file.split(sep).join("/")}`);
  const hash = createHash("sha256");
  for (const file of shell) hash.update(file).update(readFileSync(join(out, file)));
  const version = hash.digest("hex").slice(0, 12);
  const worker = readFileSync(join(out, "sw.js"), "utf8");
  const files = ["./", ...shell];
  writeFileSync(join(out, "sw.js"), `const SHELL = ${JSON.stringify({ version, files })};\n${worker}`);
  return version;
}

/** Rejects with a clear message when something already listens on `port` (another server
 * would otherwise answer the health check in this one's place). */
async function checkFree(port) {
  await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => reject(error.code === "EADDRINUSE"
      ? new Error(`port ${port} is in use: stop what listens there, or pick another with PORT=<port> npm start`)
      : error));
    probe.listen(port, "127.0.0.1", () => probe.close(resolve));
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      database: { type: "string", default: join(root, ".fieldstream", "demo.db") },
      profile: { type: "string", default: "release" },
      "no-build": { type: "boolean", default: false },
    },
  });
  if (!["release", "debug"].includes(values.profile)) throw new Error(`--profile must be release or debug, not ${values.profile}`);
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`PORT must be a port number, not ${process.env.PORT}`);

  const binary = join(root, "target", values.profile, "fieldstream-server");
  if (!values["no-build"]) {
    execFileSync("cargo", ["build", "-p", "fieldstream-server", ...(values.profile === "release" ? ["--release"] : [])],
      { cwd: root, stdio: "inherit" });
  } else if (!existsSync(binary)) {
    throw new Error(`${relative(root, binary)} is missing: build it, or run without --no-build`);
  }
  const site = join(root, "target", "www");
  prepareSite(site);
  mkdirSync(dirname(values.database), { recursive: true });

  await checkFree(port);
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [
    "serve", "--dev", "--database", values.database, "--listen", `127.0.0.1:${port}`,
    "--static", site, "--log", process.env.FIELDSTREAM_LOG ?? "warn",
  ], { stdio: ["ignore", "inherit", "inherit"] });
  // Ctrl-C reaches the whole process group; either way the server gets one signal and this
  // script exits when it has stopped.
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      child.kill(signal);
    });
  }
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`fieldstream-server stopped (${signal ?? code})`);
    process.exit(stopping ? 0 : code ?? 1);
  });
  await healthy(origin, child);
  const size = existsSync(values.database) ? ` (${(statSync(values.database).size / 1024).toFixed(0)} KiB)` : "";
  console.log(`\nField sales demo: ${origin}/`);
  console.log(`Data: ${relative(process.cwd(), values.database) || values.database}${size} · Ctrl-C stops the server\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`npm start: ${error.message}`);
    process.exit(1);
  });
}
