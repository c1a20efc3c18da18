// Types of read models (projections) in the fieldstream package: what a projection written in
// JavaScript declares, the view its `apply` writes through, and where a projection stands.
// Re-exported by `index.d.ts`.

import type { EventEnvelope } from "./index.js";

/** The synchronous window an `apply` reads and writes documents through. */
export interface View<D = any> {
  /** The document under `key`, or undefined. */
  get(key: string): D | undefined;
  /** Stores `doc` (any JSON value) under `key`. */
  put(key: string, doc: D): void;
  /** Removes the document under `key`. */
  delete(key: string): void;
}

/** A projection written in JavaScript: events in, keyed JSON documents out. */
export interface ProjectionDefinition<D = any> {
  /** Applies one event through `view`; must be synchronous. */
  apply: (event: EventEnvelope, view: View<D>) => void;
  /** The projection's version (default 1); raising it rebuilds the read model. */
  version?: number;
  /** Top-level document fields to index (strings and numbers are indexed). */
  indexes?: string[];
  /** "inline" (default: in the same write as the events) or "background" (after commits). */
  mode?: "inline" | "background";
  /** Background mode: events per batch (default 50). */
  batchSize?: number;
  /** When `apply` (or an upcaster) still throws after its retries: dead-letter the event and
   * "stop" there (default) or "skip" it. */
  onFailure?: "stop" | "skip";
  /** How many times an event whose `apply` throws is tried again before it is dead-lettered
   * (default 5; 0 dead-letters it at once). An inline projection's failure never fails the
   * command: the event is left to the catch-up, which retries it by itself. */
  maxRetries?: number;
  /** The delay before the first retry of a failing event, in ms, doubled for each further
   * one (default 1000). */
  backoffMs?: number;
}

/** An error as projection statuses show it. */
export interface ProjectionError {
  /** A stable code: the `DomainError`'s own code, or one of the error classes' codes. */
  code: string;
  message: string;
}

/** An event a projection failed on for good (its retries spent). */
export interface DeadLetter {
  eventId: string;
  stream: string;
  /** The event's version in its stream. */
  version: number;
  /** The event's type. */
  type: string;
  error: ProjectionError;
  /** How many times it was tried. */
  attempts: number;
  /** Whether the projection passed over it (`onFailure: "skip"` or `skipDeadLetter`);
   * otherwise the projection stopped there. */
  skipped: boolean;
}

/** A failure a projection waits to try again. */
export interface ProjectionRetry {
  /** The event that failed; `null` when the storage failed, not an event. */
  eventId: string | null;
  /** Failures so far. */
  attempts: number;
  /** When it is tried next, in Unix milliseconds (the store sets a timer for it). */
  nextAt: number;
  lastError: ProjectionError;
}

/** Where a projection (read model) stands: one per projection in `store.projections()`. */
export interface ProjectionStatus {
  name: string;
  mode: "inline" | "background";
  /** The version queries read (0 until its first build finishes). */
  version: number;
  /** Its checkpoint: the last server position folded into the read model. */
  position: number;
  /** Events stored but not yet in the read model. */
  lag: number;
  /** A build of a newer version in progress (queries read the old one meanwhile). */
  rebuild: { version: number; done: number; total: number } | null;
  /** Stopped at a dead letter: it applies nothing until `retryProjection`, `skipDeadLetter`
   * or a new version. */
  stopped: boolean;
  /** The events it failed on for good, oldest first. */
  deadLetters: DeadLetter[];
  /** A failure waiting to be tried again. */
  retry: ProjectionRetry | null;
}
