// Contention in the browser: four tabs of one origin book seats of one show on one IndexedDB
// database at once, 50 commands in all, half with an idempotency key (those load, decide and
// commit in steps, so a tab can lose a race to another; the others decide inside their commit's
// transaction). Every command must end booked or refused by the domain (`sold_out`), none in a
// ConflictError, and the show's history must hold each booking once, versions 1, 2… no gap.
// (Whether tabs collide depends on timing: with `conflictRetry: { maxMs: 0 }` some runs of this
// race end in ConflictErrors and others in none, so only the outcome with retries is asserted.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { siteAndBrowser } from "./harness.mjs";
import { checkShowStream } from "../api/show.mjs";

const env = siteAndBrowser();

const tabs = 4;
const commands = 50;
const capacity = 20;

/** A tab with the package loaded and a store open on database `name`. */
async function openTab(context, name) {
  const page = await context.newPage();
  await page.goto(`${env.site.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true || window.failed !== undefined);
  assert.equal(await page.evaluate(() => window.failed), undefined);
  await page.evaluate(async ({ name, capacity }) => {
    const { open, DomainError } = window.fieldstream;
    const { showAggregate } = await import("/tests/api/show.mjs");
    window.DomainError = DomainError;
    window.store = await open({
      name,
      storage: "indexeddb",
      aggregates: { Show: showAggregate(DomainError, { capacity }) },
    });
  }, { name, capacity });
  return page;
}

/** Opens `tabs` tabs on database `name` and has them book at once; the answers and the tabs. */
async function race(context, name) {
  const pages = [];
  for (let n = 0; n < tabs; n++) pages.push(await openTab(context, name));
  const seatsOf = (tab) => Array.from({ length: commands }, (_, n) => n).filter((n) => n % tabs === tab);
  const answers = (await Promise.all(pages.map((page, tab) => page.evaluate(async (seats) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return Promise.all(seats.map(async (n) => {
      const options = n % 2 === 0 ? { idempotencyKey: `book-${n}` } : {};
      try {
        const result = await window.store.execute("Show", "gala", { type: "BookSeat", seat: `s${n}`, by: "tab" }, options);
        return { outcome: "booked", seat: `s${n}`, version: result.version };
      } catch (error) {
        if (error instanceof window.DomainError) return { outcome: "refused", code: error.code };
        return { outcome: "failed", name: error?.name, code: error?.code, message: String(error?.message ?? error) };
      }
    }));
  }, seatsOf(tab))))).flat();
  return { answers, pages };
}

test(`${commands} bookings of one show from ${tabs} tabs at once: each booked or sold out, never a ConflictError`, async () => {
  const context = await env.browser.newContext();
  const { answers, pages } = await race(context, "contention");
  assert.equal(answers.length, commands);
  assert.deepEqual(answers.filter((a) => a.outcome === "failed"), [], "no command failed");
  const booked = answers.filter((a) => a.outcome === "booked");
  const refused = answers.filter((a) => a.outcome === "refused");
  assert.equal(booked.length, capacity);
  assert.equal(refused.length, commands - capacity);
  assert.deepEqual([...new Set(refused.map((a) => a.code))], ["sold_out"]);
  assert.deepEqual(booked.map((a) => a.version).sort((x, y) => x - y), Array.from({ length: capacity }, (_, n) => n + 1));

  for (const page of [pages[0], pages.at(-1)]) {
    const history = await page.evaluate(() => window.store.history("Show", "gala"));
    assert.equal(history.length, capacity);
    const seats = checkShowStream(history);
    assert.deepEqual(seats.toSorted(), booked.map((a) => a.seat).toSorted(), "the log holds exactly the bookings answered");
    const { version, state } = await page.evaluate(() => window.store.load("Show", "gala"));
    assert.deepEqual([version, state.seats.length], [capacity, capacity]);
  }
  await context.close();
});
