// Hand-written types of the fieldstream package's public API: every name an entry exports is
// declared here, or re-exported from `errors.d.ts` (the error classes and `ErrorCode`) and
// `projections.d.ts` (read-model types), and nothing else (the WebAssembly bindings stay
// internal).

/** A JSON value: what commands, event payloads, states and documents are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Who and what caused an event, and when. */
export interface EventMetadata {
  /** Ties together everything done for one user intent. */
  correlationId?: string;
  /** The message (command or event) that directly caused this one. */
  causationId?: string;
  /** The command that produced this event. */
  commandId?: string;
  /** The client (device and database) that produced this event. */
  clientId?: string;
  /** When it was produced, in Unix milliseconds, by the producer's clock. */
  occurredAt: number;
}

/** An event as stored and as `evolve`, `apply` and `history` see it. */
export interface EventEnvelope<D = any> {
  /** The event's unique id. */
  id: string;
  /** Its stream: `{AggregateType}-{id}`. */
  stream: string;
  /** 1-based position in its stream. */
  version: number;
  /** The event type, such as `OrderCreated`. */
  type: string;
  /** The payload's schema version (after upcasting). */
  schemaVersion: number;
  /** The payload. */
  data: D;
  /** Correlation, causation, command, client and time. */
  metadata: EventMetadata;
  /** The server's global position once it confirmed the event. */
  position?: number | null;
  /** When the server stored it. */
  recordedAt?: number;
}

/** An event in `history()`: with its sync state. */
export interface HistoryEvent<D = any> extends EventEnvelope<D> {
  /** `"pending"` until the server accepted it, then `"confirmed"`. */
  syncState: "pending" | "confirmed";
  /** The server's global position, `null` while pending. */
  position: number | null;
}

/** An event as `decide` returns it. */
export interface NewEvent<D = any> {
  /** The event type: 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter. */
  type: string;
  /** The payload (any JSON value). */
  data: D;
  /** The payload's schema version; default: the newest the upcasters reach, else 1. */
  schemaVersion?: number;
}

/** A command: a plain object with a string `type`. */
export interface Command {
  type: string;
  [field: string]: any;
}

/** What `onConflict` gets: the pending command and the other device's events. */
export interface Conflict<C = Command> {
  command: C;
  serverEvents: EventEnvelope[];
}

/** What to do with a pending command whose aggregate another device changed first. */
export type ConflictPolicy = "rebase" | "reject";

/** An aggregate written in JavaScript. `decide` and `evolve` must be synchronous and pure. */
export interface AggregateDefinition<S = any, C extends Command = Command> {
  /** The state of an aggregate with no events. */
  initialState: () => S;
  /** The events a command produces on `state`; throw `new DomainError(code, message)` to refuse. */
  decide: (state: S, command: C) => NewEvent[];
  /** The state after one event; return the new state (do not return undefined). */
  evolve: (state: S, event: EventEnvelope) => S;
  /** Take a snapshot every this many events (default 100; 0 turns snapshots off). */
  snapshotEvery?: number;
  /** The schema version of the state in snapshots (default 1); raise it when the state's shape
   * changes and older snapshots are ignored. */
  stateVersion?: number;
  /** After a sync conflict: decide again on the new state ("rebase", the default), reject, or ask. */
  onConflict?: ConflictPolicy | ((conflict: Conflict<C>) => ConflictPolicy);
  /** Personal data, per event type: the fields (top-level or dotted paths) sealed under the key
   * of the data subject that field `subject` names, e.g.
   * `{ OrderCreated: { subject: "customerId", fields: ["customerName", "phone"] } }`.
   * After `forgetSubject`, those fields read as `REDACTED`. Such aggregates take no snapshots. */
  personalData?: Record<string, PersonalFields>;
}

/** The personal fields of one event type and the field naming their data subject. */
export interface PersonalFields {
  /** The field (top-level or dotted path) holding the subject's id; it stays readable. */
  subject: string;
  /** The personal fields (top-level or dotted paths). */
  fields: string[];
}

/** What a personal field of a forgotten subject reads as, on every read path: `"[redacted]"`. */
export declare const REDACTED: "[redacted]";

import type { ProjectionDefinition, ProjectionStatus } from "./projections.js";
export type { DeadLetter, ProjectionDefinition, ProjectionError, ProjectionRetry, ProjectionStatus, View } from "./projections.js";

