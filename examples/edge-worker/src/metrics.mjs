// The counters the edge worker keeps, in the Prometheus text format. They live in the worker
// instance (one isolate), from its start: a fleet of instances is summed by the scraper.

const commands = new Map(); // `${command}\u0000${outcome}` → count
const errors = new Map(); // code → count
let eventsAppended = 0;
let conflictsRetried = 0;

/** Counts one command by its type and outcome ("ok" or the error's code). */
export function countCommand(command, outcome) {
  const key = `${command}\u0000${outcome}`;
  commands.set(key, (commands.get(key) ?? 0) + 1);
}

/** Counts events the server accepted. */
export function countEvents(n) {
  eventsAppended += n;
}

/** Counts a conflict that was decided again. */
export function countConflict() {
  conflictsRetried += 1;
}

/** Counts an error answered, by its code. */
export function countError(code) {
  errors.set(code, (errors.get(code) ?? 0) + 1);
}

const label = (value) => String(value).replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));

/** The counters as Prometheus text. */
export function render() {
  const lines = [
    "# HELP orders_commands_total Commands executed, by command type and outcome.",
    "# TYPE orders_commands_total counter",
    ...[...commands].map(([key, n]) => {
      const [command, outcome] = key.split("\u0000");
      return `orders_commands_total{command="${label(command)}",outcome="${label(outcome)}"} ${n}`;
    }),
    "# HELP orders_events_appended_total Events the server accepted from this worker.",
    "# TYPE orders_events_appended_total counter",
    `orders_events_appended_total ${eventsAppended}`,
    "# HELP orders_conflicts_retried_total Commands decided again after another writer changed the order first.",
    "# TYPE orders_conflicts_retried_total counter",
    `orders_conflicts_retried_total ${conflictsRetried}`,
    "# HELP orders_errors_total Error answers, by code.",
    "# TYPE orders_errors_total counter",
    ...[...errors].map(([code, n]) => `orders_errors_total{code="${label(code)}"} ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}
