// A few assertions that run in Node.js, pages and workers alike (node:assert does not).

export class CheckFailed extends Error {}

/** Fails with `message` unless `condition`. */
export function ok(condition, message = "expected a true condition") {
  if (!condition) throw new CheckFailed(message);
}

/** Fails unless `actual` and `expected` are the same value (Object.is). */
export function equal(actual, expected, message = "") {
  if (!Object.is(actual, expected)) {
    throw new CheckFailed(`${message} expected ${show(expected)}, got ${show(actual)}`.trim());
  }
}

/** Fails unless `actual` and `expected` are equal as JSON with sorted keys. */
export function same(actual, expected, message = "") {
  if (canonical(actual) !== canonical(expected)) {
    throw new CheckFailed(`${message} expected ${canonical(expected)}, got ${canonical(actual)}`.trim());
  }
}

/** Awaits `work` (a promise or a function returning one), which must fail; returns its error. */
export async function rejects(work, message = "expected a failure") {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (error) {
    return error;
  }
  throw new CheckFailed(message);
}

/** Calls `work`, which must throw synchronously; returns what it threw. */
export function throws(work, message = "expected a throw") {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new CheckFailed(message);
}

/** Waits until `condition()` holds (polling), or fails after `ms`. */
export async function eventually(condition, message, ms = 3000) {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new CheckFailed(`timed out: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v);
}

function show(value) {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Whether `word` stands in `text` as plaintext: somewhere not inside a run of base64 (or
 * base64url) characters. Ciphertext is base64, and a short word such as a first name turns up
 * inside random base64 now and then, so a plain `includes` would fail by chance.
 */
export function holdsPlaintext(text, word) {
  const base64 = /[A-Za-z0-9+/=_-]/;
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    const before = text[at - 1];
    const after = text[at + word.length];
    if (!(before && base64.test(before)) && !(after && base64.test(after))) return true;
  }
  return false;
}
