// Pages of the benchmark scenarios: bench/page.html with one module of bench/browser/ loaded
// (`?m=<module>`), in a browser context the caller owns, and calls into it.

/** Opens `path` of `origin` in a new page of `context`; waits for `window.ready`. */
export async function openIn(context, origin, path) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${origin}${path}`);
  await page.waitForFunction(() => window.ready === true || window.failed !== undefined, null, { timeout: 60_000 });
  const failed = await page.evaluate(() => window.failed);
  if (failed) throw new Error(`page failed to start: ${failed}`);
  return { page, errors };
}

/** Calls `window.bench[fn](args)` in `page`. */
export const call = (page, fn, args) => page.evaluate(([f, a]) => window.bench[f](a), [fn, args]);

let databases = 0;
/** A database name no run used before. */
export const fresh = (label) => `bench-${label}-${Date.now()}-${databases++}`;
