// Bundler compatibility and the React hooks, in one Vite build and one headless Chromium:
// tests/vite-app imports `fieldstream` and `fieldstream/react` by name (its package.json
// depends on `file:../..`, so the package's `exports` decide what Vite bundles), Vite builds its
// two pages, and they run from a loopback server against IndexedDB.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, symlinkSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sirv from "sirv";
import { build } from "vite";
import { eventually, launchChromium, openPage, root } from "./harness.mjs";

const app = join(root, "tests", "vite-app");
const dist = join(root, "target", "vite-app");

let server;
let origin;
let browser;
before(async () => {
  // What `npm install` in the app makes of its `file:../..` dependency: a link to this package.
  const link = join(app, "node_modules", "fieldstream");
  if (!existsSync(link)) {
    mkdirSync(join(app, "node_modules"), { recursive: true });
    symlinkSync(join("..", "..", ".."), link, "dir");
  }
  await build({ configFile: join(app, "vite.config.js"), build: { outDir: dist, emptyOutDir: true } });
  const assets = sirv(dist, { dev: true });
  server = createServer((request, response) => assets(request, response));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

test("Vite bundles the package: the .wasm is an emitted asset, and the app runs a command and shows a query", async () => {
  assert.ok(readdirSync(join(dist, "assets")).some((file) => file.endsWith(".wasm")), "no .wasm asset in dist/assets");
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => document.body.dataset.state !== undefined);
  assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
  assert.equal(await page.textContent("#order"), "Order 1001: Paid, 4980 (version 2)");
  assert.deepEqual(await page.$$eval("#orders li", (items) => items.map((item) => item.textContent)), ["1001: Paid, 4980"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the React hooks re-render on change and not otherwise", async () => {
  const { context, page, errors } = await openPage(browser, origin, "/hooks.html");
  // The counts of the local store's components (the syncing store's status changes on its own
  // schedule and is checked by itself below).
  const renders = () => page.evaluate(() => {
    const { query, doc, aggregate, status } = window.hooks.renders();
    return { query, doc, aggregate, status };
  });
  /** Waits until no component rendered for 300 ms, then answers the counts. */
  const settled = async () => {
    let last = JSON.stringify(await renders());
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const now = JSON.stringify(await renders());
      if (now === last) return JSON.parse(now);
      last = now;
    }
  };
  const delta = (before, now) => Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]));
  const rendered = (name) => page.evaluate((name) => window.hooks.rendered(name), name);
  const call = (name, ...args) => page.evaluate(([name, args]) => window.hooks[name](...args), [name, args]);
  /** Runs `action`, waits for the renders `expected` asks for, lets things settle, and checks
   * the render counts grew by exactly `expected` (components not named: by none). */
  const step = async (action, expected) => {
    const before = await renders();
    await action();
    await eventually(page, ([before, expected]) => {
      const now = window.hooks.renders();
      return Object.entries(expected).every(([name, count]) => now[name] - before[name] >= count);
    }, [before, expected]);
    const now = await settled();
    assert.deepEqual(delta(before, now), { query: 0, doc: 0, aggregate: 0, status: 0, ...expected });
  };

  // Mounting: `undefined` while loading, then the empty page, no document, version 0.
  await eventually(page, () => window.hooks.renders().aggregate >= 2 && window.hooks.renders().query >= 2);
  const counts = await settled();
  assert.deepEqual(await rendered("query"), ["undefined", '{"docs":[]}']);
  assert.deepEqual(await rendered("doc"), ["undefined", "null"]);
  assert.equal((await rendered("aggregate")).length, 2);
  assert.match((await rendered("aggregate"))[1], /"version":0/);
  assert.equal(counts.status, 1, "the status renders once");
  assert.deepEqual(await call("counts"), { subscribed: 2, active: 2 });
  assert.match(await call("failing"), /^caught ValidationError: invalid_input$/);

  // A command on the watched order: each hook re-renders exactly once.
  await step(() => call("create", "local", "o-1", "c-1"), { query: 1, doc: 1, aggregate: 1 });
  assert.match((await rendered("aggregate")).at(-1), /"version":1/);
  assert.match((await rendered("query")).at(-1), /"o-1"/);

  // A command on another order (another customer): nothing re-renders.
  await step(() => call("create", "local", "o-2", "c-2"), {});

  // The parent renders again, passing a fresh inline spec: no new subscription, same page object.
  await step(() => call("bump"), { query: 1 });
  assert.equal(await call("sameAsBefore", "query"), true);
  assert.deepEqual(await call("counts"), { subscribed: 2, active: 2 });

  // The status listener called again with an unchanged status: no re-render.
  await step(() => call("repeatStatus"), {});

  // Another tab (a second store on the same database) pays the watched order: once each.
  await step(() => call("pay", "other", "o-1"), { query: 1, doc: 1, aggregate: 1 });
  assert.match((await rendered("aggregate")).at(-1), /"status":"Paid".*"version":2|"version":2.*"status":"Paid"/);
  assert.match((await rendered("doc")).at(-1), /"status":"Paid"/);

  // Another tab changes an unrelated order: nothing re-renders.
  await step(() => call("pay", "other", "o-2"), {});

  // A real status change (a command waiting for a server that is not there) re-renders; no
  // two consecutive renders show an equal status.
  await call("createSyncing");
  await eventually(page, () => window.hooks.rendered("syncing").some((s) => JSON.parse(s).pending === 1));
  const statuses = await rendered("syncing");
  assert.ok(statuses.length >= 2);
  for (let i = 1; i < statuses.length; i++) assert.notEqual(statuses[i], statuses[i - 1]);

  // Unmounting stops every subscription.
  await call("unmount");
  assert.deepEqual(await call("counts"), { subscribed: 2, active: 0 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("useProjectionStatus re-renders on a real change of a projection's status, retries included", async () => {
  const { context, page, errors } = await openPage(browser, origin, "/hooks.html");
  const rendered = (name) => page.evaluate((name) => window.hooks.rendered(name), name);
  const call = (name, ...args) => page.evaluate(([name, args]) => window.hooks[name](...args), [name, args]);
  const last = async (name) => JSON.parse((await rendered(name)).at(-1));
  /** Waits until `name` rendered nothing new for 500 ms; answers how many renders it made. */
  const settled = async (name) => {
    let count = (await rendered(name)).length;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = (await rendered(name)).length;
      if (now === count) return count;
      count = now;
    }
  };
  const noRepeats = async (name) => {
    const values = await rendered(name);
    for (let i = 1; i < values.length; i++) assert.notEqual(values[i], values[i - 1], `${name} rendered an equal value twice`);
  };

  // Mounting: undefined while loading, then the status, once.
  await eventually(page, () => window.hooks.rendered("projection").length >= 2);
  const mounted = await settled("projection");
  assert.equal(mounted, 2);
  assert.equal((await rendered("projection"))[0], "undefined");
  const first = await last("projection");
  assert.deepEqual([first.name, first.mode, first.lag, first.stopped, first.retry, first.deadLetters], ["trails", "inline", 0, false, null, []]);
  assert.deepEqual((await last("projections")).map((status) => status.name), ["trails", "orders"]);
  assert.match(await call("unknownProjection"), /^caught ValidationError: invalid_input$/);

  // A command every read model takes in line: no status changed, nothing re-renders.
  await call("onTrails", "o-1", "create");
  assert.equal(await settled("projection"), mounted);

  // A payment its apply fails on: the retry shows; after its backoff the timer tries again, the
  // retries are spent, and the projection stops at a dead letter, all by itself.
  await call("breakTrails", true);
  await call("onTrails", "o-1", "pay");
  await eventually(page, () => JSON.parse(window.hooks.rendered("projection").at(-1)).stopped === true, undefined, 10_000);
  const statuses = (await rendered("projection")).slice(mounted).map((text) => JSON.parse(text));
  assert.deepEqual(statuses[0].retry?.attempts, 1, "the waiting retry rendered first");
  const stopped = statuses.at(-1);
  assert.deepEqual([stopped.lag, stopped.retry, stopped.deadLetters.length, stopped.deadLetters[0].attempts], [1, null, 1, 2]);

  // Skipped past by an operator: it resumes, and renders once more.
  const before = await settled("projection");
  await call("skipTrails");
  await eventually(page, () => JSON.parse(window.hooks.rendered("projection").at(-1)).stopped === false);
  assert.equal(await settled("projection"), before + 1);
  assert.deepEqual((await last("projection")).deadLetters.map((letter) => letter.skipped), [true]);
  await noRepeats("projection");
  await noRepeats("projections");
  assert.deepEqual(errors, []);
  await context.close();
});
