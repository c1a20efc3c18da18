// The package's public API: exactly the names index.d.ts declares. Every entry re-exports it
// once it has loaded the WebAssembly module for its runtime.
export {
  CodecError,
  ConflictError,
  CryptoError,
  DomainError,
  FieldstreamError,
  NetworkError,
  NotFoundError,
  StorageError,
  UnauthorizedError,
  ValidationError,
} from "./errors.js";
export { open, Store, REDACTED } from "./api.js";
