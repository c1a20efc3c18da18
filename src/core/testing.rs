//! Given/when/then tests for aggregates: given past events, when a command, then these events
//! or this refusal. Pure and synchronous: no store, no engine.
//!
//! ```
//! use fieldstream::core::testing::given;
//! use fieldstream::example::{Order, OrderCommand, OrderEvent};
//!
//! given::<Order>([])
//!     .when(&OrderCommand::ShipOrder { tracking_number: "T1".into() })
//!     .then_refused("order_not_shippable");
//! ```

use std::fmt::Debug;

use crate::core::{Aggregate, DomainError};

/// An aggregate built from past events, waiting for a command.
pub struct Given<A: Aggregate> {
    state: A,
}

/// The outcome of deciding a command, to assert on.
pub struct Then<A: Aggregate> {
    outcome: Result<Vec<A::Event>, DomainError>,
}

/// Starts a test from the aggregate's past events.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let mut state = A::default();
    for event in events {
        state.evolve(&event);
    }
    Given { state }
}

impl<A: Aggregate> Given<A> {
    /// Decides `command` on the state the past events built.
    pub fn when(self, command: &A::Command) -> Then<A> {
        Then {
            outcome: self.state.decide(command),
        }
    }

    /// The state the past events built.
    pub fn state(&self) -> &A {
        &self.state
    }
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq + Debug,
{
    /// Asserts that the command was accepted with exactly these events.
    pub fn then_expect(self, expected: impl IntoIterator<Item = A::Event>) {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => assert_eq!(events, expected, "the command produced other events"),
            Err(error) => panic!("expected events {expected:?}, the command was refused: {error}"),
        }
    }

    /// Asserts that the command was refused with the domain error `code`.
    pub fn then_refused(self, code: &str) {
        match self.outcome {
            Ok(events) => panic!("expected refusal {code}, the command produced {events:?}"),
            Err(error) => assert_eq!(error.code, code, "refused with another code: {error}"),
        }
    }
}
