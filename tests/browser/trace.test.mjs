// One trace from the browser to the server's commit: a command made in a page carries a
// correlation id, the sync request that pushes it sends a W3C `traceparent` whose trace id is
// that correlation id, and the server, exporting over OTLP/HTTP (JSON) to a small receiver
// started here, continues that trace with its request, append and notify spans.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { launchChromium, openPage, startServer } from "./harness.mjs";

/** A test-only OTLP/HTTP receiver on loopback: keeps every span posted to `/v1/traces`. */
async function startReceiver() {
  const spans = [];
  const services = new Set();
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const json = (request.headers["content-type"] ?? "").startsWith("application/json");
      if (request.method !== "POST" || request.url !== "/v1/traces" || !json) {
        response.writeHead(415).end();
        return;
      }
      for (const resource of JSON.parse(Buffer.concat(chunks).toString()).resourceSpans ?? []) {
        const name = resource.resource?.attributes?.find((a) => a.key === "service.name");
        if (name) services.add(name.value.stringValue);
        for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []));
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    spans,
    services,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A span's attribute value (OTLP JSON keeps each value under its type's key). */
function attribute(span, key) {
  const found = span.attributes?.find((a) => a.key === key);
  return found && Object.values(found.value)[0];
}

/** Whether `span` descends from the span `ancestorId` among `byId` (the trace's spans). */
function descends(span, ancestorId, byId) {
  for (let at = span, steps = 0; at && steps <= byId.size; steps += 1) {
    if (at.parentSpanId === ancestorId) return true;
    at = byId.get(at.parentSpanId);
  }
  return false;
}

const env = { receiver: undefined, server: undefined, browser: undefined };

before(async () => {
  env.receiver = await startReceiver();
  env.server = await startServer({
    args: ["--otlp-endpoint", env.receiver.url],
    // JSON, so the receiver needs no protobuf decoder; a short batch delay instead of sleeping.
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "100" },
  });
  env.browser = await launchChromium();
});

after(async () => {
  await env.browser?.close();
  // The server flushes its last spans when it stops: the receiver closes after it.
  await env.server?.close();
  await env.receiver?.close();
});

test("a command made in the browser arrives as one trace: request, append, notify", async () => {
  const { context, page } = await openPage(env.browser, env.server.origin, "/tests/browser/package.html");
  const sent = [];
  page.on("request", (request) => {
    const traceparent = request.headers().traceparent;
    if (request.method() === "POST" && traceparent) sent.push({ url: request.url(), traceparent });
  });
  const correlationId = crypto.randomUUID();
  const report = await page.evaluate(async ({ origin, correlationId }) => {
    const store = await window.fieldstream.openOrders({ name: "traced", sync: { url: origin, auto: false } });
    const items = [{ productId: "p-1", quantity: 1, unitPrice: 250 }];
    await store.execute("Order", "traced-1", { type: "CreateOrder", customerId: "c-1", items }, { correlationId });
    return store.sync();
  }, { origin: env.server.origin, correlationId });
  assert.equal(report.pushed, 1);

  // The client's side: the push carried the trace derived from the correlation id.
  const traceId = correlationId.replaceAll("-", "");
  const push = sent.find(({ traceparent }) => traceparent.split("-")[1] === traceId);
  assert.ok(push, `a POST carried trace ${traceId}: ${JSON.stringify(sent)}`);
  const clientSpanId = push.traceparent.split("-")[2];

  // The server's side, once exported: polled against a deadline, never a fixed sleep.
  const deadline = Date.now() + 20_000;
  let found;
  while (!found) {
    const trace = env.receiver.spans.filter((span) => span.traceId === traceId);
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const request = trace.find((span) => span.name === "request" && span.parentSpanId === clientSpanId);
    const below = (name) => trace.find((span) => span.name === name && request && descends(span, request.spanId, byId));
    if (request && below("append") && below("notify")) {
      found = { request, append: below("append"), notify: below("notify"), trace };
    } else {
      const names = trace.map((span) => span.name);
      assert.ok(Date.now() < deadline, `trace ${traceId} incomplete after 20 s: ${JSON.stringify(names)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  assert.ok(env.receiver.services.has("fieldstream-server"));
  assert.equal(attribute(found.request, "method"), "POST");
  assert.equal(new URL(push.url).pathname, attribute(found.request, "path"));
  assert.ok(["Order-traced-1", undefined].includes(attribute(found.append, "stream")));
  assert.ok(
    found.trace.some((span) => span.name === "append transaction" && span.parentSpanId === found.append.spanId),
    "the writer's transaction is a child of the append",
  );
  for (const span of [found.request, found.append, found.notify]) assert.equal(span.traceId, traceId);
  await context.close();
});
