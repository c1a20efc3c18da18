// The smoke mode's assertion (and the real run's): every arm of every scenario that ran did
// its repetitions. Never a speed.

/** Fails the run unless every arm of every scenario in `results` ran `sizes`' repetitions. */
export function assertEveryArmRan(results, sizes) {
  const problems = [];
  const expect = (label, arms, names, reps) => {
    for (const arm of names) if (arms?.[arm]?.runs !== reps) problems.push(`${label}: ${arm}`);
  };
  for (const row of results.scenario1 ?? []) {
    if (row.skipped.length > 0) problems.push(`scenario 1 ${row.perCommand}/command: ${row.skipped.join(", ")} skipped`);
    expect(`scenario 1 ${row.perCommand}/command`, row.arms, ["raw", "dexie", "fieldstream", "sealed", "layout"], sizes.browser.reps);
  }
  for (const row of results.scenario1strict ?? []) {
    expect(`scenario 1 strict ${row.perCommand}/command`, row.arms, ["raw", "dexie", "fieldstream"], sizes.browser.reps);
    for (const [arm, s] of Object.entries(row.arms)) {
      if (s.durability !== "strict") problems.push(`scenario 1 strict: ${arm} ran with ${s.durability} durability`);
    }
  }
  if (results.scenario1realistic) {
    expect("scenario 1 realistic", results.scenario1realistic.arms, ["raw", "dexie", "fieldstream"], sizes.browser.reps);
  }
  if (results.scenario2) expect("scenario 2", results.scenario2.arms, ["raw", "dexie", "fieldstream"], sizes.browser.reps);
  if (results.scenario2strict) {
    expect("scenario 2 strict", results.scenario2strict.arms, ["raw", "dexie", "fieldstream"], sizes.browser.reps);
    for (const [arm, s] of Object.entries(results.scenario2strict.arms)) {
      if (s.durability !== "strict") problems.push(`scenario 2 strict: ${arm} ran with ${s.durability} durability`);
    }
  }
  if (results.scenario3) {
    const names = ["raw", "dexie", ...sizes.load.intervals.map((every) => `fieldstream/${every === 0 ? "off" : every}`)];
    expect("scenario 3", results.scenario3.arms, names, sizes.load.reps);
  }
  if (results.scenario4) expect("scenario 4", results.scenario4.arms, ["raw", "dexie", "fieldstream"], sizes.rebuild.reps);
  if (results.scenario5) expect("scenario 5", results.scenario5.arms, ["load", "history", "json", "js"], sizes.crossing.reps);
  if (results.scenario6) {
    if (results.scenario6.cells.length !== sizes.drain.batches.length) problems.push("scenario 6: a batch size is missing");
    for (const cell of results.scenario6.cells) {
      expect(`scenario 6 batch ${cell.batch}`, cell.arms, ["raw", "fieldstream"], sizes.drain.reps);
      if (cell.check.lost !== 0 || cell.check.duplicated !== 0) problems.push(`scenario 6 batch ${cell.batch}: lost or duplicated events`);
    }
  }
  for (const cell of results.scenario7?.cells ?? []) {
    expect(`scenario 7 ${cell.backend} ${cell.writers}w`, cell.arms, ["server", "backend", "raw-ordered", "raw"], sizes.server.reps);
  }
  for (const s of results.scenario7?.subscribers ?? []) {
    const expected = s.subscribers * s.burst * sizes.server.subscriberReps;
    if (s.deliveries !== expected) problems.push(`scenario 7 ${s.backend} subscribers: ${s.deliveries} of ${expected}`);
  }
  if (results.scenario7 && results.scenario7.cells.length !== 2 * sizes.server.appendCells.length) {
    problems.push("scenario 7: a backend or writer count is missing");
  }
  if (results.scenario8) expect("scenario 8", results.scenario8.arms, ["raw", "dexie", "fieldstream"], sizes.cold.reps);
  if (results.scenario9) {
    const files = results.scenario9.sets.flatMap((set) => set.files);
    if (results.scenario9.sets.length !== 2) problems.push("scenario 9: a set is missing");
    if (!files.every((file) => file.raw > 0 && file.brotli > 0)) problems.push("scenario 9: an empty file");
  }
  if (results.scenario10) {
    if (results.scenario10.rows.length !== sizes.memory.logs.length) problems.push("scenario 10: a log size is missing");
    for (const row of results.scenario10.rows) expect(`scenario 10 ${row.total}`, row.arms, ["raw", "fieldstream"], sizes.memory.reps);
  }
  if (problems.length > 0) throw new Error(`arms that did not run: ${problems.join("; ")}`);
}
