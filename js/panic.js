// Rust panics as rejected promises. A panic stops the WebAssembly module where it stands, and a
// call whose work was under way would never settle; the module reports the panic here first
// (`setPanicHandler`), so every call in flight rejects with a `FieldstreamError` of code
// "internal", and every later call rejects at once: the module cannot be trusted after a panic.
import { FieldstreamError } from "./errors.js";

let stopped = null;
const inFlight = new Set();

/** Called by the module when Rust panics, with the panic's message. */
export function reportPanic(message) {
  stopped ??= new FieldstreamError(`fieldstream stopped after an internal error (a bug: please report it): ${message}`, "internal");
  for (const reject of inFlight) reject(stopped);
  inFlight.clear();
}

/** Throws the panic's error once the module has panicked: for the synchronous calls into it. */
export function checkRunning() {
  if (stopped) throw stopped;
}

/** Runs `call` (a call into the module) and settles as its result does, or rejects with the
 * panic's error once the module has panicked. */
export function guarded(call) {
  if (stopped) return Promise.reject(stopped);
  return new Promise((resolve, reject) => {
    inFlight.add(reject);
    const settle = (finish) => (value) => {
      inFlight.delete(reject);
      finish(value);
    };
    let result;
    try {
      result = call();
    } catch (error) {
      settle(reject)(stopped ?? error);
      return;
    }
    Promise.resolve(result).then(settle(resolve), settle(reject));
  });
}
