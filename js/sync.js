// The sync driver: decides *when* a SyncClient runs, while everything a round does (push, pull,
// conflict resolution) happens in the engine.
//
// - One syncing tab per database: the tab holding the Web Lock `fieldstream-sync:<name>` runs
//   the automatic rounds and the live feed; when it closes, the browser hands the lock to a
//   waiting tab at once. Other tabs send it their "I executed a command" kicks and receive its
//   status over a BroadcastChannel. Every round, automatic or forced by `sync()` in any tab,
//   runs under the lock `fieldstream-round:<name>`, so pushes never overlap. Where Web Locks do
//   not exist (workerd, Node.js), the single engine syncs.
// - Rounds start when the network returns (`online` events), right after a local command, on a
//   timer while commands are waiting or no live feed runs (polling), and again after a failure
//   with a growing delay.
// - Live pull: `GET /v1/subscribe` through EventSource where it exists. Its events go to the
//   engine directly (`receiveLive` + `applyLive`), with no extra request; the engine falls back
//   to a pull when the feed does not reach back to its checkpoint.
// - With `auto: false` none of the above runs by itself: rounds run only when `sync()` is
//   called (still under the round lock), and the status still follows commands and the network.

const defaults = { live: true, auto: true, pollMs: 10_000, retryMs: 1_000, maxRetryMs: 60_000 };

/**
 * Starts driving `client` (an engine's `SyncClient`) for database `name`.
 * @param {any} client the engine's SyncClient
 * @param {{ name: string, url: string, token?: (ask: { refresh: boolean }) => string | Promise<string>,
 *   live?: boolean, auto?: boolean, pollMs?: number, retryMs?: number, maxRetryMs?: number,
 *   afterRound?: () => void }} options
 */
export function startSync(client, options) {
  return new SyncDriver(client, { ...defaults, ...options });
}

class SyncDriver {
  constructor(client, options) {
    this.client = client;
    this.options = options;
    this.url = options.url.replace(/\/+$/, "");
    this.listeners = new Set();
    this.leader = false;
    this.liveOpen = false;
    this.source = null;
    this.liveRefused = false;
    this.liveRetry = undefined;
    this.remote = null;
    this.stopped = false;
    this.failures = 0;
    this.lastFailure = null;
    this.timer = undefined;
    this.running = null;
    this.again = false;
    this.released = null;
    this.abort = typeof AbortController === "function" ? new AbortController() : null;
    this.locks = globalThis.navigator?.locks;
    this.channel = typeof BroadcastChannel === "function"
      ? new BroadcastChannel(`fieldstream-sync:${options.name}`) : null;
    this.channel?.addEventListener("message", (message) => this.onMessage(message.data));
    this.onOnline = () => { this.setOnline(true); this.schedule(0); };
    this.onOffline = () => this.setOnline(false);
    client.setOnline(globalThis.navigator?.onLine ?? true);
    client.onStatus(() => this.changed());
    /** Resolves once the status holds the store's own counts (pending, rejected). */
    this.ready = client.refreshCounts().then(() => this.changed(), () => {});
    if (this.locks) {
      this.locks.request(`fieldstream-sync:${options.name}`, { signal: this.abort?.signal },
        () => this.lead()).catch(() => {});
    } else {
      this.lead();
    }
  }

  /** Where sync stands, with `leader` (this tab syncs) and `live` (the live feed is open). */
  status() {
    const own = this.client.status();
    const shared = this.leader || !this.remote ? own : { ...this.remote, pending: own.pending, rejected: own.rejected };
    const online = shared.online && globalThis.navigator?.onLine !== false;
    return { ...shared, online, leader: this.leader, live: this.leader ? this.liveOpen : Boolean(this.remote?.live) };
  }

  /** Calls `listener(status)` on each change; returns a function that stops it. */
  onStatus(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs one sync now (in whichever tab calls it) and resolves to its report. While the server
   * cannot be reached it rejects with a `NetworkError` in bounded time (see `SyncOptions.timeoutMs`):
   * after waiting for a round this tab is already running, with that round's network error. */
  async sync() {
    if (this.running) {
      await this.running;
      if (this.lastFailure?.code === "network") throw this.lastFailure;
    }
    return this.round(() => this.client.sync());
  }

  /** Tells the syncing tab that a command is waiting. */
  async kick() {
    this.client.noteCommand();
    await this.client.refreshCounts().catch(() => {});
    if (this.leader) this.schedule(0);
    else this.channel?.postMessage({ kind: "kick" });
  }

  /** Stops everything: timers, the live feed, listeners, the locks. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.liveRetry);
    this.closeLive();
    this.abort?.abort();
    this.released?.();
    globalThis.removeEventListener?.("online", this.onOnline);
    globalThis.removeEventListener?.("offline", this.onOffline);
    this.client.onStatus(null);
    this.channel?.close();
    this.listeners.clear();
  }

  // --- the syncing tab ---------------------------------------------------------------------

  lead() {
    if (this.stopped) return undefined;
    this.leader = true;
    globalThis.addEventListener?.("online", this.onOnline);
    globalThis.addEventListener?.("offline", this.onOffline);
    this.openLive();
    this.schedule(0);
    this.changed();
    return new Promise((resolve) => { this.released = resolve; });
  }

  /** Runs a round soon; one that is asked for while another runs follows it. */
  schedule(delay) {
    if (this.stopped || !this.leader || !this.options.auto) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.automatic(), delay);
  }

