// Helpers for starting `fieldstream-server` as a child process, shared by `npm start`, the
// tests and the benchmarks: a free loopback port, and waiting until the server answers.
import { createServer } from "node:net";

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves when `origin`/health answers, or rejects when `child` exits first. */
export async function healthy(origin, child) {
  let exited = child.exitCode ?? child.signalCode;
  child.once("exit", (code, signal) => { exited = signal ?? code; });
  for (;;) {
    if (exited !== null) throw new Error(`fieldstream-server exited (${exited}) before it answered`);
    try {
      if ((await fetch(`${origin}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
