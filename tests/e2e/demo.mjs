// Set-up of the end-to-end tests: the field-sales demo started the way `npm start` starts it
// (scripts/start.mjs, with PORT set to a free port and a temporary database), and a sales rep:
// a browser context of its own (its own IndexedDB, its own network switch) driving the app's
// screens the way a person would.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/server-process.mjs";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";
import { readAll, root } from "../browser/harness.mjs";

/** Where the screenshots go (not committed). */
export const artifacts = join(root, "target", "artifacts");

/**
 * Runs `node scripts/start.mjs` on a free port with a fresh database; the server build is the
 * debug one unless FIELDSTREAM_E2E_PROFILE says `release` (the script builds it when it is not up
 * to date). Resolves when the script printed the demo's URL; `stop()` sends SIGINT as Ctrl-C
 * would and resolves to the script's exit code.
 */
export async function startDemo() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "fieldstream-e2e-"));
  const profile = process.env.FIELDSTREAM_E2E_PROFILE ?? "debug";
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs"), "--profile", profile, "--database", join(dir, "demo.db")], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  const lines = createInterface({ input: child.stdout });
  const origin = await new Promise((resolve, reject) => {
    lines.on("line", (line) => {
      const found = /Field sales demo: (http:\/\/\S+?)\/?$/.exec(line);
      if (found) resolve(found[1]);
    });
    exited.then((code) => reject(new Error(`scripts/start.mjs exited (${code}) before printing the URL`)));
  });
  mkdirSync(artifacts, { recursive: true });
  return {
    origin,
    /** Every event on the server, in position order. */
    events: () => readAll(origin),
    /** Stops the demo with SIGINT (Ctrl-C) and resolves to the script's exit code. */
    async stop() {
      child.kill("SIGINT");
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Waits until `check()` (a Node.js function, possibly async) is truthy; fails after `timeoutMs`. */
export async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `read()` (a Node.js function, possibly async) deep-equals `expected`; fails
 * showing the last value read after `timeoutMs`. */
export async function untilEqual(read, expected, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const actual = await read();
    if (isDeepStrictEqual(actual, expected)) return;
    if (Date.now() > deadline) assert.deepEqual(actual, expected, `${what} (still not so after ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A sales rep: a fresh browser context with the app open and started. */
export async function openRep(browser, origin, name) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.body.dataset.ready !== undefined);
  if ((await page.getAttribute("body", "data-ready")) !== "true") {
    throw new Error(`the app did not start for ${name}: ${await page.textContent("#notice")}`);
  }
  return new Rep(name, context, page, errors);
}

/** What one rep can do and see on the screen. */
export class Rep {
  constructor(name, context, page, errors) {
    Object.assign(this, { name, context, page, errors });
  }

  /** Turns the rep's network off or on, and waits for the status bar to say so. */
  async setOffline(offline) {
    await this.context.setOffline(offline);
    await this.page.waitForSelector(`#status [data-testid=connection][data-online="${!offline}"]`);
  }

  /** Waits until the status bar shows `count` commands waiting. */
  async waitPending(count, timeoutMs = 20_000) {
    await this.page.waitForSelector(`#status [data-testid=pending][data-count="${count}"]`, { timeout: timeoutMs });
  }

  /** Fills in and submits the new-order form; resolves to the new order's id. */
  async createOrder({ customer, lines, payNow = false, contact = null }) {
    const form = this.page.locator("#order-form");
    await form.locator("select[name=customer]").selectOption(customer);
    if (contact) {
      await form.locator("input[name=contact-name]").fill(contact.name);
      await form.locator("input[name=contact-phone]").fill(contact.phone ?? "");
    }
    for (const [product, quantity] of lines) {
      await form.locator("select[name=product]").selectOption(product);
      await form.locator("input[name=quantity]").fill(String(quantity));
      await form.locator("button[name=add-line]").click();
    }
    if (payNow) await form.locator("input[name=pay-now]").check();
    const before = await this.page.evaluate(() => location.hash);
    await form.locator("button[name=create]").click();
    const hash = await (await this.page.waitForFunction((before) => location.hash !== before && location.hash, before)).jsonValue();
    const id = decodeURIComponent(hash.slice("#order=".length));
    await this.page.waitForSelector(`#detail[data-order="${id}"][data-status="${payNow ? "Paid" : "Pending"}"]`);
    return id;
  }

  /** Opens order `id` from the lists. */
  async open(id) {
    await this.page.locator(`#by-status [data-order="${id}"] button`).click();
    await this.page.waitForSelector(`#detail[data-order="${id}"] [data-testid=current]`);
  }

  /** The open order's version, as the detail shows it. */
  async version() {
    return Number(await this.page.getAttribute("#detail", "data-version"));
  }

  /** Adds `quantity` of `product` to the open (pending) order. */
  async addItem(product, quantity) {
    const version = await this.version();
    await this.page.locator("#detail select[name=product]").selectOption(product);
    await this.page.locator("#detail input[name=quantity]").fill(String(quantity));
    await this.page.locator("#detail [data-testid=add-item]").click();
    await this.page.waitForSelector(`#detail[data-version="${version + 1}"]`);
  }

  /** Takes the payment of the open order's total. */
  async pay() {
    await this.page.locator("#detail [data-testid=pay]").click();
    await this.page.waitForSelector("#detail[data-status=Paid]");
  }

  /** Ships the open (paid) order with `tracking`. */
  async ship(tracking) {
    await this.page.locator("#detail input[name=tracking]").fill(tracking);
    await this.page.locator("#detail [data-testid=ship]").click();
    await this.page.waitForSelector("#detail[data-status=Shipped]");
  }

  /** The open order's delivery contact as the detail shows it ("" when it has none). */
  async contact() {
    const shown = this.page.locator("#detail [data-testid=current] [data-testid=state-contact]");
    return (await shown.count()) ? shown.textContent() : "";
  }

  /** Forgets the open order's delivery contact, accepting the confirmation. */
  async forgetContact() {
    this.page.once("dialog", (dialog) => dialog.accept());
    await this.page.locator("#detail [data-testid=forget-contact]").click();
    await this.page.waitForSelector("#detail [data-testid=current]:not(:has([data-testid=forget-contact]))");
  }

  /** Runs a sync round now, as the status bar's button does. */
  async syncNow() {
    await this.page.locator("#status [data-testid=sync]").click();
    await this.page.waitForSelector("#status [data-testid=sync]:not([disabled])");
  }

  /** Every order in the by-status lists with its status, and its total as shown. */
  async orders() {
    return this.page.$$eval("#by-status li.order", (rows) => Object.fromEntries(rows
      .map((row) => [row.dataset.order, `${row.dataset.status} ${row.querySelector(".amount").textContent}`])
      .sort(([a], [b]) => (a < b ? -1 : 1))));
  }

  /** The rejected inbox as shown: `{ order, code, reason }` per entry. */
  async inbox() {
    return this.page.$$eval("#inbox:not([hidden]) [data-testid=rejection]", (items) => items.map((item) => ({
      order: item.dataset.order, code: item.dataset.code, reason: item.querySelector("[data-testid=reason]").textContent,
    })));
  }

  /** Saves a full-page screenshot as target/artifacts/<name>.png. */
  async screenshot(name) {
    await this.page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  }

  /** Closes the rep's browser context. */
  async close() {
    await this.context.close();
  }
}
