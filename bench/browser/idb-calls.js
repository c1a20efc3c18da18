// Counting the IndexedDB calls a piece of work makes: the prototypes of IndexedDB's object
// stores, indexes, transactions and connections are wrapped while it runs.

/** Starts counting; the function returned stops and answers the counts by call. */
export function countIdbCalls() {
  const calls = {};
  const count = (key) => { calls[key] = (calls[key] ?? 0) + 1; };
  const wrap = (proto, name, key) => {
    const original = proto[name];
    proto[name] = function (...args) {
      count(key);
      const where = this instanceof IDBObjectStore ? this.name : this instanceof IDBIndex ? `${this.objectStore.name}.${this.name}` : undefined;
      if (where) count(`${key} on ${where}`);
      if (name === "transaction") {
        const stores = Array.isArray(args[0]) ? args[0].length : 1;
        count(`transaction ${args[1] ?? "readonly"} over ${stores} store(s)`);
      }
      return original.apply(this, args);
    };
    return () => { proto[name] = original; };
  };
  const unwrap = [
    ...["put", "add", "get", "getKey", "getAll", "getAllKeys", "count", "openCursor", "openKeyCursor", "delete"]
      .map((name) => wrap(IDBObjectStore.prototype, name, `store.${name}`)),
    ...["get", "getKey", "getAll", "getAllKeys", "count", "openCursor", "openKeyCursor"]
      .map((name) => wrap(IDBIndex.prototype, name, `index.${name}`)),
    wrap(IDBTransaction.prototype, "commit", "explicit commits"),
    wrap(IDBDatabase.prototype, "transaction", "transactions"),
    wrap(BroadcastChannel.prototype, "postMessage", "BroadcastChannel messages"),
  ];
  return () => {
    unwrap.forEach((restore) => restore());
    return calls;
  };
}
