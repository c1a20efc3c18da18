// Personal data in headless Chromium against the real fieldstream-server: the personal fields
// are unreadable in the raw IndexedDB records and on the server, readable through the API on a
// second device (it fetches the key), and a subject forgotten on device A is redacted on device
// B after its next sync, read models included.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { holdsPlaintext } from "../api/check.mjs";
import { eventually, launchChromium, startServer } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A page of its own (its own IndexedDB) with `window.store` on database `name`, syncing. */
async function device(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.origin}/tests/browser/package.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(async ({ name, url }) => {
    const { deliveryAggregate, deliveriesProjection, rawDatabase } = await import("/tests/api/personal.mjs");
    window.rawDatabase = () => rawDatabase(name);
    window.store = await window.fieldstream.open({
      name,
      aggregates: { Delivery: deliveryAggregate },
      projections: { deliveries: deliveriesProjection },
      sync: { url, pollMs: 300 },
    });
  }, { name, url: server.origin });
  return { context, page };
}

const book = (customerId, customerName) =>
  ({ type: "Book", customerId, customerName, phone: "555-0199", address: { street: `${customerName} Lane`, city: "Nantes" }, slot: "monday" });

test("forgotten on device A, redacted on device B after sync; raw storage never holds the plaintext", async () => {
  const a = await device("personal-a");
  const b = await device("personal-b");
  await a.page.evaluate(async ([ada, bob]) => {
    await window.store.execute("Delivery", "d1", ada);
    await window.store.execute("Delivery", "d2", bob);
    await window.store.sync();
  }, [book("c1", "Ada"), book("c2", "Bob")]);

  const raw = await a.page.evaluate(() => window.rawDatabase());
  for (const where of ["events", "outbox", "snapshots"]) {
    assert.ok(!holdsPlaintext(raw[where], "Ada") && !holdsPlaintext(raw[where], "555-0199"), `${where}: ${raw[where]}`);
  }
  assert.ok(raw.events.includes("$enc") && raw.events.includes("Nantes"));
  const onServer = JSON.stringify(await server.events());
  assert.ok(!holdsPlaintext(onServer, "Ada") && !holdsPlaintext(onServer, "555-0199") && onServer.includes("$enc"));

  await b.page.evaluate(() => window.store.sync());
  await eventually(b.page, async () => (await window.store.get("deliveries", "d1"))?.customerName === "Ada");
  assert.equal(await b.page.evaluate(async () => (await window.store.load("Delivery", "d1")).state.phone), "555-0199");

  const redacted = await a.page.evaluate(() => window.fieldstream.REDACTED);
  await a.page.evaluate(() => window.store.forgetSubject("c1"));
  const keys = await (await fetch(`${server.origin}/v1/keys/c1`)).json();
  assert.deepEqual(keys, { subject: "c1", keys: [], forgotten: true });

  await b.page.evaluate(() => window.store.sync());
  await eventually(b.page, async (marker) => (await window.store.get("deliveries", "d1"))?.customerName === marker, redacted);
  const seen = await b.page.evaluate(async () => ({
    state: (await window.store.load("Delivery", "d1")).state,
    history: (await window.store.history("Delivery", "d1"))[0].data,
    other: await window.store.get("deliveries", "d2"),
  }));
  assert.deepEqual([seen.state.customerName, seen.state.phone, seen.state.address.street, seen.state.address.city],
    [redacted, redacted, redacted, "Nantes"]);
  assert.equal(seen.history.customerName, redacted);
  assert.equal(seen.other.customerName, "Bob");
  const rawB = JSON.stringify(await b.page.evaluate(() => window.rawDatabase()));
  assert.ok(!holdsPlaintext(rawB, "Ada") && holdsPlaintext(rawB, "Bob"), "device B's database no longer holds Ada anywhere");
  await a.context.close();
  await b.context.close();
});
