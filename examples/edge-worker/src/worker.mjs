// The edge worker of the guide's quick start: an Order API on workerd whose events live on a
// fieldstream-server (storage "remote"). Every command reads the order's stream from the
// server, decides on it here, and appends with the version it decided at; when another writer
// got there first, it is decided again on the new state.
//
//   POST /api/orders               { id?, customerId, items: [{ productId, quantity, unitPrice }] }
//   GET  /api/orders/{id}
//   POST /api/orders/{id}/pay      { amount, paymentMethod? }
//   POST /api/orders/{id}/ship     { trackingNumber? }
//   GET  /metrics                  Prometheus text
//
// Environment: FIELDSTREAM_URL (the server), FIELDSTREAM_TOKEN (a bearer token; none in --dev).
import { open, DomainError, FieldstreamError } from "fieldstream";
import { orderAggregate } from "./order.mjs";
import * as metrics from "./metrics.mjs";

const aggregates = { Order: orderAggregate({ onConflict: () => metrics.countConflict() }) };

// A store per request: workerd ties asynchronous work to the request that started it, and a
// remote store keeps nothing of its own worth sharing (the events are on the server).
function openStore(env) {
  if (!env.FIELDSTREAM_URL) throw new HttpError(500, "not_configured", "FIELDSTREAM_URL is not set");
  const token = env.FIELDSTREAM_TOKEN;
  return open({
    storage: "remote",
    sync: { url: env.FIELDSTREAM_URL, ...(token ? { token } : {}), timeoutMs: 10_000 },
    aggregates,
  });
}

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

async function body(request) {
  try {
    const value = await request.json();
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw new HttpError(400, "invalid_json", "the body must be a JSON object");
}

/** Runs one command on order `id`; answers with the order after it. */
async function command(env, request, id, cmd) {
  const store = await openStore(env);
  try {
    const key = request.headers.get("idempotency-key");
    const result = await store.execute("Order", id, cmd, key ? { idempotencyKey: key } : {});
    if (!result.deduplicated) metrics.countEvents(result.events.length);
    metrics.countCommand(cmd.type, "ok");
    const { state, version } = await store.load("Order", id);
    return { id, version, ...state };
  } catch (error) {
    metrics.countCommand(cmd.type, error?.code ?? "internal");
    throw error;
  } finally {
    await store.close();
  }
}

async function route(request, env) {
  const { pathname } = new URL(request.url);
  const method = request.method;
  if (pathname === "/metrics" && method === "GET") {
    return new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
  }
  if (pathname === "/api/orders" && method === "POST") {
    const { id = crypto.randomUUID(), customerId, items } = await body(request);
    if (typeof id !== "string") throw new HttpError(400, "invalid_input", "id must be a string");
    const order = await command(env, request, id, { type: "CreateOrder", customerId, items });
    return json(201, order, { location: `/api/orders/${encodeURIComponent(id)}` });
  }
  const match = /^\/api\/orders\/([^/]+)(\/pay|\/ship)?$/.exec(pathname);
  if (!match) throw new HttpError(404, "not_found", `no route ${method} ${pathname}`);
  const id = decodeURIComponent(match[1]);
  if (!match[2] && method === "GET") {
    const store = await openStore(env);
    try {
      const { state, version } = await store.load("Order", id);
      if (version === 0) throw new HttpError(404, "order_not_found", `no order ${id}`);
      return json(200, { id, version, ...state });
    } finally {
      await store.close();
    }
  }
  if (match[2] === "/pay" && method === "POST") {
    const { amount, paymentMethod } = await body(request);
    return json(200, await command(env, request, id, { type: "PayOrder", amount, paymentMethod }));
  }
  if (match[2] === "/ship" && method === "POST") {
    const { trackingNumber } = await body(request);
    return json(200, await command(env, request, id, { type: "ShipOrder", trackingNumber }));
  }
  throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${pathname}`);
}

/** The HTTP answer for an error: the domain's own code for a refusal. */
function answer(error) {
  if (error instanceof HttpError) return [error.status, error.code, error.message];
  if (error instanceof DomainError) {
    const invalid = ["invalid_order", "payment_amount_mismatch", "unknown_command"].includes(error.code);
    return [invalid ? 422 : 409, error.code, error.message];
  }
  if (error instanceof FieldstreamError) {
    const status = { invalid_input: 400, conflict: 409, not_found: 404, network: 503, unauthorized: 502 }[error.code] ?? 500;
    return [status, error.code, error.message];
  }
  return [500, "internal", "the worker failed"];
}

export default {
  async fetch(request, env) {
    try {
      return await route(request, env);
    } catch (error) {
      const [status, code, message] = answer(error);
      if (status >= 500) console.error(error);
      metrics.countError(code);
      return json(status, { error: code, message });
    }
  },
};
