// The behaviour suite inside workerd (Cloudflare's runtime, run locally by miniflare), with
// memory storage, on the package as the `workerd` export condition resolves it: the .wasm is
// imported as a module, since workerd refuses to compile WebAssembly from bytes. One request
// per case; the worker answers with the failure's text, or nothing when the case passed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { workerdModules, workerdEntry } from "./workerd.mjs";
import { cases } from "./suite.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

const worker = `
import * as lib from ${JSON.stringify(workerdEntry(here))};
import { cases } from "./suite.mjs";

const open = (options = {}) =>
  lib.open(typeof options === "object" && options !== null ? { storage: "memory", ...options } : options);

export default {
  async fetch(request) {
    const name = new URL(request.url).searchParams.get("case");
    const found = cases.find((c) => c.name === name);
    if (!found) return new Response("no case called " + name, { status: 404 });
    try {
      await found.run({ lib, open });
      return new Response("");
    } catch (error) {
      return new Response(String(error?.stack ?? error), { status: 500 });
    }
  },
};
`;

let mf;
before(async () => {
  const { Miniflare } = await import("miniflare");
  mf = new Miniflare(workerdModules(here, worker));
  await mf.ready;
});
after(() => mf?.dispose());

test("workerd has no IndexedDB, Web Locks or BroadcastChannel, and refuses wasm from bytes", async () => {
  const { Miniflare } = await import("miniflare");
  const probe = new Miniflare(workerdModules(here, `
    export default { fetch: async () => Response.json({
      indexedDB: typeof indexedDB, locks: typeof navigator?.locks, broadcast: typeof BroadcastChannel,
      wasmFromBytes: await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
        .then(() => "compiled", () => "refused"),
    }) };
  `));
  try {
    const seen = await (await probe.dispatchFetch("http://worker/")).json();
    assert.deepEqual(seen, { indexedDB: "undefined", locks: "undefined", broadcast: "undefined", wasmFromBytes: "refused" });
  } finally {
    await probe.dispose();
  }
});

for (const { name } of cases) {
  test(`workerd: ${name}`, async () => {
    const response = await mf.dispatchFetch(`http://worker/?case=${encodeURIComponent(name)}`);
    const failure = await response.text();
    assert.equal(failure, "", failure);
    assert.equal(response.status, 200);
  });
}
