// Words a sales rep understands: money, times, order names, the reasons of refused and
// rejected commands, turned from the domain's error codes into sentences, and the state of a
// read model that lags or has stopped.

const euros = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });

/** Cents as euros: 4980 → "€49.80". */
export const money = (cents) => euros.format((cents ?? 0) / 100);

/** A Unix-milliseconds time as the local time of day (with the date when not today). */
export function time(ms) {
  if (!ms) return "never";
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

/** The read models as a rep calls them. */
const readModelNames = { orders: "Order lists", customers: "Customer list", products: "Product list" };

/** A read model that lags behind the saved changes or has stopped, as one short sentence;
 * `null` while it is up to date (a `store.projections()` status in). */
export function readModelLine(status) {
  const name = readModelNames[status.name] ?? status.name;
  const changes = (n) => (n === 1 ? "1 change" : `${n} changes`);
  if (status.stopped) {
    const letter = status.deadLetters.find((candidate) => !candidate.skipped);
    const why = letter ? `: ${letter.error.message}` : "";
    return `${name} stopped at a change they could not show${why}. ${changes(status.lag)} not shown.`;
  }
  if (status.rebuild) return `${name} are being rebuilt (${status.rebuild.done} of ${status.rebuild.total}).`;
  if (status.retry) return `${name}: ${changes(status.lag)} not shown yet; trying again at ${time(status.retry.nextAt)}.`;
  if (status.lag > 0) return `${name}: ${changes(status.lag)} not shown yet.`;
  return null;
}

/** How an order is called on screen: "Order K7Q2". */
export const orderName = (id) => `Order ${id}`;

/** A command in a few words: "pay €49.80", "ship with tracking 1Z…". */
export function describeCommand(command, products = new Map()) {
  switch (command.type) {
    case "CreateOrder": return `create an order of ${command.items.length} line(s)`;
    case "AddItem": return `add ${command.quantity} × ${products.get(command.productId)?.name ?? command.productId}`;
    case "PayOrder": return `take a payment of ${money(command.amount)}`;
    case "ShipOrder": return `ship it with tracking ${command.trackingNumber}`;
    default: return command.type;
  }
}

/** What the other device did, from the events that made a command fail. */
function otherDevice(causedBy = []) {
  const types = new Set(causedBy.map((event) => event.type));
  if (types.has("OrderShipped")) return "shipped";
  if (types.has("OrderPaid")) return "paid";
  if (types.has("OrderItemAdded")) return "changed";
  return null;
}

/**
 * The reason of a rejected command (from the rejected inbox) in a rep's words, given the
 * order's current `state` when known: "Order K7Q2 was already shipped by another device."
 */
export function rejectionReason(rejected, state = null) {
  const name = orderName(rejected.id);
  const { code, message } = rejected.reason;
  const done = otherDevice(rejected.causedBy);
  switch (code) {
    case "order_not_shippable":
    case "order_not_payable":
    case "order_not_editable":
      if (done === "shipped") return `${name} was already shipped by another device.`;
      if (done === "paid") return `${name} was already paid on another device.`;
      return `${name} can no longer be changed this way: ${message}.`;
    case "payment_amount_mismatch":
      return state?.status === "Pending"
        ? `${name} was changed on another device: its total is now ${money(state.total)}, so your payment of ${money(rejected.command.amount)} was not taken.`
        : `${name} was changed on another device, so your payment of ${money(rejected.command.amount)} was not taken.`;
    case "order_exists":
      return `${name} was already created on another device.`;
    case "forbidden":
      return `The server refused this change: you may not change ${name}.`;
    default:
      return `${name}: ${message} (${code}).`;
  }
}

/** The message shown when a command is refused at once (not after sync). */
export function refusalMessage(error) {
  if (error?.name === "DomainError") {
    const known = {
      order_not_payable: "This order cannot be paid any more.",
      order_not_shippable: "Only a paid order can be shipped.",
      order_not_editable: "Items can only be added before the order is paid.",
      payment_amount_mismatch: "The payment does not match the order's total.",
      invalid_tracking: "Enter a tracking number to ship.",
      invalid_order: `The order is not complete: ${error.message}.`,
    };
    return known[error.code] ?? `Refused: ${error.message}.`;
  }
  if (error?.name === "StorageError") {
    return error.code === "storage_full" ? "This device's storage is full: nothing was saved." : `Saving failed: ${error.message}`;
  }
  return `Something went wrong: ${error?.message ?? error}`;
}
