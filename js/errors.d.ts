// Hand-written types of the fieldstream package's error classes (`js/errors.js`) and of the
// codes they carry; `index.d.ts` re-exports every name declared here.

/** The codes of the errors fieldstream itself reports (a `DomainError` carries the domain's own
 * code instead). */
export type ErrorCode =
  | "conflict"
  | "invalid_input"
  | "not_found"
  | "storage"
  | "storage_full"
  | "codec"
  | "network"
  | "unauthorized"
  | "crypto"
  | "internal";

/** The base of every fieldstream error. A `FieldstreamError` of code `"internal"` reports a bug
 * in fieldstream itself (a Rust panic): every call in flight rejects with it, and so does every
 * later call, until the page or process starts again. */
export declare class FieldstreamError extends Error {
  constructor(message: string, code?: string, options?: ErrorOptions);
  /** A stable machine code. */
  code: string;
  /** The failure under this error, when there is one: the `DOMException` of IndexedDB
   * (`name` such as `"ConstraintError"` or `"QuotaExceededError"`), the `TypeError` of a
   * `fetch` that got no answer, `{ status, body }` of an HTTP answer not acted on, or an
   * `Error` describing a parse failure. */
  cause?: unknown;
}
/** A refusal decided by the domain, with the domain's own code. */
export declare class DomainError extends FieldstreamError {
  constructor(code: string, message?: string, options?: ErrorOptions);
}
/** The stream was not at the expected version. */
export declare class ConflictError extends FieldstreamError {
  constructor(message: string, details?: { stream?: string; expected?: number | string; actual?: number }, options?: ErrorOptions);
  code: "conflict";
  stream: string;
  expected: number | string;
  actual: number;
}
/** Bad input; nothing was written. */
export declare class ValidationError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
  code: "invalid_input";
}
/** Storage failed (`storage`) or is full (`storage_full`). */
export declare class StorageError extends FieldstreamError {
  constructor(message: string, code?: "storage" | "storage_full", options?: ErrorOptions);
}
/** The sync server was not reached. */
export declare class NetworkError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
}
/** The sync server refused the credentials. */
export declare class UnauthorizedError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
}
/** Something asked for does not exist. */
export declare class NotFoundError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
}
/** A value could not be encoded or decoded. */
export declare class CodecError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
}
/** Personal data did not decrypt (wrong key, moved or tampered ciphertext, a key not held here);
 * nothing was written. */
export declare class CryptoError extends FieldstreamError {
  constructor(message: string, options?: ErrorOptions);
  code: "crypto";
}
