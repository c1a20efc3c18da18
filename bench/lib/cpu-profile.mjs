// DevTools CPU profiles summed by where the time goes, for the profiling scripts of bench/.

/** Sums a DevTools CPU profile's self time by the kind of code it ran. */
export function summarise(profile) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)));
  const kinds = {};
  const functions = {};
  for (const [id, micros] of self) {
    const { callFrame } = byNode.get(id);
    const name = callFrame.functionName || "(anonymous)";
    const url = callFrame.url;
    const kind = name === "(idle)" || name === "(program)" || name === "(garbage collector)" ? name
      : url.endsWith(".wasm") || url.includes("wasm-function") || name.startsWith("$") ? "wasm"
        : url.includes("/pkg/") ? "wasm-bindgen glue"
          : url.includes("/js/") ? "fieldstream JS"
            : url.includes("/bench/") ? "benchmark page"
              : url === "" ? "browser built-ins (IndexedDB, JSON, structured clone)" : url;
    kinds[kind] = (kinds[kind] ?? 0) + micros / 1000;
    if (kind !== "(idle)") functions[`${name} ${url.split("/").pop()}`] = (functions[`${name} ${url.split("/").pop()}`] ?? 0) + micros / 1000;
  }
  const top = Object.entries(functions).sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([name, ms]) => `${ms.toFixed(1).padStart(8)} ms  ${name}`);
  return { kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, Math.round(v)])), top };
}
