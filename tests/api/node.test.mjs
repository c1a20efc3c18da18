// The behaviour suite against the built package in Node.js, imported by name as an app would,
// with memory storage.
import { test } from "node:test";
import * as lib from "fieldstream";
import { cases } from "./suite.mjs";

const open = (options = {}) =>
  lib.open(typeof options === "object" && options !== null ? { storage: "memory", ...options } : options);

for (const { name, run } of cases) {
  test(name, () => run({ lib, open }));
}
