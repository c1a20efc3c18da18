// Takes the README's screenshot, docs/field-sales.png: two reps play the README's conflict
// (A pays an order offline while B adds an item to it), then A's screen shows the payment in
// the inbox and the order's timeline replayed at version 2. Not a test: run it by hand.
//
//   node tests/e2e/readme-screenshot.mjs [out.png]     (after node scripts/build.mjs)
import { join } from "node:path";
import { launchChromium, root } from "../browser/harness.mjs";
import { openRep, startDemo, until } from "./demo.mjs";

const out = process.argv[2] ?? join(root, "docs", "field-sales.png");
const demo = await startDemo();
const browser = await launchChromium();
try {
  const a = await openRep(browser, demo.origin, "A");
  const b = await openRep(browser, demo.origin, "B");
  await a.createOrder({ customer: "c-cedar", lines: [["p-seeds", 3], ["p-twine", 2]], payNow: true });
  const shipped = await a.createOrder({ customer: "c-birch", lines: [["p-hose", 1]], payNow: true });
  await a.open(shipped);
  await a.ship("TRK-4411-IE");
  await a.createOrder({ customer: "c-elm", lines: [["p-wheelbarrow", 1]] });
  const edited = await a.createOrder({ customer: "c-alder", lines: [["p-gloves", 2]] });
  await a.waitPending(0);
  await b.page.waitForSelector(`#by-status [data-order="${edited}"]`);

  await a.setOffline(true);
  await a.open(edited);
  await a.addItem("p-twine", 1);
  await a.pay();
  await a.createOrder({ customer: "c-dunmore", lines: [["p-shears", 2]] });
  await b.open(edited);
  await b.addItem("p-hose", 1);
  await until(async () => (await demo.events()).filter((event) => event.stream === `Order-${edited}`).length === 2,
    "B's item reaches the server");
  await a.setOffline(false);
  await a.waitPending(0, 30_000);
  await a.page.waitForSelector("#inbox:not([hidden])");

  await a.open(edited);
  await a.page.locator("#detail [data-testid=slider]").fill("2");
  await a.page.waitForSelector('#detail [data-testid=replay][data-version="2"]');
  await a.page.setViewportSize({ width: 1280, height: 1000 });
  await a.page.evaluate(() => { document.querySelector("#notice").hidden = true; });
  await a.page.mouse.move(0, 0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await a.page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await demo.stop();
}
