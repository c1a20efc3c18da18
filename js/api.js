// The public API of the fieldstream package: `open(options)` and the `Store` it resolves to.
// A WebAssembly module does the work; this file adapts it to the documented JS surface
// (an unsubscribe function from `subscribe`, a token given as a string). Which module runs is
// each entry's business: it gives this file a loader (`useModules`) before any `open()`.
import { ValidationError } from "./errors.js";
import { checkRunning, guarded } from "./panic.js";

/** What a personal field of a forgotten subject reads as, on every read path. */
export const REDACTED = "[redacted]";

/** `(options) => Promise<{ WasmStore, startSync? }>`: the module `open()` runs on (and, with the
 * `sync` feature, the sync driver of js/sync.js), given by the entry. */
let loadModule = () => Promise.reject(new Error("fieldstream: no WebAssembly module (import an entry of the package)"));

/** Called once by each entry: `load(options)` resolves to `{ WasmStore, startSync }`: the
 * `WasmStore` class of a loaded module (ready through load/bind.js) that can open a store with
 * `options`, and for a module with sync, the sync driver's `startSync`. */
export function useModules(load) {
  loadModule = load;
}

/** Opens a store; see `OpenOptions` in index.d.ts for every option. */
export async function open(options) {
  const { WasmStore, startSync } = await loadModule(options);
  const normalized = await deriveKeyStoreKey(normalize(options));
  const inner = await guarded(() => WasmStore.open(normalized));
  const storage = normalized?.storage ?? (typeof indexedDB === "undefined" ? "memory" : "indexeddb");
  const changes = new Changes(storage === "indexeddb" ? normalized?.name ?? "fieldstream" : null);
  // A module without the `sync` feature has no `syncClient` (and refuses the `sync` option).
  const client = inner.syncClient?.();
  const sync = normalized?.sync;
  const driver = client && startSync(client, {
    name: normalized.name ?? "fieldstream",
    url: sync.url,
    token: sync.token,
    live: sync.live ?? true,
    auto: sync.auto ?? true,
    ...(sync.pollMs === undefined ? {} : { pollMs: sync.pollMs }),
    ...(sync.retryMs === undefined ? {} : { retryMs: sync.retryMs }),
    ...(sync.maxRetryMs === undefined ? {} : { maxRetryMs: sync.maxRetryMs }),
    afterRound: () => {
      inner.afterSync();
      changes.emit({});
    },
  });
  await driver?.ready;
  return new Store(inner, driver, changes);
}

/** `secret` becomes `deriveAtRestKey(salt)`: the 256-bit key that seals the store at rest,
 * PBKDF2-SHA-256 in WebCrypto over the secret and the database's own random salt (the store
 * calls it once at open, before any transaction: an await inside one would end it). */
async function deriveKeyStoreKey(options) {
  if (options?.secret === undefined) return options;
  const { secret, ...rest } = options;
  if (typeof secret !== "string" || secret === "") {
    throw new ValidationError("options.secret must be a non-empty string");
  }
  const storage = rest.storage ?? (typeof indexedDB === "undefined" ? "memory" : "indexeddb");
  if (storage !== "indexeddb") {
    throw new ValidationError('options.secret seals the IndexedDB store at rest: it needs storage "indexeddb"');
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new ValidationError("options.secret needs WebCrypto (crypto.subtle)");
  const material = await subtle.importKey("raw", new TextEncoder().encode(secret), "PBKDF2", false, ["deriveBits"]);
  const deriveAtRestKey = async (salt) =>
    new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 310_000 }, material, 256));
  return { ...rest, deriveAtRestKey };
}

/** A sync token given as a plain string becomes a provider returning it. */
function normalize(options) {
  const sync = options?.sync;
  if (sync && typeof sync === "object" && typeof sync.token === "string") {
    const token = sync.token;
    return { ...options, sync: { ...sync, token: () => token } };
  }
  return options;
}

/** An open store: commands, aggregates, read models, live queries and sync. */
export class Store {
  #inner;
  #driver;
  #changes;
  #projectionListeners = new Set();