  async automatic() {
    if (this.running) {
      this.again = true;
      return;
    }
    if (globalThis.navigator?.onLine === false) return this.schedule(this.options.pollMs);
    this.running = this.round(() => this.client.sync()).then(
      () => { this.failures = 0; this.lastFailure = null; },
      (error) => { this.failures += 1; this.lastFailure = error; },
    );
    await this.running;
    this.running = null;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      return this.schedule(0);
    }
    const { pending } = this.client.status();
    if (this.failures > 0) {
      const { retryMs, maxRetryMs } = this.options;
      this.schedule(Math.min(maxRetryMs, retryMs * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2));
    } else {
      // While the live feed is open, a slow poll still catches what a silently dead
      // connection would miss.
      this.schedule(pending > 0 || !this.liveOpen ? this.options.pollMs : this.options.pollMs * 6);
    }
    if (!this.liveOpen) this.openLive();
  }

  /** Runs `work` under the database's round lock, so no two tabs push at once. */
  async round(work) {
    try {
      if (!this.locks) return await work();
      return await this.locks.request(`fieldstream-round:${this.options.name}`, work);
    } finally {
      this.options.afterRound?.();
    }
  }

  async openLive() {
    if (!this.options.live || !this.options.auto || typeof EventSource !== "function" || this.source || this.stopped) return;
    if (globalThis.navigator?.onLine === false) return;
    let after;
    let token;
    try {
      after = await this.client.checkpoint();
      token = this.options.token ? await this.options.token({ refresh: this.liveRefused }) : null;
    } catch {
      return;
    }
    if (this.source || this.stopped || !this.leader) return;
    const query = new URLSearchParams({ after: String(after) });
    if (token) query.set("access_token", token);
    const source = new EventSource(`${this.url}/v1/subscribe?${query}`);
    this.source = source;
    let through = after;
    let batch = [];
    let flushing = false;
    const flush = async () => {
      flushing = false;
      if (!batch.length || this.source !== source) return;
      const texts = batch;
      batch = [];
      const from = through;
      through = JSON.parse(texts[texts.length - 1]).position;
      this.client.receiveLive(from, `[${texts.join(",")}]`);
      const applied = await this.round(() => this.client.applyLive()).catch(() => undefined);
      if (applied === null) this.schedule(0);
    };
    source.addEventListener("open", () => {
      this.liveOpen = true;
      this.liveRefused = false;
      this.changed();
    });
    source.addEventListener("event", (message) => {
      batch.push(message.data);
      if (!flushing) {
        flushing = true;
        setTimeout(flush, 10);
      }
    });
    source.addEventListener("error", () => {
      this.liveOpen = false;
      this.changed();
      if (source.readyState === EventSource.CLOSED) {
        // Refused for good (an expired token, say): poll meanwhile, and open a fresh feed with a
        // fresh token a little later.
        this.closeLive();
        this.liveRefused = true;
        this.schedule(this.options.pollMs);
        this.liveRetry = setTimeout(() => this.openLive(), this.options.retryMs);
      }
    });
  }

  closeLive() {
    this.source?.close();
    this.source = null;
    this.liveOpen = false;
  }

  setOnline(online) {
    this.client.setOnline(online);
    if (!online) this.closeLive();
    else this.openLive();
  }

  // --- every tab ---------------------------------------------------------------------------

  onMessage(message) {
    if (message?.kind === "kick" && this.leader) this.schedule(0);
    if (message?.kind === "status" && !this.leader) {
      this.remote = message.status;
      this.client.refreshCounts().catch(() => {});
      this.changed();
    }
  }

  changed() {
    if (this.stopped) return;
    const status = this.status();
    const text = JSON.stringify(status);
    if (text === this.last) return;
    this.last = text;
    if (this.leader) this.channel?.postMessage({ kind: "status", status });
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (error) {
        queueMicrotask(() => { throw error; });
      }
    }
  }
}
