// The status bar: online or offline, commands waiting to sync, the last sync time, a sync
// button, and a progress bar while a queue drains; all from `store.onStatus`.
import { h, notify } from "./dom.js";
import { time } from "./words.js";

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
