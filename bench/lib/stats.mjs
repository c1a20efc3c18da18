// Statistics of the benchmark harness: quantiles by nearest rank, medians, and the ratio of two
// arms computed per pair of interleaved runs (run i of arm A against run i of arm B).

/** The q-quantile (0–1) of `values` by nearest rank; NaN when empty. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** The median (nearest rank, lower middle for an even count). */
export const median = (values) => quantile(values, 0.5);

/** p95 by nearest rank. */
export const p95 = (values) => quantile(values, 0.95);

/**
 * Per-pair ratios `a[i] / b[i]` (pairs are runs made back to back), summarised as their median,
 * min and max.
 */
export function pairedRatio(a, b) {
  const ratios = a.slice(0, b.length).map((value, i) => value / b[i]).filter(Number.isFinite);
  return {
    median: round(median(ratios), 3),
    min: round(Math.min(...ratios), 3),
    max: round(Math.max(...ratios), 3),
    pairs: ratios.length,
  };
}

/** `value` rounded to `digits` decimals (NaN stays NaN). */
export function round(value, digits = 2) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** `list` rotated left by `rep` places: repetition `rep`'s arm order, so that no arm always
 * runs first (on a cold cache) or right after the same neighbour. */
export function rotated(list, rep) {
  const shift = list.length === 0 ? 0 : rep % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}