  constructor(inner, driver, changes) {
    this.#inner = inner;
    this.#driver = driver;
    this.#changes = changes;
    inner.onProjections(() => {
      for (const listener of [...this.#projectionListeners]) {
        try {
          listener();
        } catch (error) {
          console.error("fieldstream: an onProjections listener threw", error);
        }
      }
    });
  }

  /** This store's client id (one per database). */
  get clientId() {
    return this.#inner.clientId;
  }

  /** The `sync` option the store was opened with, or `undefined`. */
  get syncOptions() {
    return this.#inner.syncOptions;
  }

  async execute(aggregate, id, command, options) {
    const result = await guarded(() => this.#inner.execute(aggregate, id, command, options));
    if (!result.deduplicated) {
      this.#driver?.kick();
      this.#changes.emit({ stream: result.stream });
    }
    return result;
  }

  load(aggregate, id) {
    return guarded(() => this.#inner.load(aggregate, id));
  }

  stateAt(aggregate, id, version) {
    return guarded(() => this.#inner.stateAt(aggregate, id, version));
  }

  history(aggregate, id) {
    return guarded(() => this.#inner.history(aggregate, id));
  }

  get(name, key) {
    return guarded(() => this.#inner.get(name, key));
  }

  query(name, spec) {
    return guarded(() => this.#inner.query(name, spec));
  }

  /** Calls `callback` now and on every change; returns a function that stops it. */
  subscribe(name, spec, callback) {
    checkRunning();
    const token = this.#inner.subscribe(name, spec, callback);
    return () => this.#inner.unsubscribe(token);
  }

  /** Calls `listener({ stream? })` when aggregates may have changed: `stream` after a command
   * here, none after a sync round or another tab's commit; returns a function that stops it. */
  onChange(listener) {
    if (typeof listener !== "function") throw new ValidationError("onChange: listener must be a function");
    return this.#changes.add(listener);
  }

  /** Where each projection (read model) stands: mode, version, position, lag, rebuild
   * progress, whether it stopped, its dead letters and a retry it waits for. */
  projections() {
    return guarded(() => this.#inner.projections());
  }

  /** Processes the events projection `name` failed on again and resumes it (a rebuild when
   * some were skipped); resolves to its status. */
  retryProjection(name) {
    return guarded(() => this.#inner.retryProjection(name));
  }

  /** Passes over the dead-lettered event `eventId` of projection `name` and resumes it;
   * resolves to its status. */
  skipDeadLetter(name, eventId) {
    return guarded(() => this.#inner.skipDeadLetter(name, eventId));
  }

  /** Calls `listener()` when projections may have changed state (progress, a failure, a
   * retry, a rebuild step): a hint to read `projections()` again; returns a function that
   * stops it. Commits and sync rounds are heard through `onChange`. */
  onProjections(listener) {
    if (typeof listener !== "function") throw new ValidationError("onProjections: listener must be a function");
    const entry = () => listener();
    this.#projectionListeners.add(entry);
    return () => this.#projectionListeners.delete(entry);
  }

  /** Where sync stands (all zero and offline without the `sync` option). */
  status() {
    checkRunning();
    return this.#driver ? this.#driver.status() : this.#inner.status();
  }

  /** Calls `listener(status)` on every change of the sync status; returns a function that stops it. */
  onStatus(listener) {
    if (typeof listener !== "function") throw new ValidationError("onStatus: listener must be a function");
    return this.#driver ? this.#driver.onStatus(listener) : () => {};
  }

  /** Runs sync now (it also runs by itself) and resolves to what it did. */
  sync() {
    return guarded(() => (this.#driver ? this.#driver.sync() : this.#inner.sync()));
  }

  rejected() {
    return guarded(() => this.#inner.rejected());
  }

  dismissRejected(commandId) {
    return guarded(() => this.#inner.dismissRejected(commandId));
  }

  /** Forgets data subject `subject` here and, with the `sync` option, on the server; then
   * tells `onChange` listeners to read again (the aggregates now show it redacted). */
  async forgetSubject(subject) {
    await guarded(() => this.#inner.forgetSubject(subject));
    this.#changes.emit({});
  }

  close() {
    this.#driver?.stop();
    this.#changes.clear();
    this.#projectionListeners.clear();
    return guarded(() => this.#inner.close());
  }
}

/** The listeners of `onChange`, and while there are any, the database's change notices from the
 * IndexedDB stores of every tab and worker (channel `fieldstream:<name>`, this tab's own too). */
class Changes {
  /** The IndexedDB database's name, or null for other storage (no notices). */
  #name;
  #listeners = new Set();
  #channel = null;

  constructor(name) {
    this.#name = name;
  }

  add(listener) {
    const entry = (change) => listener(change);
    this.#listeners.add(entry);
    if (!this.#channel && this.#name !== null && typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(`fieldstream:${this.#name}`);
      this.#channel.onmessage = () => this.emit({});
      this.#channel.unref?.();
    }
    return () => {
      this.#listeners.delete(entry);
      if (this.#listeners.size === 0) this.clear();
    };
  }

  emit(change) {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        console.error("fieldstream: an onChange listener threw", error);
      }
    }
  }

  clear() {
    this.#listeners.clear();
    this.#channel?.close();
    this.#channel = null;
  }
}
