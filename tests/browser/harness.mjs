// Shared set-up of the Playwright tests: the repository served on loopback and Debian's
// Chromium driven headless through playwright-core (never a downloaded browser).
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import sirv from "sirv";
import { freePort, healthy } from "../../scripts/server-process.mjs";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The flags Chromium needs on a closed, sandbox-less CI machine. */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Serves the repository root on 127.0.0.1 (IndexedDB wants a real origin). */
export async function serveRepository() {
  const assets = sirv(root, { dev: true, extensions: [] });
  const server = createServer((request, response) => assets(request, response));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Launches headless Chromium from `CHROMIUM` or /usr/bin/chromium. */
export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: chromiumArgs,
  });
}

/** Opens `path` of the served repository in a fresh page and waits for `window.ready`. */
export async function openPage(browser, origin, path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${origin}${path}`);
  await page.waitForFunction(() => window.ready === true || window.failed !== undefined);
  const failed = await page.evaluate(() => window.failed);
  if (failed) throw new Error(`page failed to start: ${failed}`);
  return { context, page, errors };
}

/**
 * Registers a test file's `before` and `after` hooks: the real server (`startServer(options)`)
 * and Chromium, started once and stopped at the end. Their handles are on the returned object
 * (`env.server`, `env.browser`) once the tests run.
 */
export function serverAndBrowser(options) {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer(options);
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/**
 * Registers a test file's `before` and `after` hooks: the repository served on 127.0.0.1
 * (`serveRepository()`) and Chromium, started once and stopped at the end. Their handles are on
 * the returned object (`env.site`, `env.browser`) once the tests run. `ready(env)`, if given,
 * runs once both are up (a file's own top-level `before` may run before this one's).
 */
export function siteAndBrowser(ready) {
  const env = { site: undefined, browser: undefined };
  before(async () => {
    env.site = await serveRepository();
    env.browser = await launchChromium();
    await ready?.(env);
  });
  after(async () => {
    await env.browser?.close();
    await env.site?.close();
  });
  return env;
}

/**
 * Every event on the server at `origin` (of the token's tenant), in position order, read page
 * by page: the server ends a page early at its read budget, so one page may not hold them all.
 */
export async function readAll(origin, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const events = [];
  for (let after = 0; ;) {
    const answer = await fetch(`${origin}/v1/events?after=${after}&limit=10000`, { headers });
    if (!answer.ok) throw new Error(`GET /v1/events answered ${answer.status}: ${await answer.text()}`);
    const page = await answer.json();
    events.push(...page.events);
    if (page.events.length === 0 || events.at(-1).position >= page.head) return events;
    after = events.at(-1).position;
  }
}

/**
 * Starts the real `fieldstream-server` (debug build, built if missing) on a free loopback port
 * with a fresh SQLite file, serving the repository as its static folder so pages and the API
 * share one origin: in dev mode (no tokens), or checking HS256 tokens signed with `jwtSecret`;
 * `args` are more flags (such as `["--max-events-per-append", "5"]`) and `env` more environment
 * variables.
 */
export async function startServer({ jwtSecret, args = [], env: extra = {} } = {}) {
  const { spawn, execFileSync } = await import("node:child_process");
  const { existsSync, mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const binary = join(root, "target", "debug", "fieldstream-server");
  if (!existsSync(binary)) {
    execFileSync("cargo", ["build", "-p", "fieldstream-server"], { cwd: root, stdio: "inherit" });
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "fieldstream-test-"));
  // The secret travels in the environment: the server refuses one on its command line.
  const env = { ...process.env, ...extra };
  delete env.FIELDSTREAM_JWT_SECRET;
  if (jwtSecret) env.FIELDSTREAM_JWT_SECRET = jwtSecret;
  const child = spawn(binary, [
    ...(jwtSecret ? ["serve"] : ["serve", "--dev"]),
    "--database", join(dir, "server.db"), "--listen", `127.0.0.1:${port}`,
    "--static", root, "--log", "warn", "--cors-origin", `http://127.0.0.1:${port}`, ...args,
  ], { stdio: ["ignore", "inherit", "inherit"], env });
  const origin = `http://127.0.0.1:${port}`;
  await healthy(origin, child);
  return {
    origin,
    /** Every event on the server (of the token's tenant), in position order. */
    events: (token) => readAll(origin, token),
    async close() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HS256 token for a server started with `FIELDSTREAM_JWT_SECRET=secret`, expiring in
 * `ttlSeconds`, limited to `streams` when given. */
export async function signToken(secret, { sub = "rep", tenant = "t", ttlSeconds = 3600, streams } = {}) {
  const { createHmac } = await import("node:crypto");
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const claims = streams ? { sub, tenant, exp, streams } : { sub, tenant, exp };
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

/** Waits until `check(arg)` (run in `page`, possibly async) is truthy; fails after `timeoutMs`. */
export async function eventually(page, check, arg, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(check, arg))) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether the long versions run (`FIELDSTREAM_SOAK` set to anything but `0` or empty). */
export const soak = Boolean(process.env.FIELDSTREAM_SOAK) && process.env.FIELDSTREAM_SOAK !== "0";

/** `bounded` in the normal run, `long` with `FIELDSTREAM_SOAK`. */
export const pick = (bounded, long) => (soak ? long : bounded);

/** Records a scenario's figures: stderr, and one line of `target/tmp/reliability-figures.ndjson`. */
export async function report(scenario, figures) {
  const { appendFileSync, mkdirSync } = await import("node:fs");
  const line = JSON.stringify({ scenario, mode: soak ? "long" : "bounded", server: "debug build", figures });
  console.error(`FIGURES ${line}`);
  const dir = join(root, "target", "tmp");
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, "reliability-figures.ndjson"), `${line}\n`);
}

/**
 * Starts `tools/fault-proxy` (debug build, built if missing) in front of `upstream` (an origin
 * such as http://127.0.0.1:8080) with `faults` (its command-line options, such as
 * `{ "drop-response": 0.3 }`); answers its origin, and `stop()` which resolves to its counts.
 */
export async function startFaultProxy(upstream, faults) {
  const { spawn, execFileSync } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  const { createInterface } = await import("node:readline");
  const binary = join(root, "target", "debug", "fault-proxy");
  if (!existsSync(binary)) {
    execFileSync("cargo", ["build", "-p", "fault-proxy"], { cwd: root, stdio: "inherit" });
  }
  const args = ["--upstream", new URL(upstream).host];
  for (const [name, value] of Object.entries(faults)) args.push(`--${name}`, String(value));
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = (await iterator.next()).value ?? "";
  const origin = first.replace("listening on ", "").trim();
  if (!origin.startsWith("http://")) throw new Error(`fault-proxy did not start: ${first}`);
  return {
    origin,
    async stop() {
      child.kill("SIGINT");
      const counts = (await iterator.next()).value;
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      return counts ? JSON.parse(counts) : null;
    },
  };
}
