// Shared set-up of the Playwright tests: the repository served on loopback and Debian's
// Chromium driven headless through playwright-core (never a downloaded browser).
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import sirv from "sirv";

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
