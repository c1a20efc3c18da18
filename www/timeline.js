// An order's timeline: every event with its time, type, the client that made it, its
// correlation id and whether the server has it yet; and a slider that replays the order's
// state at any version (`store.stateAt`), the guide's temporal debugging.
import { h } from "./dom.js";
import { orderSummary } from "./summary.js";
import { time } from "./words.js";

const shortClient = (clientId) => (clientId ? clientId.slice(0, 8) : "?");

/** What an event says worth a line of its own: the contact an order was created with. */
const detail = (event) => (event.type === "OrderCreated" && event.data.contact
  ? h("div", { class: "event-detail", "data-testid": "event-contact" }, `Contact: ${event.data.contact.name}${event.data.contact.phone ? `, ${event.data.contact.phone}` : ""}`)
  : null);

/** One event of `history()` as a timeline entry. */
function entry(event, ownClient) {
  const mine = event.metadata.clientId === ownClient;
  return h("li", { class: `event ${event.syncState}`, dataset: { version: String(event.version), sync: event.syncState }, "data-testid": "event" },
    h("div", { class: "event-head" },
      h("span", { class: "version" }, `v${event.version}`),
      h("strong", { class: "type" }, event.type),
      h("span", { class: `sync ${event.syncState}` }, event.syncState === "confirmed" ? `synced #${event.position}` : "waiting to sync"),
    ),
    h("div", { class: "event-meta" },
      h("span", { title: "When" }, time(event.metadata.occurredAt)),
      h("span", { title: event.metadata.clientId ?? "" }, mine ? "this device" : `device ${shortClient(event.metadata.clientId)}`),
      event.metadata.correlationId ? h("span", { title: "Correlation id" }, h("code", {}, event.metadata.correlationId)) : null,
    ),
    detail(event));
}

/** The timeline part of the order detail; `render` builds it, `update` refreshes it in place. */
export function mountTimeline(app) {
  const { store, catalogue } = app;
  const section = h("section", { class: "timeline", "aria-label": "Timeline" });
  let current = { id: null, version: 0 };

  /** Shows the state at `version` under the slider. */
  const replay = async (slider, label, view, history) => {
    const version = Number(slider.value);
    const { id } = current;
    const { state } = await store.stateAt("Order", id, version);
    if (id !== current.id || Number(slider.value) !== version) return;
    const event = history[version - 1];
    label.textContent = `Version ${version} of ${history.length}${event ? ` · after ${event.type}` : ""}`;
    view.dataset.version = String(version);
    view.replaceChildren(orderSummary(state, catalogue));
  };

  const fill = (id, version, history) => {
    const sameOrder = current.id === id;
    const following = !sameOrder || section.dataset.following !== "false";
    current = { id, version };
    const label = h("p", { class: "slider-label", "data-testid": "slider-label" });
    const view = h("div", { class: "replay", "data-testid": "replay" });
    const slider = h("input", {
      type: "range", min: "1", max: String(Math.max(version, 1)), step: "1", "data-testid": "slider",
      "aria-label": "Version to replay", disabled: version < 1,
    });
    const previous = section.querySelector("input[type=range]");
    slider.value = String(following || !previous ? version : Math.min(Number(previous.value), version));
    section.dataset.following = String(Number(slider.value) === version);
    slider.addEventListener("input", () => {
      section.dataset.following = String(Number(slider.value) === current.version);
      replay(slider, label, view, history);
    });
    section.replaceChildren(
      h("h3", {}, "Timeline"),
      h("ol", { class: "events" }, history.map((event) => entry(event, store.clientId))),
      h("h3", {}, "Replay"),
      slider, label, view,
    );
    if (version > 0) replay(slider, label, view, history);
  };

  return {
    render(id, version, history) {
      fill(id, version, history);
      return section;
    },
    update: fill,
  };
}
