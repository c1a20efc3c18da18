// The durability every arm's writes really ran with, whatever opened the database: importing
// this module wraps `IDBDatabase.prototype.transaction` once, and each readwrite transaction
// notes its `durability` under its database's name.
const seen = new Map();
const original = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function transaction(stores, mode, options) {
  const tx = original.call(this, stores, mode, options);
  if (mode === "readwrite") seen.set(this.name, tx.durability ?? "default");
  return tx;
};

/** The durability of the last readwrite transaction on database `name` ("none" if none ran). */
export const durabilityOf = (name) => seen.get(name) ?? "none";
