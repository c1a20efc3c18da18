// The public API of the fieldstream package: `open(options)` and the `Store` it resolves to.
// The WebAssembly module does the work; this file adapts it to the documented JS surface
// (an unsubscribe function from `subscribe`, a token given as a string). It touches the module
// only when called, so the entries can load the module first.
import { WasmStore } from "../pkg/fieldstream.js";

/** Opens a store; see `OpenOptions` in index.d.ts for every option. */
export async function open(options) {
  return new Store(await WasmStore.open(normalize(options)));
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

  constructor(inner) {
    this.#inner = inner;
  }

  /** This store's client id (one per database). */
  get clientId() {
    return this.#inner.clientId;
  }

  /** The `sync` option the store was opened with, or `undefined`. */
  get syncOptions() {
    return this.#inner.syncOptions;
  }

  execute(aggregate, id, command, options) {
    return this.#inner.execute(aggregate, id, command, options);
  }

  load(aggregate, id) {
    return this.#inner.load(aggregate, id);
  }

  stateAt(aggregate, id, version) {
    return this.#inner.stateAt(aggregate, id, version);
  }

  history(aggregate, id) {
    return this.#inner.history(aggregate, id);
  }

  get(name, key) {
    return this.#inner.get(name, key);
  }

  query(name, spec) {
    return this.#inner.query(name, spec);
  }

  /** Calls `callback` now and on every change; returns a function that stops it. */
  subscribe(name, spec, callback) {
    const token = this.#inner.subscribe(name, spec, callback);
    return () => this.#inner.unsubscribe(token);
  }

  status() {
    return this.#inner.status();
  }

  sync() {
    return this.#inner.sync();
  }

  rejected() {
    return this.#inner.rejected();
  }

  dismissRejected(commandId) {
    return this.#inner.dismissRejected(commandId);
  }

  close() {
    return this.#inner.close();
  }
}
