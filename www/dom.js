// Small DOM helpers shared by the views: element creation, option lists, the notice line.

/**
 * Makes an element: `h("button", { class: "x", onclick }, "Pay")`. Attributes starting with
 * `on` become listeners, `dataset` an object of data- attributes, `null`/`false` are left out.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Fills `select` with `[value, label]` pairs, keeping the chosen value when it still exists. */
export function fillSelect(select, entries) {
  const chosen = select.value;
  select.replaceChildren(...entries.map(([value, label]) => h("option", { value }, label)));
  if (entries.some(([value]) => value === chosen)) select.value = chosen;
}

let noticeTimer;
/** Shows `text` in the notice line for a few seconds (`kind` "error" or "info"). */
export function notify(text, kind = "error") {
  const notice = document.querySelector("#notice");
  notice.textContent = text;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, 6000);
}

/** A fresh short id, such as "K7Q2" (no 0/O/1/I to misread). */
export function shortId(length = 4) {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}
