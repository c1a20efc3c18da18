// End-to-end tests of the field-sales demo (www/) in Debian's Chromium, against the server
// started the way `npm start` starts it: two reps working offline and online with a conflict,
// a reload with no network, and the timeline's replay slider. Screenshots of the main screens go
// to target/artifacts/.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium } from "../browser/harness.mjs";
import { artifacts, openRep, startDemo, until, untilEqual } from "./demo.mjs";

let demo;
let browser;
before(async () => {
  demo = await startDemo();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  if (demo) assert.equal(await demo.stop(), 0, "Ctrl-C (SIGINT) should stop the demo cleanly");
});

/** The server's events of order `id`, as `type` strings in version order. */
async function serverTypes(id) {
  return (await demo.events()).filter((event) => event.stream === `Order-${id}`).map((event) => event.type);
}

/** Waits until `rep`'s inbox shows `count` rejected commands; on a timeout, fails saying what
 * the screen showed instead (the inbox's count, the status bar, the last notice). */
async function waitForInbox(rep, count) {
  try {
    await rep.page.waitForSelector(`#inbox:not([hidden])[data-count='${count}']`);
  } catch (error) {
    const shown = await rep.page.evaluate(() => ({
      inbox: document.querySelector("#inbox").dataset.count,
      status: document.querySelector("#status").textContent,
      notice: document.querySelector("#notice")?.textContent,
    }));
    throw new Error(`${rep.name}'s inbox never showed ${count}: ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** Waits until the server holds exactly `types` for order `id`. A rep's status bar cannot say
 * this by itself: right after a command it may still show the count from before it. */
async function untilOnServer(id, types) {
  await untilEqual(() => serverTypes(id), types, `the server's events of order ${id}`);
}

test("two reps: A's offline work syncs once, the conflicting commands come back with reasons, both screens end equal", async () => {
  const a = await openRep(browser, demo.origin, "A");
  const b = await openRep(browser, demo.origin, "B");

  // Before the trip: two orders everybody knows about.
  const edited = await a.createOrder({ customer: "c-alder", lines: [["p-gloves", 2]] });
  const shipped = await a.createOrder({ customer: "c-birch", lines: [["p-hose", 1]], payNow: true });
  await a.waitPending(0);
  await until(async () => {
    const seen = await b.orders();
    return seen[edited] === "Pending €25.00" && seen[shipped] === "Paid €34.90";
  }, "B sees A's first orders");

  // A loses the network and keeps working.
  await a.setOffline(true);
  const fresh = await a.createOrder({ customer: "c-cedar", lines: [["p-seeds", 3], ["p-twine", 2]], payNow: true });
  const second = await a.createOrder({ customer: "c-alder", lines: [["p-shears", 1]] });
  await a.open(edited);
  await a.addItem("p-twine", 1); // rebased onto B's change: still holds
  await a.pay(); // takes €29.50, but B's item changes the total: comes back
  await a.open(shipped);
  await a.ship("TRK-A-1"); // B ships it first: comes back
  await a.waitPending(6); // A's commands wait on A's device (the status bar follows each command)
  assert.deepEqual(await serverTypes(fresh), [], "nothing of A's offline work reached the server");
  await a.screenshot("rep-a-offline");

  // B, online, changes the same orders first.
  await b.open(edited);
  await b.addItem("p-hose", 1);
  await b.open(shipped);
  await b.ship("TRK-B-7");
  await untilOnServer(edited, ["OrderCreated", "OrderItemAdded"]);
  await untilOnServer(shipped, ["OrderCreated", "OrderPaid", "OrderShipped"]);
  await b.waitPending(0);

  // A is back: sync starts by itself.
  await a.setOffline(false);
  await a.waitPending(0, 30_000);
  await waitForInbox(a, 2);
  await a.screenshot("rep-a-inbox");

  // Accepted exactly once: the new orders, and A's item added after B's.
  assert.deepEqual(await serverTypes(fresh), ["OrderCreated", "OrderPaid"]);
  assert.deepEqual(await serverTypes(second), ["OrderCreated"]);
  assert.deepEqual(await serverTypes(edited), ["OrderCreated", "OrderItemAdded", "OrderItemAdded"]);
  assert.deepEqual(await serverTypes(shipped), ["OrderCreated", "OrderPaid", "OrderShipped"]);
  const shipment = (await demo.events()).find((event) => event.stream === `Order-${shipped}` && event.type === "OrderShipped");
  assert.equal(shipment.data.trackingNumber, "TRK-B-7");

  // The two that no longer hold are in A's inbox, in words.
  const inbox = await a.inbox();
  const byOrder = Object.fromEntries(inbox.map((entry) => [entry.order, entry]));
  assert.equal(byOrder[shipped]?.code, "order_not_shippable");
  assert.equal(byOrder[shipped].reason, `Order ${shipped} was already shipped by another device.`);
  assert.equal(byOrder[edited]?.code, "payment_amount_mismatch");
  assert.equal(byOrder[edited].reason,
    `Order ${edited} was changed on another device: its total is now €64.40, so your payment of €29.50 was not taken.`);

  // A dismisses the shipment and retries the payment with the new total.
  await a.page.locator(`[data-testid=rejection][data-order="${shipped}"] [data-testid=dismiss]`).click();
  const payment = a.page.locator(`[data-testid=rejection][data-order="${edited}"]`);
  await payment.locator("[data-testid=retry]").click();
  assert.equal(await payment.locator("input[name=value]").inputValue(), "64.40");
  await payment.locator("[data-testid=retry-send]").click();
  await a.page.waitForSelector("#inbox[hidden][data-count='0']", { state: "attached" });
  await untilOnServer(edited, ["OrderCreated", "OrderItemAdded", "OrderItemAdded", "OrderPaid"]);
  await a.waitPending(0);

  // Both screens end the same.
  const expected = {
    [edited]: "Paid €64.40",
    [shipped]: "Shipped €34.90",
    [fresh]: "Paid €35.70",
    [second]: "Pending €21.90",
  };
  await untilEqual(() => a.orders(), expected, "A shows the final orders");
  await untilEqual(() => b.orders(), expected, "B shows the final orders");
  await b.screenshot("rep-b-final");
  // Through all of it the read models kept up: no line about them under the status bar.
  for (const rep of [a, b]) assert.equal(await rep.page.locator("#read-models").isHidden(), true);

  // The by-customer list comes from the same read model.
  await b.page.locator("#lists [role=tab][data-view=customer]").click();
  await b.page.locator("#customer-filter").selectOption("c-alder");
  await untilEqual(() => b.page.$$eval("#customer-orders li.order", (rows) => rows.map((row) => row.dataset.order).sort()),
    [edited, second].sort(), "B's orders of Alder Hardware");

  // Both reps set up the catalogue on start; the server holds one registration of each entry.
  const catalogue = (await demo.events()).filter((event) => /^(Customer|Product)-/.test(event.stream));
  assert.equal(catalogue.length, 11);
  assert.equal(new Set(catalogue.map((event) => event.stream)).size, 11);
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.close();
  await b.close();
});

test("a reload with no network opens the app from the service worker, keeps the waiting commands, and they sync later", async () => {
  const rep = await openRep(browser, demo.origin, "C");
  await rep.page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === "activated");
  await rep.page.waitForFunction(() => navigator.serviceWorker.controller !== null);

  await rep.setOffline(true);
  // The service worker itself has no network now, so what it serves comes from its cache.
  const worker = rep.context.serviceWorkers()[0];
  assert.equal(await worker.evaluate(() => fetch("/health").then(() => "reached", () => "failed")), "failed");
  const id = await rep.createOrder({ customer: "c-dunmore", lines: [["p-wheelbarrow", 1]], payNow: true });
  await rep.waitPending(2);

  const response = await rep.page.reload();
  assert.ok(response.fromServiceWorker(), "the page came from the service worker");
  await rep.page.waitForFunction(() => document.body.dataset.ready !== undefined);
  assert.equal(await rep.page.getAttribute("body", "data-ready"), "true");
  await rep.page.waitForSelector('#status [data-testid=connection][data-online="false"]');
  await rep.waitPending(2); // the waiting commands survived the reload
  assert.equal((await rep.orders())[id], "Paid €89.00");
  assert.deepEqual(await serverTypes(id), []);
  await rep.screenshot("offline-reload");

  await rep.setOffline(false);
  await rep.waitPending(0, 30_000);
  assert.deepEqual(await serverTypes(id), ["OrderCreated", "OrderPaid"]);
  assert.deepEqual(rep.errors, []);
  await rep.close();
});

test("the timeline lists every event and its slider replays the order's state at each version", async () => {
  const rep = await openRep(browser, demo.origin, "D");
  const id = await rep.createOrder({ customer: "c-elm", lines: [["p-gloves", 1]] });
  await rep.addItem("p-seeds", 2);
  await rep.pay();
  await rep.ship("TRK-D-1");
  await rep.waitPending(0);

  const events = rep.page.locator("#detail [data-testid=event]");
  await until(async () => (await events.evaluateAll((items) => items.filter((item) => item.dataset.sync === "confirmed").length)) === 4,
    "the timeline shows all four events as synced");
  const rows = await events.evaluateAll((items) => items.map((item) => ({
    version: item.dataset.version, type: item.querySelector(".type").textContent, text: item.textContent,
  })));
  assert.deepEqual(rows.map((row) => `${row.version} ${row.type}`), ["1 OrderCreated", "2 OrderItemAdded", "3 OrderPaid", "4 OrderShipped"]);
  for (const row of rows) {
    assert.match(row.text, /this device/);
    assert.match(row.text, /visit-/, "each event shows its correlation id");
  }

  const slider = rep.page.locator("#detail [data-testid=slider]");
  assert.equal(await slider.getAttribute("max"), "4");
  const expected = [
    [1, "Pending", "€12.50"],
    [2, "Pending", "€30.30"],
    [3, "Paid", "€30.30"],
    [4, "Shipped", "€30.30"],
  ];
  for (const [version, status, total] of [...expected].reverse().concat(expected)) {
    await slider.fill(String(version));
    await rep.page.waitForSelector(`#detail [data-testid=replay][data-version="${version}"]`);
    const replay = rep.page.locator("#detail [data-testid=replay]");
    assert.equal(await replay.locator("[data-testid=state-status]").textContent(), status, `status at version ${version}`);
    assert.equal(await replay.locator("[data-testid=state-total]").textContent(), total, `total at version ${version}`);
    assert.equal((await replay.locator(".lines li").count()), version === 1 ? 1 : 2, `lines at version ${version}`);
    if (version === 2) await rep.screenshot("timeline");
  }
  assert.match(await rep.page.locator("#detail [data-testid=slider-label]").textContent(), /Version 4 of 4 · after OrderShipped/);
  assert.deepEqual(rep.errors, []);
  await rep.close();
});

test("a delivery contact is sealed on the server; forgetting it redacts it on both reps' screens, timelines and lists", async () => {
  const e = await openRep(browser, demo.origin, "E");
  const f = await openRep(browser, demo.origin, "F");
  const contact = { name: "Siobhán Kelly", phone: "+353 91 555 0101" };
  const id = await e.createOrder({ customer: "c-alder", lines: [["p-twine", 4]], contact });
  assert.equal(await e.contact(), "Delivery contact Siobhán Kelly · +353 91 555 0101");
  const other = await e.createOrder({ customer: "c-elm", lines: [["p-twine", 1]], contact: { name: "Ada Byrne", phone: "" } });
  await untilOnServer(id, ["OrderCreated"]);
  await untilOnServer(other, ["OrderCreated"]);
  await e.waitPending(0);

  const created = (await demo.events()).find((event) => event.stream === `Order-${id}`);
  assert.equal(created.data.contact.id, "contact-c-alder-siobhan-kelly", "the subject stays readable");
  const stored = JSON.stringify(created.data.contact);
  assert.ok(created.data.contact.name.$enc && !stored.includes("Siobh") && !stored.includes("555"), `sealed on the server: ${stored}`);

  await until(async () => (await f.orders())[id], "F sees E's order");
  await f.open(id);
  await untilEqual(() => f.contact(), "Delivery contact Siobhán Kelly · +353 91 555 0101", "F reads the contact with the key from the server");

  await e.open(id);
  await e.forgetContact();
  await untilEqual(() => e.contact(), "Delivery contact [redacted] · [redacted]", "E shows the contact redacted");
  const timeline = e.page.locator("#detail [data-testid=event-contact]");
  assert.equal(await timeline.textContent(), "Contact: [redacted], [redacted]");
  const row = (rep, order) => rep.page.locator(`#by-status [data-order="${order}"] .who`).textContent();
  await untilEqual(() => row(e, id), "Alder Hardware · [redacted]", "E's list was rebuilt without the name");
  assert.equal(await row(e, other), "Elm Street Grocers · Ada Byrne", "another contact stays");
  await e.screenshot("forgotten-contact");

  await f.syncNow();
  await untilEqual(() => f.contact(), "Delivery contact [redacted] · [redacted]", "F redacts after its sync");
  await untilEqual(() => row(f, id), "Alder Hardware · [redacted]", "F's list too");
  const keys = await (await fetch(`${demo.origin}/v1/keys/contact-c-alder-siobhan-kelly`)).json();
  assert.deepEqual([keys.keys, keys.forgotten], [[], true], "the server forgot the key");

  await e.pay(); // the order goes on without the contact
  assert.deepEqual([...e.errors, ...f.errors], []);
  await e.close();
  await f.close();
});

test("the app fits a phone-sized screen", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${demo.origin}/`);
  await page.waitForSelector("body[data-ready=true]");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: join(artifacts, "phone.png"), fullPage: true });
  await context.close();
});
