// Personal data through the public API, in every runtime of the behaviour suite: declared
// fields are sealed where the store keeps events (read straight from IndexedDB in browsers),
// readable through the API, and redacted on every read path after `forgetSubject`.
import { equal, holdsPlaintext, ok, rejects, same } from "./check.mjs";

/** A delivery for a customer whose name, phone and address are personal. */
export const deliveryAggregate = {
  initialState: () => ({ booked: false, slot: null }),
  decide(state, command) {
    if (command.type === "Book") {
      const { type, ...data } = command;
      return [{ type: "DeliveryBooked", data }];
    }
    if (!state.booked) throw new Error("not booked");
    return [{ type: "DeliveryRescheduled", data: { slot: command.slot } }];
  },
  evolve(state, event) {
    return event.type === "DeliveryBooked" ? { ...event.data, booked: true } : { ...state, slot: event.data.slot };
  },
  personalData: { DeliveryBooked: { subject: "customerId", fields: ["customerName", "phone", "address.street"] } },
};

/** One document per delivery, copying the personal fields. */
export const deliveriesProjection = {
  indexes: ["customerId"],
  apply(event, view) {
    const id = event.stream.slice("Delivery-".length);
    if (event.type === "DeliveryBooked") {
      const { customerId, customerName, phone, address, slot } = event.data;
      view.put(id, { customerId, customerName, phone, street: address.street, slot });
    } else if (event.type === "DeliveryRescheduled") {
      view.put(id, { ...view.get(id), slot: event.data.slot });
    }
  },
};

const book = (customerId, customerName, phone) =>
  ({ type: "Book", customerId, customerName, phone, address: { street: `${customerName} Street 1`, city: "Lyon" }, slot: "monday" });

