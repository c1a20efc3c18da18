// Type-checked (tsc --noEmit) use of the package's public types.

// The public API: open() with a typed aggregate and projection, and the error classes.
import {
  open,
  DomainError,
  ConflictError,
  FieldstreamError,
  ValidationError,
  type AggregateDefinition,
  type ConflictRetryOptions,
  type DeadLetter,
  type ErrorCode,
  type Page,
  type ProjectionStatus,
  type Store,
} from "fieldstream";

interface OrderState {
  status: "None" | "Pending" | "Paid";
  total: number;
}
type OrderCommand =
  | { type: "CreateOrder"; customerId: string; total: number }
  | { type: "PayOrder"; amount: number };

const Order: AggregateDefinition<OrderState, OrderCommand> = {
  initialState: () => ({ status: "None", total: 0 }),
  decide: (state, command) => {
    switch (command.type) {
      case "CreateOrder":
        return [{ type: "OrderCreated", data: { customerId: command.customerId, total: command.total } }];
      case "PayOrder":
        if (state.status !== "Pending") throw new DomainError("order_not_payable", "not pending");
        return [{ type: "OrderPaid", data: { amount: command.amount } }];
    }
  },
  evolve: (state, event) =>
    event.type === "OrderCreated" ? { status: "Pending", total: event.data.total } : { ...state, status: "Paid" },
  snapshotEvery: 50,
  onConflict: ({ command }) => (command.type === "PayOrder" ? "reject" : "rebase"),
};

async function api(): Promise<void> {
  const store: Store = await open({
    name: "field-sales",
    storage: "memory",
    aggregates: { Order },
    projections: {
      orders: {
        version: 1,
        indexes: ["status"],
        mode: "inline",
        onFailure: "stop",
        maxRetries: 3,
        backoffMs: 500,
        apply: (event, view) => {
          const doc = view.get(event.stream) ?? { status: "Pending" };
          view.put(event.stream, { ...doc, type: event.type });
        },
      },
    },
    upcasters: [{ type: "OrderCreated", fromVersion: 1, upcast: (data) => ({ ...data, currency: "EUR" }) }],
    sync: {
      url: "http://127.0.0.1:8080", token: async () => "t", live: true, batchSize: 100,
      auto: true, pollMs: 10_000, retryMs: 1_000, maxRetryMs: 60_000,
    },
  });
  const result = await store.execute("Order", "o-1", { type: "CreateOrder", customerId: "c", total: 5 }, {
    idempotencyKey: "k", correlationId: "c", causationId: "x", expectedVersion: "no_stream",
  });
  const version: number = result.version;
  const { state } = await store.load<OrderState>("Order", "o-1");
  const status: OrderState["status"] = state.status;
  const history = await store.history("Order", "o-1");
  const pending: boolean = history[0].syncState === "pending";
  const page: Page<{ status: string }> = await store.query("orders", { index: "status", range: ["A", null], limit: 10 });
  const stop: () => void = store.subscribe("orders", { index: "status", equals: "Paid" }, (docs) => console.log(docs.docs.length));
  stop();
  const online: boolean = store.status().online;
  try {
    await store.execute("Order", "o-1", { type: "PayOrder", amount: 5 }, { expectedVersion: 0 });
  } catch (error) {
    if (error instanceof ConflictError) console.log(error.stream, error.expected, error.actual);
    else if (error instanceof ValidationError || error instanceof FieldstreamError) console.log(error.code);
    if (error instanceof FieldstreamError && error.cause instanceof DOMException) console.log(error.cause.name);
  }
  const known: ErrorCode = new ValidationError("bad input").code;
  console.log(known);
  console.log(version, status, pending, page.next, online, (await store.sync()).pushed, await store.rejected());
  const projections: ProjectionStatus[] = await store.projections();
  const stopped: boolean = projections[0].stopped;
  const letter: DeadLetter | undefined = projections[0].deadLetters[0];
  const next: number | undefined = projections[0].retry?.nextAt;
  const failedOn: string | null | undefined = projections[0].retry?.eventId;
  const progress: number | undefined = projections[0].rebuild?.done;
  const mode: "inline" | "background" = projections[0].mode;
  if (letter) {
    const skipped: ProjectionStatus = await store.skipDeadLetter("orders", letter.eventId);
    console.log(skipped.deadLetters[0].skipped, letter.error.code);
  }
  const retried: ProjectionStatus = await store.retryProjection("orders");
  const stopListening: () => void = store.onProjections(() => console.log("projections changed"));
  stopListening();
  console.log(stopped, next, failedOn, progress, mode, retried.lag);
  await store.close();
}

