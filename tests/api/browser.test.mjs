// The behaviour suite against the built package in headless Chromium with IndexedDB: every
// case in a page, then every case in a dedicated worker.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchChromium, openPage, serveRepository } from "../browser/harness.mjs";
import { cases } from "./suite.mjs";

let server;
let browser;
let page;
before(async () => {
  server = await serveRepository();
  browser = await launchChromium();
  ({ page } = await openPage(browser, server.origin, "/tests/api/page.html"));
});
after(async () => {
  await browser?.close();
  await server?.close();
});

for (const { name } of cases) {
  test(`page: ${name}`, async () => {
    assert.equal(await page.evaluate((name) => window.runCase(name), name), null);
  });
}

for (const { name } of cases) {
  test(`worker: ${name}`, async () => {
    const failure = await page.evaluate((name) => window.runInWorker(name), name);
    assert.equal(failure, null, await page.evaluate(() => window.workerFailed ?? ""));
  });
}
