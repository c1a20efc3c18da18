// The field-sales app's entry: opens the store (IndexedDB, syncing with the server that serves
// the page), seeds the catalogue, mounts the views, and registers the service worker that keeps
// the app shell available offline.
import { open } from "fieldstream";
import { domain } from "./domain.js";
import { notify } from "./dom.js";
import { mountInbox } from "./inbox.js";
import { mountOrderDetail } from "./order.js";
import { mountOrderForm, mountOrderLists } from "./orders.js";
import { seedCatalogue } from "./seed.js";
import { mountReadModels, mountStatus } from "./status.js";

/** The customers and products, kept current by two live queries; `onChange` listeners run at
 * once and after every change. */
function followCatalogue(store) {
  const customers = new Map();
  const products = new Map();
  const listeners = new Set();
  const changed = () => listeners.forEach((listener) => listener());
  const follow = (projection, into) => store.subscribe(projection, { index: "name", range: [null, null], limit: 1000 }, (page) => {
    into.clear();
    for (const { doc } of page.docs) into.set(doc.id, doc);
    changed();
  });
  follow("customers", customers);
  follow("products", products);
  return {
    customers: () => [...customers.values()],
    products: () => [...products.values()],
    customer: (id) => customers.get(id),
    product: (id) => products.get(id),
    productMap: () => products,
    onChange(listener) {
      listeners.add(listener);
      listener();
    },
  };
}

/** Registers `sw.js`, which caches the app shell (see that file). */
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("./sw.js");
  } catch (error) {
    console.warn("field sales: no service worker, so no offline reload", error);
  }
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seeds the catalogue, after a first sync when online (so entries another device registered
 * arrive first and nothing is registered twice); a failed attempt is tried again a few times,
 * then reported, and the app goes on without what is missing. */
async function seed(store) {
  for (let attempt = 1; ; attempt++) {
    try {
      if (navigator.onLine) await Promise.race([store.sync().catch(() => {}), delay(3000)]);
      await seedCatalogue(store);
      return;
    } catch (error) {
      if (attempt === 4) {
        notify(`The catalogue could not be set up: ${error?.message ?? error}`);
        return;
      }
      await delay(250 * 2 ** attempt);
    }
  }
}

/** Starts the app. */
async function main() {
  const store = await open({ name: "field-sales", ...domain, sync: { url: location.origin } });
  const app = {
    store,
    catalogue: followCatalogue(store),
    selected: new URLSearchParams(location.hash.slice(1)).get("order"),
    select(id) {
      app.selected = id;
      history.replaceState(null, "", `#order=${encodeURIComponent(id)}`);
      app.refreshDetail();
      app.refreshLists();
      document.querySelector("#detail").scrollIntoView?.({ block: "nearest", behavior: "smooth" });
    },
  };
  document.querySelector("#device").textContent = `device ${store.clientId.slice(0, 8)}`;
  mountStatus(document.querySelector("#status"), store);
  mountReadModels(document.querySelector("#read-models"), store);
  app.refreshInbox = mountInbox(document.querySelector("#inbox"), app);
  app.refreshLists = mountOrderLists(document.querySelector("#lists"), app);
  mountOrderForm(document.querySelector("#order-form"), app);
  app.refreshDetail = mountOrderDetail(document.querySelector("#detail"), app);
  window.fieldSales = app;
  await seed(store);
  await app.refreshDetail();
  document.body.dataset.ready = "true";
  registerServiceWorker();
}

main().catch((error) => {
  console.error(error);
  document.body.dataset.ready = "failed";
  notify(`The app could not start: ${error?.message ?? error}`);
});
