// Benchmark events for the browser scenarios: records of about 300 bytes of JSON, shaped like
// the rows every arm stores ({ stream, version, id, type, data, metadata }), built before any
// clock starts.

/** An order-line payload of about 300 bytes of JSON (the same shape the server bench uses). */
export function payload(writer, sequence) {
  const data = {
    orderId: `o-${String(writer).padStart(3, "0")}-${String(sequence).padStart(6, "0")}`,
    customerId: `c-${String((writer * 7919 + sequence) % 100000).padStart(5, "0")}`,
    productId: `p-${String(sequence % 10000).padStart(4, "0")}`,
    quantity: 1 + (sequence % 9),
    unitPrice: 1990 + (sequence % 50) * 10,
    currency: "EUR",
    note: "",
  };
  data.note = "x".repeat(Math.max(0, 300 - JSON.stringify(data).length));
  return data;
}

/**
 * `total` events split into commands of `perCommand` events: command c appends versions
 * 1…perCommand of a new stream `Bench-<c>`, as the first command of a new aggregate would.
 */
export function commandRecords(total, perCommand) {
  const commands = [];
  for (let c = 0; c * perCommand < total; c++) {
    const records = [];
    for (let i = 0; i < perCommand && c * perCommand + i < total; i++) {
      records.push({
        stream: `Bench-${c}`,
        version: i + 1,
        id: crypto.randomUUID(),
        type: "ItemAdded",
        schemaVersion: 1,
        data: payload(c % 1000, c * perCommand + i),
        metadata: { correlationId: `bench-${c}` },
      });
    }
    commands.push(records);
  }
  return commands;
}