/** Brings old payloads of `type` at `fromVersion` to `fromVersion + 1`, on every read. */
export interface UpcasterDefinition {
  type: string;
  fromVersion: number;
  upcast: (data: any) => any;
}

/** Where and how to sync; with `storage: "remote"`, the server whose streams the store uses. */
export interface SyncOptions {
  /** The `fieldstream-server` base URL, such as `http://127.0.0.1:8080`. */
  url: string;
  /** A bearer token, or a function giving one: asked before each request, and again with
   * `refresh: true` after a 401 (then the request is sent once more). */
  token?: string | TokenProvider;
  /** Follow other devices' changes live over `GET /v1/subscribe` while online (default true);
   * `false` polls instead. */
  live?: boolean;
  /** Events pushed per request (default 100). */
  batchSize?: number;
  /** Run rounds in the background (default true): when the network returns, right after a
   * command, on a timer, and after a failure with backoff, and follow the live feed. `false`
   * syncs only when `sync()` is called (a "Sync now" button, a metered connection); `status()`
   * still counts commands and follows the network. */
  auto?: boolean;
  /** Milliseconds between rounds while commands wait, and between polls without a live feed
   * (default 10,000). */
  pollMs?: number;
  /** Milliseconds before the background driver tries again after a failed round (default
   * 1,000): the delay doubles with each failure in a row up to `maxRetryMs`, each one a random
   * 50–100 % of it so that devices spread out; also the wait before reopening a refused live
   * feed. At least 10. */
  retryMs?: number;
  /** The longest delay between retries of failed rounds (default 60,000); at least `retryMs`. */
  maxRetryMs?: number;
  /** Milliseconds a request may take before it is sent again, unchanged (default 20,000). A
   * request is tried at most 4 times per round, so while the server cannot be reached a forced
   * `sync()` rejects with a `NetworkError` within about 4 × `timeoutMs` + 2 s (at once when the
   * browser reports itself offline); the background driver keeps retrying with backoff, and
   * what it sends is the same request with the same event ids. */
  timeoutMs?: number;
}

/** Gives the sync server's bearer token; `refresh` is true after the server refused the last one. */
export type TokenProvider = (ask: { refresh: boolean }) => string | Promise<string>;

/** What storage "durable-object" uses of a Durable Object's `ctx.storage` (a SQLite-backed
 * class): its synchronous SQL and transactions. */
export interface DurableObjectSqlStorage {
  /** The object's SQLite database. */
  sql: {
    /** Runs one statement with its bindings; the cursor's rows are read whole. */
    exec(query: string, ...bindings: unknown[]): {
      raw(): { toArray(): unknown[][] };
      readonly rowsWritten: number;
    };
  };
  /** Runs `callback` in one transaction: rolled back when it throws. */
  transactionSync<T>(callback: () => T): T;
}

/** The options of `open()`. */
export interface OpenOptions {
  /** The database name (default "fieldstream"). */
  name?: string;
  /** "indexeddb" (default where `indexedDB` exists), "memory" (the default elsewhere), or
   * "remote" (edge workers and servers; needs `sync.url`):
   * - no local persistence: `execute` reads the aggregate's stream from the server
   *   (`GET /v1/streams/{stream}`), decides, and appends with the version it decided at
   *   (`POST /v1/streams/{stream}`, the events' own ids); a lost answer, a timeout or a 5xx
   *   resends the same request (the server's exactly-once rule by event id makes that safe),
   *   up to 5 tries, then a `NetworkError` (the outcome is then unknown: `load` to see);
   * - a conflict (another writer appended first) calls `onConflict` with the other writer's
   *   events: "rebase" decides again on the new state (after a backoff, while
   *   `conflictRetry.maxMs` lasts), "reject" fails with a `ConflictError`; a refusal is a
   *   `DomainError`, nothing written;
   * - `load`, `stateAt` and `history` read from the server (every event `"confirmed"`);
   *   snapshots are not used;
   * - read models live in memory and hold the events this store appended or read, in the
   *   order it learned of them: `get` and `query` show what this store has seen, not the
   *   whole server (`load` an aggregate to bring its events in);
   * - `idempotencyKey` holds within this store (memory, for an hour): a second command with
   *   the key returns the first result, also when both run at once; another store or worker
   *   instance does not know it;
   * - nothing to sync: `sync()` resolves all zero, `status().online` is true; `sync.token`
   *   and `sync.timeoutMs` apply to every request, the other sync options are ignored.
   *
   * Or "durable-object" (inside a Cloudflare Durable Object of a SQLite-backed class; needs
   * `sql: this.ctx.storage`): events, snapshots, idempotency records, read models and the outbox
   * live in the object's SQLite, each command decided and committed in one storage transaction;
   * the object is the one writer of its data, so open one store per object and keep it (a
   * second `open()` on the same storage is a `ValidationError` until the first is closed). It
   * does not sync yet (no `sync` option). */
  storage?: "indexeddb" | "memory" | "remote" | "durable-object";
  /** With storage "durable-object": the Durable Object's `ctx.storage`. */
  sql?: DurableObjectSqlStorage;
  /** IndexedDB commits: "relaxed" (default) or "strict" (flushed to disk first). */
  durability?: "relaxed" | "strict";
  /** IndexedDB only: seals the key store of personal data, read-model documents and their undo
   * records at rest under a key derived from this secret (PBKDF2), so a copied profile reveals
   * no personal field (index values stay readable); opening the database later without it (or
   * with another) fails with `CryptoError`. */
  secret?: string;
  /** The aggregates, by type name (no "-" in it). */
  aggregates?: Record<string, AggregateDefinition<any, any>>;
  /** The projections (read models), by name. */
  projections?: Record<string, ProjectionDefinition>;
  /** Upcasters of old event payloads. */
  upcasters?: UpcasterDefinition[];
  /** Sync with a server. */
  sync?: SyncOptions;
  /** How a command is decided again after another writer (a tab, a worker, another server
   * instance) committed to its aggregate first. */
  conflictRetry?: ConflictRetryOptions;
}

