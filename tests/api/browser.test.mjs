// The behaviour suite against the built package in headless Chromium with IndexedDB: every
// case in a page, then every case in a dedicated worker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openPage, siteAndBrowser } from "../browser/harness.mjs";
import { cases } from "./suite.mjs";

let page;
siteAndBrowser(async ({ site, browser }) => {
  ({ page } = await openPage(browser, site.origin, "/tests/api/page.html"));
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
