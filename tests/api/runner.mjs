// Runs cases of the behaviour suite where it is imported (a page or a dedicated worker) with
// IndexedDB storage, each case on a database of its own; answers with an error's text or null.
import * as lib from "../../js/browser.js";
import { cases } from "./suite.mjs";

let databases = 0;
const prefix = `suite-${Date.now()}-${Math.random().toString(36).slice(2)}`;
const open = (options = {}) =>
  lib.open(typeof options === "object" && options !== null
    ? { storage: "indexeddb", name: `${prefix}-${databases++}`, ...options }
    : options);

/** Runs the case called `name`; resolves to null when it passed, else the failure's text. */
export async function runCase(name) {
  const found = cases.find((c) => c.name === name);
  if (!found) return `no case called ${name}`;
  try {
    await found.run({ lib, open });
    return null;
  } catch (error) {
    return String(error?.stack ?? error);
  }
}