/**
 * Retries of a command that lost a race to another writer of its aggregate. Before each retry
 * the store waits a random time from 0 up to a ceiling that doubles from `baseMs` up to
 * `maxDelayMs` (exponential backoff with full jitter, so writers that collided spread out),
 * then reloads the aggregate and decides again: the command either applies or is refused by
 * the domain on the new state. It keeps trying while `maxMs` lasts from its first conflict;
 * after that it fails with a `ConflictError`. A command with `expectedVersion` is never
 * retried. With storage "remote", the aggregate's `onConflict` is asked first.
 */
export interface ConflictRetryOptions {
  /** How long a command keeps retrying after its first conflict, in milliseconds (default
   * 5,000; up to 600,000; 0 fails at the first conflict). Its backoffs and attempts count; the
   * time storage "remote" spends waiting out the server's rate limit (a `429`'s `Retry-After`)
   * does not: the store bounds those waits itself (5 tries a request, then a `NetworkError`). */
  maxMs?: number;
  /** The ceiling of the wait before the first retry, in milliseconds, doubled for each
   * further retry (default 5). */
  baseMs?: number;
  /** The highest ceiling of one wait, in milliseconds (default 250, or `baseMs` when larger). */
  maxDelayMs?: number;
}

/** Optional settings of one command. */
export interface ExecuteOptions {
  /** A second execute with the same key (within an hour) returns the first result, writing nothing. */
  idempotencyKey?: string;
  /** Copied into every event's metadata. */
  correlationId?: string;
  /** Copied into every event's metadata. */
  causationId?: string;
  /** The command's id; one is generated when absent. */
  commandId?: string;
  /** Refuse with a `ConflictError` unless the stream is at this version (never retried). */
  expectedVersion?: number | "any" | "no_stream" | "stream_exists";
}

/** What an executed command did. */
export interface ExecuteResult {
  stream: string;
  version: number;
  events: EventEnvelope[];
  deduplicated: boolean;
  commandId: string;
}

/** An aggregate's state and the version it includes. */
export interface Loaded<S = any> {
  state: S;
  version: number;
}

/** A read-model query: by index value, equal or in a range, in pages. */
export type Query = {
  /** A declared index. */
  index: string;
  /** The most documents per page (1-10000, default 100). */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string;
} & ({ equals: string | number; range?: never } | { range: [string | number | null, string | number | null]; equals?: never });

