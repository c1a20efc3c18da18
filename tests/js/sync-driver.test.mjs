// The sync driver where there are no Web Locks and no EventSource (Node.js, like workerd): the
// single engine syncs by itself, polling for other devices' changes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
// The package entry loads the WebAssembly module; the bindings' `Engine` and the driver are
// internals, imported by path.
import "fieldstream";
import { Engine } from "../../pkg/fieldstream.js";
import { startSync } from "../../js/sync.js";
import { startServer } from "../browser/harness.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

const items = [{ productId: "p-1", quantity: 1, unitPrice: 900 }];

async function device(name) {
  const engine = await Engine.inMemory();
  const driver = startSync(engine.connect(server.origin), { name, url: server.origin, pollMs: 100 });
  return { engine, driver };
}

async function until(check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `not true within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("without Web Locks or EventSource, the one engine pushes by itself and polls", async () => {
  const a = await device("node-a");
  const b = await device("node-b");
  try {
    assert.equal(a.driver.status().leader, true, "the single engine syncs");
    assert.equal(a.driver.status().live, false);
    await a.engine.execute("Order", "node-1", { type: "CreateOrder", customerId: "c-1", items });
    await a.driver.kick();
    await until(async () => (await b.engine.get("orders", "node-1"))?.status === "Pending");
    await until(() => a.driver.status().pending === 0);
    const onServer = (await server.events()).filter((event) => event.stream === "Order-node-1");
    assert.equal(onServer.length, 1);
  } finally {
    a.driver.stop();
    b.driver.stop();
  }
});