/** An edge worker's store: the server's streams, read models in memory. */
async function edge(env: { FIELDSTREAM_URL: string; FIELDSTREAM_TOKEN?: string }) {
  const store = await open({
    storage: "remote",
    sync: { url: env.FIELDSTREAM_URL, token: async () => env.FIELDSTREAM_TOKEN ?? "", timeoutMs: 10_000 },
    conflictRetry: { maxMs: 3_000, baseMs: 10, maxDelayMs: 200 },
    aggregates: {
      Order: {
        initialState: () => ({ status: "None" }),
        decide: (state: { status: string }) => (state.status === "None" ? [{ type: "OrderCreated", data: {} }] : []),
        evolve: () => ({ status: "Pending" }),
        onConflict: ({ serverEvents }) => (serverEvents.length > 1 ? "reject" : "rebase"),
      },
    },
  });
  const result = await store.execute("Order", "o-1", { type: "CreateOrder" }, { idempotencyKey: "k" });
  console.log(result.events[0]?.position, store.status().online);
  await store.close();
}

void api();
void edge({ FIELDSTREAM_URL: "http://127.0.0.1:8080" });

// The React hooks: what each returns, with the loading state as `undefined`.
import { useAggregate, useProjectionStatus, useQuery, useSyncStatus, type MaybeStore } from "fieldstream/react";
import type { Loaded, SyncStatus } from "fieldstream";

interface OrderDoc {
  id: string;
  status: string;
}

function OrderList(props: { store: Store | undefined }): string {
  const page = useQuery<OrderDoc>(props.store, "orders", { index: "status", equals: "Paid", limit: 20 });
  const first: OrderDoc | undefined = page?.docs[0]?.doc;
  const doc = useQuery<OrderDoc>(props.store, "orders", { key: "o-1" });
  const missing: boolean = doc === null;
  const order: Loaded<OrderState> | undefined = useAggregate<OrderState>(props.store, "Order", "o-1");
  const paid: boolean = order?.state.status === "Paid";
  const maybe: SyncStatus | undefined = useSyncStatus(props.store);
  const every: ProjectionStatus[] | undefined = useProjectionStatus(props.store);
  const orders: ProjectionStatus | undefined = useProjectionStatus(props.store, "orders");
  const lagging: boolean = (orders?.lag ?? 0) > 0 || (every ?? []).some((s) => s.stopped);
  return `${first?.id} ${missing} ${paid} ${page?.next} ${maybe?.pending} ${lagging}`;
}

function StatusBar(props: { store: Store; none: MaybeStore }): number {
  const status: SyncStatus = useSyncStatus(props.store);
  // @ts-expect-error: a query needs an index
  useQuery(props.none, "orders", { equals: "Paid" });
  // @ts-expect-error: an aggregate id is a string
  useAggregate(props.none, "Order", 7);
  return status.pending + status.progress.done;
}

console.log(OrderList, StatusBar);

// Personal data: the declaration, forgetting, the redaction marker and the crypto error.
import { REDACTED, CryptoError, type PersonalFields } from "fieldstream";

async function personal(): Promise<void> {
  const fields: PersonalFields = { subject: "customerId", fields: ["customerName", "address.street"] };
  const store = await open({
    aggregates: {
      Delivery: {
        initialState: () => ({ name: "" }),
        decide: () => [],
        evolve: (state) => state,
        personalData: { DeliveryBooked: fields },
      },
    },
  });
  await store.forgetSubject("c-1");
  const state = (await store.load<{ name: string }>("Delivery", "d-1")).state;
  const redacted: boolean = state.name === REDACTED;
  try {
    await store.load("Delivery", "d-2");
  } catch (error) {
    if (error instanceof CryptoError) console.log(error.code === "crypto", redacted);
  }
  // @ts-expect-error: fields is a list of paths
  const wrong: PersonalFields = { subject: "customerId", fields: "phone" };
  console.log(wrong);
}

void personal();

/** Conflict retries: a budget and backoff in milliseconds. */
function conflictRetry(): ConflictRetryOptions[] {
  const none: ConflictRetryOptions = { maxMs: 0 };
  // @ts-expect-error: the budget is a number of milliseconds
  const wrong: ConflictRetryOptions = { maxMs: "5s" };
  return [none, wrong];
}

void conflictRetry();

import type { DurableObjectSqlStorage } from "fieldstream";

/** A Durable Object's store: its ctx.storage, shaped as workerd's SQLite-backed storage. */
async function durableObject(ctx: { storage: DurableObjectSqlStorage }) {
  const store = await open({
    storage: "durable-object",
    sql: ctx.storage,
    aggregates: {
      Order: {
        initialState: () => ({ status: "None" }),
        decide: () => [{ type: "OrderCreated", data: {} }],
        evolve: () => ({ status: "Pending" }),
      },
    },
  });
  await store.execute("Order", "o-1", { type: "CreateOrder" }, { idempotencyKey: "k" });
  // @ts-expect-error: sql is the storage object, not a connection string
  await open({ storage: "durable-object", sql: "file.db" });
}

void durableObject;