/** A page of query results, in index order. */
export interface Page<D = any> {
  docs: { key: string; doc: D }[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

/** Where sync stands. */
export interface SyncStatus {
  /** The browser is online and the last request reached the server. */
  online: boolean;
  /** Commands waiting in the outbox. */
  pending: number;
  /** Commands in the rejected inbox. */
  rejected: number;
  /** A round is running (in whichever tab syncs). */
  syncing: boolean;
  /** What the running round does. */
  phase: "pushing" | "pulling" | null;
  /** Commands settled out of those queued when the current (or last) drain began. */
  progress: { done: number; total: number };
  /** When the last round succeeded (Unix milliseconds). */
  lastSyncAt: number | null;
  /** The last round's failure, until one succeeds. */
  lastError: string | null;
  /** Server positions not yet pulled, as last seen. */
  lag: number;
  /** This tab is the one that syncs this database (false in the others). */
  leader?: boolean;
  /** The live feed is open. */
  live?: boolean;
}

/** What `sync()` did. */
export interface SyncReport {
  pushed: number;
  pulled: number;
  conflicts: number;
  rejected: number;
}

/** A command that came back from sync. */
export interface RejectedCommand {
  commandId: string;
  aggregate: string;
  id: string;
  command: Command;
  reason: { code: string; message: string };
  causedBy: EventEnvelope[];
  at: number;
}

/** An open store. */
export declare class Store {
  private constructor();
  /** This store's client id. */
  readonly clientId: string;
  /** The `sync` option it was opened with. */
  readonly syncOptions: SyncOptions | undefined;
  execute(aggregate: string, id: string, command: Command, options?: ExecuteOptions): Promise<ExecuteResult>;
  load<S = any>(aggregate: string, id: string): Promise<Loaded<S>>;
  stateAt<S = any>(aggregate: string, id: string, version: number): Promise<Loaded<S>>;
  history(aggregate: string, id: string): Promise<HistoryEvent[]>;
  get<D = any>(projection: string, key: string): Promise<D | null>;
  query<D = any>(projection: string, query: Query): Promise<Page<D>>;
  /** Calls `callback` with the current result now and on every change; returns `stop`. */
  subscribe<D = any>(projection: string, query: Query, callback: (page: Page<D>) => void): () => void;
  subscribe<D = any>(projection: string, spec: { key: string }, callback: (doc: D | null) => void): () => void;
  /** Where each projection stands, in the order they were defined. */
  projections(): Promise<ProjectionStatus[]>;
  /** Processes the events projection `name` failed on again and resumes it; resolves to its
   * status once it caught up, stopped again, or waits to retry. When some of them were
   * skipped, the read model is rebuilt from the first event instead (applying them out of
   * order would be wrong). A `ValidationError` for an unknown name. */
  retryProjection(name: string): Promise<ProjectionStatus>;
  /** Passes over the dead-lettered event `eventId` of projection `name` (it is never applied)
   * and resumes the projection; resolves to its status. A `NotFoundError` when it has no such
   * dead letter, a `ValidationError` for an unknown name or an id that is not a UUID; nothing
   * is written then. */
  skipDeadLetter(name: string, eventId: string): Promise<ProjectionStatus>;
  /** Calls `listener` when projections may have changed state (progress, a failure, a retry,
   * a rebuild step): a hint to read `projections()` again; returns `stop`. */
  onProjections(listener: () => void): () => void;
  /** Calls `listener` when aggregates may have changed: with `stream` after a command made
   * through this store, without it after a sync round or a commit of another tab or worker on
   * the same IndexedDB database; returns `stop`. A hint to read again, not a diff. */
  onChange(listener: (change: { stream?: string }) => void): () => void;
  /** Where sync stands. */
  status(): SyncStatus;
  /** Calls `listener` on every change of the sync status; returns `stop`. */
  onStatus(listener: (status: SyncStatus) => void): () => void;
  /** Runs sync now (it also runs by itself while the `sync` option is set). Rejects with a
   * `NetworkError` in bounded time while the server cannot be reached (see `timeoutMs`). */
  sync(): Promise<SyncReport>;
  rejected(): Promise<RejectedCommand[]>;
  dismissRejected(commandId: string): Promise<boolean>;
  /** Forgets data subject `subject`: deletes its keys here and, with the `sync` option, on the
   * server; every read path then shows its personal fields as `REDACTED`, and the read models
   * are rebuilt without them. */
  forgetSubject(subject: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a store. Rejects with a `ValidationError` naming a bad option. */
export declare function open(options?: OpenOptions): Promise<Store>;

export type { ErrorCode } from "./errors.js";
export {
  CodecError,
  ConflictError,
  CryptoError,
  DomainError,
  FieldstreamError,
  NetworkError,
  NotFoundError,
  StorageError,
  UnauthorizedError,
  ValidationError,
} from "./errors.js";
