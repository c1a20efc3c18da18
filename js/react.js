// The `fieldstream/react` entry: hooks that keep React components in step with a store, built
// on `useSyncExternalStore`. Each hook keeps one cached snapshot per subscription and replaces it
// only when the value really changed, so a component re-renders on a change and not otherwise.
// It never imports the WebAssembly module: it only calls the store it is given (and takes the
// error classes from their own module).
import { useMemo, useSyncExternalStore } from "react";
import { ValidationError } from "./errors.js";

/** A read model query's current page (or with `{ key }` one document or null); `undefined` while loading. */
export function useQuery(store, projection, query) {
  const key = store && query ? `${projection}\u0000${stableKey(query)}` : null;
  // `query` is read only when `key` changes: a spec written inline each render keeps its subscription.
  const source = useMemo(
    () => (key === null ? idle : liveSource((notify, set) => store.subscribe(projection, query, (value) => set(value) && notify()))),
    [store, key],
  );
  return read(source);
}

/** An aggregate's `{ state, version }`, read again when the store reports a change to it; `undefined` while loading. */
export function useAggregate(store, aggregate, id) {
  const source = useMemo(
    () => (store && aggregate && id !== undefined && id !== null ? aggregateSource(store, aggregate, String(id)) : idle),
    [store, aggregate, id],
  );
  return read(source);
}

/** The store's sync status, re-rendering only when a field of it changed; `undefined` without a store. */
export function useSyncStatus(store) {
  const source = useMemo(() => (store ? statusSource(store) : idle), [store]);
  return read(source);
}

/**
 * Where the store's projections stand (`store.projections()`), or with `name` where that one
 * stands; read again when the store says projections or aggregates may have changed, and
 * re-rendering only when the status really changed. `undefined` while loading.
 */
export function useProjectionStatus(store, name) {
  const source = useMemo(() => (store ? projectionSource(store, name) : idle), [store, name]);
  return read(source);
}

/** Subscribes through `source` and returns its snapshot, throwing the error it failed with. */
function read(source) {
  const snapshot = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot);
  if (snapshot instanceof Failed) throw snapshot.error;
  return snapshot;
}

/** A failure kept as the snapshot, so the component that asked throws it while rendering. */
class Failed {
  constructor(error) {
    this.error = error;
  }
}

/** The source of a hook with nothing to watch (no store yet). */
const idle = { subscribe: () => () => {}, getSnapshot: () => undefined };

/**
 * A source whose snapshot `start(notify, set)` feeds: `set(value)` stores `value` unless it equals
 * the current snapshot (then it keeps the old reference) and says whether it changed. `start`
 * returns its stop function. The snapshot survives unsubscribing, so a resubscription (React's
 * strict mode, a remount) shows the last value at once.
 */
function liveSource(start) {
  let snapshot;
  let text;
  const set = (value) => {
    const next = value instanceof Failed ? null : JSON.stringify(value ?? null);
    if (next !== null && next === text) return false;
    snapshot = value;
    text = next;
    return true;
  };
  return {
    subscribe(notify) {
      try {
        return start(notify, set);
      } catch (error) {
        set(new Failed(error));
        notify();
        return () => {};
      }
    },
    getSnapshot: () => snapshot,
  };
}

/** Loads the aggregate now and after each `onChange` that may concern its stream; late loads are dropped. */
function aggregateSource(store, aggregate, id) {
  const stream = `${aggregate}-${id}`;
  return liveSource((notify, set) => {
    let asked = 0;
    let stopped = false;
    const load = () => {
      const ticket = ++asked;
      store.load(aggregate, id).then(
        (loaded) => !stopped && ticket === asked && set(loaded) && notify(),
        (error) => !stopped && ticket === asked && set(new Failed(error)) && notify(),
      );
    };
    const stop = store.onChange((change) => {
      if (change.stream === undefined || change.stream === stream) load();
    });
    load();
    return () => {
      stopped = true;
      stop();
    };
  });
}

/** Reads `projections()` now and after each hint that they may have changed; late reads are
 * dropped. With `name`, keeps that projection's status only (a name the store does not know
 * fails like any read of it). */
function projectionSource(store, name) {
  return liveSource((notify, set) => {
    let asked = 0;
    let stopped = false;
    const load = () => {
      const ticket = ++asked;
      const current = () => !stopped && ticket === asked;
      store.projections().then(
        (all) => {
          if (!current()) return;
          const value = name === undefined ? all : all.find((status) => status.name === name);
          const failure = value === undefined ? new Failed(unknownProjection(name, all)) : null;
          if (set(failure ?? value)) notify();
        },
        (error) => current() && set(new Failed(error)) && notify(),
      );
    };
    const stops = [store.onProjections(load), store.onChange(load)];
    load();
    return () => {
      stopped = true;
      for (const stop of stops) stop();
    };
  });
}

/** The error of asking for a projection the store does not have. */
function unknownProjection(name, all) {
  const known = all.map((status) => status.name).join(", ");
  return new ValidationError(`unknown projection ${JSON.stringify(name)} (known: ${known})`);
}

/** The status, kept as one object until a field changes (the store makes a new one per call). */
function statusSource(store) {
  let snapshot;
  let text;
  const getSnapshot = () => {
    const status = store.status();
    const next = JSON.stringify(status);
    if (next !== text) {
      snapshot = status;
      text = next;
    }
    return snapshot;
  };
  return { subscribe: (notify) => store.onStatus(notify), getSnapshot };
}

/** JSON with object keys sorted, so equal specs written in any key order give one key. */
function stableKey(value) {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}