/** Every record of every object store of IndexedDB database `name`, as JSON text per store. */
export async function rawDatabase(name) {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const stores = {};
  for (const storeName of db.objectStoreNames) {
    const request = db.transaction(storeName).objectStore(storeName).getAll();
    stores[storeName] = JSON.stringify(await new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  }
  db.close();
  return stores;
}

const browser = () => typeof indexedDB !== "undefined";
let databases = 0;

export const personalCases = [
  {
    name: "personal data is sealed in storage, readable through the API, and forgotten on every read path",
    async run(t) {
      const name = `personal-${Date.now()}-${databases++}-${Math.random().toString(36).slice(2)}`;
      const store = await t.open({ name, aggregates: { Delivery: deliveryAggregate }, projections: { deliveries: deliveriesProjection } });
      const booked = await store.execute("Delivery", "d1", book("c1", "Ada", "555-0101"));
      equal(booked.events[0].data.customerName, "Ada");
      await store.execute("Delivery", "d2", book("c2", "Bob", "555-0202"));
      equal((await store.load("Delivery", "d1")).state.phone, "555-0101");
      equal((await store.history("Delivery", "d1"))[0].data.address.street, "Ada Street 1");
      equal((await store.history("Delivery", "d1"))[0].data.address.city, "Lyon", "undeclared fields stay");
      equal((await store.get("deliveries", "d1")).customerName, "Ada");
      if (browser() && t.raw !== false) {
        const raw = await rawDatabase(name);
        for (const where of ["events", "outbox", "snapshots"]) {
          ok(!holdsPlaintext(raw[where], "Ada") && !holdsPlaintext(raw[where], "555-0101"), `${where} holds plaintext: ${raw[where]}`);
        }
        ok(raw.events.includes("$enc") && raw.events.includes("Lyon"), "sealed fields and readable ones in events");
      }

      const changes = [];
      const stop = store.onChange((change) => changes.push(change));
      await store.forgetSubject("c1");
      stop();
      ok(changes.length >= 1, "onChange heard of the forget");
      const state = (await store.load("Delivery", "d1")).state;
      same([state.customerName, state.phone, state.address.street, state.address.city, state.customerId],
        [t.lib.REDACTED, t.lib.REDACTED, t.lib.REDACTED, "Lyon", "c1"]);
      equal((await store.history("Delivery", "d1"))[0].data.phone, t.lib.REDACTED);
      same(await store.get("deliveries", "d1"),
        { customerId: "c1", customerName: t.lib.REDACTED, phone: t.lib.REDACTED, street: t.lib.REDACTED, slot: "monday" });
      equal((await store.get("deliveries", "d2")).customerName, "Bob", "another subject stays");
      equal((await store.load("Delivery", "d2")).state.phone, "555-0202");
      await store.execute("Delivery", "d1", { type: "Reschedule", slot: "friday" });
      equal((await store.get("deliveries", "d1")).slot, "friday", "decisions go on");
      if (browser()) {
        const raw = JSON.stringify(await rawDatabase(name));
        ok(!holdsPlaintext(raw, "Ada") && !holdsPlaintext(raw, "555-0101"), "a forgotten subject's data is nowhere in the database");
        ok(raw.includes("Bob"), "the other subject's read model is still there");
      }
      await store.close();
    },
  },
  {
    name: "personal data declarations are checked, and a tampered value rejects with a CryptoError",
    async run(t) {
      const bad = { ...deliveryAggregate, personalData: { DeliveryBooked: { subject: "customerId", fields: ["customerId"] } } };
      const refused = await rejects(t.open({ aggregates: { Delivery: bad } }));
      ok(refused instanceof t.lib.ValidationError && refused.message.includes("subject"), `${refused}`);
      const shapeless = { ...deliveryAggregate, personalData: { DeliveryBooked: { fields: ["phone"] } } };
      ok((await rejects(t.open({ aggregates: { Delivery: shapeless } }))) instanceof t.lib.ValidationError);
      const remote = await rejects(t.open({ storage: "remote", sync: { url: "http://127.0.0.1:9" }, aggregates: { Delivery: deliveryAggregate } }));
      ok(remote instanceof t.lib.ValidationError && remote.message.includes("personalData"), `remote: ${remote}`);
      if (!browser()) return;
      const name = `tamper-${Date.now()}-${databases++}-${Math.random().toString(36).slice(2)}`;
      const store = await t.open({ name, aggregates: { Delivery: deliveryAggregate } });
      await store.execute("Delivery", "d1", book("c1", "Ada", "555-0101"));
      await tamperFirstEvent(name);
      const error = await rejects(store.load("Delivery", "d1"));
      ok(error instanceof t.lib.CryptoError && error.code === "crypto", `tampered: ${error}`);
      const refusedCommand = await rejects(store.execute("Delivery", "d1", { type: "Reschedule", slot: "x" }));
      equal(refusedCommand.code, "crypto");
      equal((await store.history("Delivery", "d1").catch((e) => e)).code, "crypto");
      await store.close();
    },
  },
  {
    name: "a secret seals the key store and read models at rest: the wrong secret or none cannot read personal data",
    async run(t) {
      if (!browser()) {
        const memory = await rejects(t.open({ storage: "memory", secret: "s", aggregates: { Delivery: deliveryAggregate } }));
        ok(memory instanceof t.lib.ValidationError && memory.message.includes("secret"), `${memory}`);
        return;
      }
      const name = `at-rest-${Date.now()}-${databases++}-${Math.random().toString(36).slice(2)}`;
      const options = (secret) => ({
        name,
        aggregates: { Delivery: deliveryAggregate },
        projections: { deliveries: deliveriesProjection },
        ...(secret ? { secret } : {}),
      });
      const store = await t.open(options("correct horse"));
      await store.execute("Delivery", "d1", book("c1", "Ada", "555-0101"));
      await store.execute("Delivery", "d1", { type: "Reschedule", slot: "tuesday" });
      await store.close();
      const raw = await rawDatabase(name);
      const record = JSON.parse(raw.meta).find((r) => r.key === "keys");
      ok(record.body.includes("$enc") && !record.body.includes("\"keys\""), `the key store is sealed: ${record.body}`);
      const salt = JSON.parse(raw.meta).find((r) => r.key === "at-rest-salt");
      equal(atob(salt.value).length, 16, "the database has a random salt of its own");
      ok(JSON.parse(raw.docs).length === 1 && JSON.parse(raw.undo).length >= 1, "a document and undo records are stored");
      for (const [storeName, text] of Object.entries(raw)) {
        const plaintexts = ["Ada", "555-0101", ...(["docs", "undo"].includes(storeName) ? ["tuesday"] : [])];
        for (const plain of plaintexts) {
          ok(!text.includes(plain), `${storeName} holds ${plain} in the clear: ${text.slice(0, 400)}`);
        }
      }
      for (const secret of ["wrong horse", null]) {
        const error = await rejects(t.open(options(secret)));
        ok(error instanceof t.lib.CryptoError, `secret ${secret}: ${error}`);
      }
      const again = await t.open(options("correct horse"));
      equal((await again.load("Delivery", "d1")).state.customerName, "Ada");
      const [delivery] = (await again.query("deliveries", { index: "customerId", equals: "c1" })).docs;
      same({ name: delivery.doc.customerName, slot: delivery.doc.slot }, { name: "Ada", slot: "tuesday" });
      same((await again.get("deliveries", "d1")).phone, "555-0101");
      await again.close();
    },
  },
];

/** Changes one character of the sealed phone number of the first stored event (the first event
 * of the first run record). */
async function tamperFirstEvent(name) {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const events = db.transaction("events", "readwrite").objectStore("events");
  const cursor = await new Promise((resolve) => { events.openCursor().onsuccess = (e) => resolve(e.target.result); });
  const record = cursor.value;
  const run = JSON.parse(record.body);
  const c = run[0].data.phone.c;
  run[0].data.phone.c = (c[0] === "A" ? "B" : "A") + c.slice(1);
  record.body = JSON.stringify(run);
  await new Promise((resolve, reject) => {
    const request = cursor.update(record);
    request.onsuccess = resolve;
    request.onerror = () => reject(request.error);
  });
  db.close();
}
