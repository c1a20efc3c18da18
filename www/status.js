// The status bar: online or offline, commands waiting to sync, the last sync time, a sync
// button, and a progress bar while a queue drains; all from `store.onStatus`. Under it, a
// small line per read model that lags or has stopped (from `store.projections()`).
import { h, notify } from "./dom.js";
import { readModelLine, time } from "./words.js";

/** Renders the sync status of `store` into `root` and keeps it current; returns `stop`. */
export function mountStatus(root, store) {
  const connection = h("span", { class: "dot", "data-testid": "connection" });
  const pending = h("span", { class: "pill", "data-testid": "pending" });
  const last = h("span", { class: "last", "data-testid": "last-sync" });
  const progress = h("progress", { class: "progress", max: 1, value: 0, hidden: true, "data-testid": "progress" });
  const button = h("button", { type: "button", class: "secondary small", "data-testid": "sync" }, "Sync now");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const report = await store.sync();
      const parts = [`${report.pushed} sent`, `${report.pulled} received`];
      if (report.rejected) parts.push(`${report.rejected} need attention`);
      notify(`Synced: ${parts.join(", ")}.`, "info");
    } catch (error) {
      notify(`Sync failed: ${error?.message ?? error}. Your work is kept on this device.`);
    } finally {
      button.disabled = false;
    }
  });
  root.replaceChildren(connection, pending, progress, last, button);

  const render = (status) => {
    connection.textContent = status.online ? "Online" : "Offline";
    connection.dataset.online = String(status.online);
    root.dataset.pending = String(status.pending);
    pending.textContent = status.pending === 0 ? "All synced" : `${status.pending} waiting to sync`;
    pending.dataset.count = String(status.pending);
    pending.classList.toggle("waiting", status.pending > 0);
    const draining = status.syncing && status.progress.total > 1;
    progress.hidden = !draining;
    if (draining) {
      progress.max = status.progress.total;
      progress.value = status.progress.done;
      progress.title = `${status.progress.done} of ${status.progress.total} sent`;
    }
    last.textContent = `Last sync ${time(status.lastSyncAt)}`;
    last.title = status.lastError ?? "";
  };
  render(store.status());
  return store.onStatus(render);
}

/** Shows a line per read model that lags or has stopped in `root` (hidden while none does),
 * read again on each hint from the store; a stopped one gets a "Try again" button. Returns
 * `stop`. */
export function mountReadModels(root, store) {
  let asked = 0;
  const render = async () => {
    const ticket = ++asked;
    let statuses;
    try {
      statuses = await store.projections();
    } catch {
      return; // the store is closing; the next hint reads again
    }
    if (ticket !== asked) return;
    const lines = statuses.flatMap((status) => {
      const text = readModelLine(status);
      if (text === null) return [];
      const retry = status.stopped && h("button", {
        type: "button",
        class: "secondary small",
        onclick: () => store.retryProjection(status.name).then(render, (error) => notify(`${error?.message ?? error}`)),
      }, "Try again");
      return [h("p", { class: "read-model", dataset: { projection: status.name, stopped: String(status.stopped) } }, text, retry)];
    });
    root.replaceChildren(...lines);
    root.hidden = lines.length === 0;
  };
  const stops = [store.onProjections(render), store.onChange(render)];
  render();
  return () => stops.forEach((stop) => stop());
}
