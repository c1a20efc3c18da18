// The demo's catalogue: a few customers and products, registered through commands on first
// start. Their ids are fixed and registering an existing entry with the same details writes
// nothing, so two reps (or two devices) seeding at once end with one copy of each.

/** The shops the reps visit. */
export const CUSTOMERS = [
  { id: "c-alder", name: "Alder Hardware", city: "Galway" },
  { id: "c-birch", name: "Birch & Daughters", city: "Cork" },
  { id: "c-cedar", name: "Cedar Garden Centre", city: "Limerick" },
  { id: "c-dunmore", name: "Dunmore Farm Supplies", city: "Kilkenny" },
  { id: "c-elm", name: "Elm Street Grocers", city: "Dublin" },
];

/** The catalogue, prices in cents. */
export const PRODUCTS = [
  { id: "p-gloves", name: "Work gloves", unitPrice: 1250 },
  { id: "p-hose", name: "Garden hose, 25 m", unitPrice: 3490 },
  { id: "p-seeds", name: "Seed mix, 1 kg", unitPrice: 890 },
  { id: "p-shears", name: "Pruning shears", unitPrice: 2190 },
  { id: "p-twine", name: "Jute twine", unitPrice: 450 },
  { id: "p-wheelbarrow", name: "Wheelbarrow", unitPrice: 8900 },
];

/** Registers every customer and product this device does not know yet; resolves to the count
 * of commands that wrote something. */
export async function seedCatalogue(store) {
  let written = 0;
  const entries = [
    ...CUSTOMERS.map(({ id, name, city }) => ["Customer", "customers", id, { type: "RegisterCustomer", name, city }]),
    ...PRODUCTS.map(({ id, name, unitPrice }) => ["Product", "products", id, { type: "RegisterProduct", name, unitPrice }]),
  ];
  for (const [aggregate, projection, id, command] of entries) {
    if (await store.get(projection, id)) continue;
    const result = await store.execute(aggregate, id, command, { idempotencyKey: `seed-${id}`, correlationId: "seed" });
    if (result.events.length > 0) written += 1;
  }
  return written;
}
