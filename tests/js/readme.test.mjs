// The README's JavaScript quick start, copied into a new file, runs as written against the
// built package (imported by name, as a user's file would).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("the README's JavaScript quick start runs as written", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The Order example in JavaScript"));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code?.includes("open("), "the section holds the quick start");
  const dir = join(root, "target", "readme");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "quick-start.mjs");
  writeFileSync(file, code);
  const logged = [];
  const log = console.log;
  console.log = (...args) => logged.push(args.join(" "));
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
  }
  assert.deepEqual(logged, ["Order-1001 0 1"], "the expected-version conflict is reported as the README shows");
});
