// The error classes of the fieldstream package. Every error the engine reports is an instance
// of one of them (`err instanceof ConflictError`, `err instanceof FieldstreamError`), made by
// `makeError`, which the entries register with the WebAssembly module. Where a lower layer's
// failure lies under an error (the DOMException of IndexedDB, the TypeError of a failed fetch,
// an HTTP answer as `{ status, body }`, a parse error) it is the standard `cause`.

/** The base of every fieldstream error; `code` is a stable machine code. */
export class FieldstreamError extends Error {
  constructor(message, code = "fieldstream", options) {
    super(message, options);
    this.name = "FieldstreamError";
    this.code = code;
  }
}

/** A refusal decided by the domain; `code` is the domain's own (`order_not_payable`). */
export class DomainError extends FieldstreamError {
  constructor(code, message = code, options) {
    super(message, code, options);
    this.name = "DomainError";
  }
}

/** The stream was not at the expected version. */
export class ConflictError extends FieldstreamError {
  constructor(message, { stream, expected, actual } = {}, options) {
    super(message, "conflict", options);
    this.name = "ConflictError";
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Bad input (an unknown aggregate, a malformed command or option); nothing was written. */
export class ValidationError extends FieldstreamError {
  constructor(message, options) {
    super(message, "invalid_input", options);
    this.name = "ValidationError";
  }
}

/** The storage failed (`storage`) or is full (`storage_full`); nothing of the write was kept. */
export class StorageError extends FieldstreamError {
  constructor(message, code = "storage", options) {
    super(message, code, options);
    this.name = "StorageError";
  }
}

/** The sync server could not be reached, or did not answer, after every retry. */
export class NetworkError extends FieldstreamError {
  constructor(message, options) {
    super(message, "network", options);
    this.name = "NetworkError";
  }
}

/** The sync server refused the credentials. */
export class UnauthorizedError extends FieldstreamError {
  constructor(message, options) {
    super(message, "unauthorized", options);
    this.name = "UnauthorizedError";
  }
}

/** Something asked for does not exist (such as a version past a stream's end). */
export class NotFoundError extends FieldstreamError {
  constructor(message, options) {
    super(message, "not_found", options);
    this.name = "NotFoundError";
  }
}

/** A stored value could not be encoded or decoded. */
export class CodecError extends FieldstreamError {
  constructor(message, options) {
    super(message, "codec", options);
    this.name = "CodecError";
  }
}

/** Personal data did not decrypt (wrong key, moved or tampered ciphertext, a key not held
 * here) or could not be encrypted; nothing was written. */
export class CryptoError extends FieldstreamError {
  constructor(message, options) {
    super(message, "crypto", options);
    this.name = "CryptoError";
  }
}

/** Makes the error the engine reports as `name` with `details` (`code`, conflict fields, and
 * `cause`, the failure under it, when there is one). */
export function makeError(name, message, details) {
  const options = "cause" in details ? { cause: details.cause } : undefined;
  switch (name) {
    case "DomainError": return new DomainError(details.code, message, options);
    case "ConflictError": return new ConflictError(message, details, options);
    case "ValidationError": return new ValidationError(message, options);
    case "StorageError": return new StorageError(message, details.code, options);
    case "NetworkError": return new NetworkError(message, options);
    case "UnauthorizedError": return new UnauthorizedError(message, options);
    case "NotFoundError": return new NotFoundError(message, options);
    case "CodecError": return new CodecError(message, options);
    case "CryptoError": return new CryptoError(message, options);
    default: return new FieldstreamError(message, details.code, options);
  }
}
