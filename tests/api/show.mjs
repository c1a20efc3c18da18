// A show with a fixed number of seats, for the contention tests: `BookSeat` books a free seat
// while seats are left, and is refused with `seat_taken` or `sold_out` otherwise. Many writers
// booking distinct seats of one show at once all write to the same stream.

/** The Show aggregate with `capacity` seats; `onConflict`, when given, is its conflict policy. */
export function showAggregate(DomainError, { capacity, onConflict } = {}) {
  return {
    initialState: () => ({ seats: [] }),
    decide(state, command) {
      if (command.type !== "BookSeat") throw new DomainError("unknown_command", `unknown command ${command.type}`);
      if (state.seats.includes(command.seat)) throw new DomainError("seat_taken", `seat ${command.seat} is taken`);
      if (state.seats.length >= capacity) throw new DomainError("sold_out", `all ${capacity} seats are booked`);
      return [{ type: "SeatBooked", data: { seat: command.seat, by: command.by } }];
    },
    evolve(state, event) {
      return event.type === "SeatBooked" ? { seats: [...state.seats, event.data.seat] } : state;
    },
    ...(onConflict ? { onConflict } : {}),
  };
}

/** What a stream of a show must look like after bookings: versions 1, 2… with no gap, each
 * event id and seat once; returns the seats booked. */
export function checkShowStream(events) {
  const problems = [];
  events.forEach((event, n) => {
    if (event.version !== n + 1) problems.push(`event ${n} has version ${event.version}`);
    if (event.type !== "SeatBooked") problems.push(`event ${n} is a ${event.type}`);
  });
  const ids = new Set(events.map((event) => event.id));
  if (ids.size !== events.length) problems.push("an event id is there twice");
  const seats = events.map((event) => event.data.seat);
  if (new Set(seats).size !== seats.length) problems.push("a seat is booked twice");
  if (problems.length > 0) throw new Error(problems.join("; "));
  return seats;
}
