// Hand-written types of the `fieldstream/react` entry: hooks built on React's
// `useSyncExternalStore`. Each returns `undefined` while there is no store or nothing has loaded
// yet, keeps the same object until the value changes, and throws (to the nearest error boundary)
// an error the store reported for it.
import type { Loaded, Page, ProjectionStatus, Query, Store, SyncStatus } from "./index.js";

/** A store, or nothing yet (while `open()` is still resolving). */
export type MaybeStore = Store | null | undefined;

/** The live result of `query` on read model `projection`: the current page, `undefined` while
 * loading. A spec written inline each render keeps its subscription (it is keyed by its JSON). */
export function useQuery<D = any>(store: MaybeStore, projection: string, query: Query | null | undefined): Page<D> | undefined;
/** The live document under `key` of read model `projection`: `null` when there is none,
 * `undefined` while loading. */
export function useQuery<D = any>(store: MaybeStore, projection: string, query: { key: string }): D | null | undefined;

/** The aggregate's `{ state, version }`, read again after a command through this store, a sync
 * round or another tab's commit that may concern it; `undefined` while loading. */
export function useAggregate<S = any>(store: MaybeStore, aggregate: string, id: string | null | undefined): Loaded<S> | undefined;

/** The store's sync status, re-rendering only when one of its fields changed; `undefined`
 * without a store. */
export function useSyncStatus(store: Store): SyncStatus;
export function useSyncStatus(store: MaybeStore): SyncStatus | undefined;

/** Where every projection of the store stands (`store.projections()`), read again when the
 * store says projections or aggregates may have changed; re-renders only when a status really
 * changed. `undefined` while loading. */
export function useProjectionStatus(store: MaybeStore): ProjectionStatus[] | undefined;
/** Where projection `name` stands; re-renders only when its own status changed. Throws a
 * `ValidationError` (to the nearest error boundary) when the store has no such projection. */
export function useProjectionStatus(store: MaybeStore, name: string): ProjectionStatus | undefined;
