// The service worker of the field-sales app: caches the app shell (its pages, modules, styles,
// and the fieldstream package with its .wasm) when installed, and answers those files from the
// cache first, so a reload with no network still opens the app; the data lives in IndexedDB.
// The sync API (/v1/…), /health and /metrics always go to the network.
//
// `npm start` (scripts/start.mjs) writes the shell's file list and version above this comment
// as `SHELL`; a new version installs a fresh cache and removes the old one.
/* global SHELL */

const CACHE = `field-sales-${SHELL.version}`;
const NETWORK_ONLY = ["/v1/", "/v1", "/health", "/metrics"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.files.map((file) => new Request(file, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("field-sales-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (NETWORK_ONLY.some((prefix) => url.pathname === prefix || url.pathname.startsWith(prefix))) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // A page with an #order=… hash or a query is still the shell's index.html.
    const key = event.request.mode === "navigate" ? new URL("./", self.location).href : event.request;
    const cached = await cache.match(key, { ignoreSearch: true });
    if (cached) return cached;
    return fetch(event.request);
  })());
});
