//! What the proxy does to each request: the probabilities of a [`FaultPlan`] and the seeded,
//! reproducible [`Decision`] it makes for one request.
//!
//! A decision depends only on the seed, the request's fingerprint (method, path and body) and how
//! many times that fingerprint was seen before, never on arrival order or timing. Two runs with
//! the same seed whose clients send the same requests get the same faults, however their
//! requests interleave; a resent request (same fingerprint, next attempt) gets a fresh draw.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Forwarded once, answered with the server's answer.
    Pass,
    /// Never forwarded; after the delay the connection is closed without an answer.
    DropRequest,
    /// Forwarded and handled by the server; the connection is then reset instead of answering
    /// (a lost acknowledgement). On a `text/event-stream` answer, the stream is cut after the delay.
    DropResponse,
    /// Forwarded twice at once; the caller gets one of the two answers.
    Duplicate,
    /// Answered 500 or 503 by the proxy, before forwarding or after the server answered.
    Error,
    /// Never forwarded; the connection is reset (TCP RST) at once.
    Reset,
}

/// Probabilities of each fault (the exclusive ones add up to at most 1) and of a delay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultPlan {
    /// Seed of every random choice.
    pub seed: u64,
    /// Probability of [`Fault::DropRequest`].
    pub drop_request: f64,
    /// Probability of [`Fault::DropResponse`].
    pub drop_response: f64,
    /// Probability of [`Fault::Duplicate`].
    pub duplicate: f64,
    /// Probability of [`Fault::Error`].
    pub error: f64,
    /// Probability of [`Fault::Reset`].
    pub reset: f64,
    /// Probability that an answer is held back for a random time up to `max_delay`, independent
    /// of the fault; held answers overtake each other across connections (reordering).
    pub delay: f64,
    /// The longest delay.
    pub max_delay: Duration,
    /// Probability that an event stream (a `text/event-stream` answer) that would otherwise
    /// pass is cut (reset) at a random moment up to `max_stream_life` after it started.
    pub stream_cut: f64,
    /// The longest an event stream picked by `stream_cut` lives.
    pub max_stream_life: Duration,
}

/// A [`FaultPlan`] whose probabilities are out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid fault plan: {0}")]
pub struct InvalidPlan(pub String);

/// Everything the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The fault.
    pub fault: Fault,
    /// How long the answer (or, for [`Fault::DropRequest`], the hang-up) is held back.
    #[serde(rename = "delayMs", serialize_with = "millis")]
    pub delay: Duration,
    /// For [`Fault::Error`]: the status answered, 500 or 503.
    pub error_status: u16,
    /// For [`Fault::Error`]: whether the request was forwarded (and committed) first.
    pub error_after_forward: bool,
    /// For [`Fault::Duplicate`]: which of the two answers the caller gets (0 or 1).
    pub duplicate_answer: u8,
    /// For an event stream: when to cut it, if at all (see [`FaultPlan::stream_cut`]).
    #[serde(rename = "streamCutMs", serialize_with = "maybe_millis")]
    pub stream_cut: Option<Duration>,
}

fn millis<S: serde::Serializer>(delay: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(delay.as_millis() as u64)
}

fn maybe_millis<S: serde::Serializer>(
    delay: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match delay {
        Some(delay) => millis(delay, serializer),
        None => serializer.serialize_none(),
    }
}

impl FaultPlan {
    /// A plan that injects nothing.
    pub fn none(seed: u64) -> Self {
        FaultPlan {
            seed,
            drop_request: 0.0,
            drop_response: 0.0,
            duplicate: 0.0,
            error: 0.0,
            reset: 0.0,
            delay: 0.0,
            max_delay: Duration::ZERO,
            stream_cut: 0.0,
            max_stream_life: Duration::ZERO,
        }
    }

    /// Checks that every probability is in 0..=1 and the exclusive faults add up to at most 1.
    pub fn validate(&self) -> Result<(), InvalidPlan> {
        let named = [
            ("drop_request", self.drop_request),
            ("drop_response", self.drop_response),
            ("duplicate", self.duplicate),
            ("error", self.error),
            ("reset", self.reset),
            ("delay", self.delay),
            ("stream_cut", self.stream_cut),
        ];
        if let Some((name, p)) = named.iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
            return Err(InvalidPlan(format!("{name} = {p} is not a probability")));
        }
        let exclusive: f64 = named[..5].iter().map(|(_, p)| p).sum();
        if exclusive > 1.0 + 1e-9 {
            return Err(InvalidPlan(format!(
                "the faults add up to {exclusive}, more than 1"
            )));
        }
        Ok(())
    }

    /// The decision for the `attempt`-th (0-based) request with fingerprint `key`.
    pub fn decide(&self, key: u64, attempt: u32) -> Decision {
        let mut rng = ChaCha8Rng::seed_from_u64(fnv1a(&[
            &self.seed.to_le_bytes(),
            &key.to_le_bytes(),
            &attempt.to_le_bytes(),
        ]));
        let roll: f64 = rng.random();
        let mut threshold = 0.0;
        let mut fault = Fault::Pass;
        for (candidate, p) in [
            (Fault::DropRequest, self.drop_request),
            (Fault::DropResponse, self.drop_response),
            (Fault::Duplicate, self.duplicate),
            (Fault::Error, self.error),
            (Fault::Reset, self.reset),
        ] {
            threshold += p;
            if roll < threshold {
                fault = candidate;
                break;
            }
        }
        // Every draw is made whatever the fault, so each field depends on the seed alone.
        let delayed = rng.random_bool(self.delay);
        let max_ms = self.max_delay.as_millis() as u64;
        let delay_ms = rng.random_range(0..=max_ms);
        let error_status = if rng.random_bool(0.5) { 500 } else { 503 };
        let error_after_forward = rng.random_bool(0.5);
        let duplicate_answer = u8::from(rng.random_bool(0.5));
        let cut = rng.random_bool(self.stream_cut);
        let life_ms = rng.random_range(0..=self.max_stream_life.as_millis() as u64);
        let delay = if delayed || fault == Fault::DropRequest {
            Duration::from_millis(delay_ms)
        } else {
            Duration::ZERO
        };
        Decision {
            fault,
            delay,
            error_status,
            error_after_forward,
            duplicate_answer,
            stream_cut: cut.then(|| Duration::from_millis(life_ms)),
        }
    }
}

/// 64-bit FNV-1a over `parts`: a hash that stays the same across builds and platforms, so a
/// seed reproduces a run anywhere.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> FaultPlan {
        FaultPlan {
            drop_request: 0.1,
            drop_response: 0.3,
            duplicate: 0.1,
            error: 0.1,
            reset: 0.05,
            delay: 0.2,
            max_delay: Duration::from_millis(40),
            stream_cut: 0.5,
            max_stream_life: Duration::from_millis(300),
            ..FaultPlan::none(7)
        }
    }

    #[test]
    fn the_same_seed_key_and_attempt_give_the_same_decision() {
        let (a, b) = (plan(), plan());
        for key in 0..500 {
            assert_eq!(a.decide(key, 0), b.decide(key, 0));
            assert_eq!(a.decide(key, 3), b.decide(key, 3));
        }
        let other = FaultPlan { seed: 8, ..plan() };
        assert!((0..500).any(|key| other.decide(key, 0) != a.decide(key, 0)));
        assert!((0..500).any(|key| a.decide(key, 1) != a.decide(key, 0)));
    }

    #[test]
    fn faults_come_at_their_rates() {
        let plan = plan();
        let n = 20_000u64;
        let decisions: Vec<Decision> = (0..n).map(|k| plan.decide(k, 0)).collect();
        let rate = |keep: &dyn Fn(&Decision) -> bool| {
            decisions.iter().filter(|d| keep(d)).count() as f64 / n as f64
        };
        for (fault, p) in [
            (Fault::DropRequest, 0.1),
            (Fault::DropResponse, 0.3),
            (Fault::Duplicate, 0.1),
            (Fault::Error, 0.1),
            (Fault::Reset, 0.05),
            (Fault::Pass, 0.35),
        ] {
            let got = rate(&|d| d.fault == fault);
            assert!((got - p).abs() < 0.015, "{fault:?}: {got} vs {p}");
        }
        let delayed = rate(&|d| d.fault != Fault::DropRequest && !d.delay.is_zero()) / 0.9;
        assert!((delayed - 0.2).abs() < 0.02, "delay rate {delayed}");
        assert!(
            decisions
                .iter()
                .all(|d| d.delay <= Duration::from_millis(40))
        );
        assert!(rate(&|d| d.error_status == 503) > 0.45 && rate(&|d| d.error_status == 500) > 0.45);
        let cut = rate(&|d| d.stream_cut.is_some());
        assert!((cut - 0.5).abs() < 0.02, "stream cut rate {cut}");
        assert!(
            decisions
                .iter()
                .all(|d| d.stream_cut <= Some(Duration::from_millis(300)))
        );
    }

    #[test]
    fn invalid_plans_are_refused() {
        assert!(plan().validate().is_ok());
        assert!(FaultPlan::none(1).validate().is_ok());
        let over = FaultPlan {
            drop_response: 0.9,
            ..plan()
        };
        assert!(over.validate().is_err());
        let negative = FaultPlan {
            delay: -0.1,
            ..plan()
        };
        assert!(negative.validate().is_err());
        assert!(
            FaultPlan {
                error: f64::NAN,
                ..plan()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn a_plan_of_nothing_always_passes_at_once() {
        let plan = FaultPlan::none(3);
        assert!(
            (0..1000).all(
                |k| plan.decide(k, 0).fault == Fault::Pass && plan.decide(k, 0).delay.is_zero()
            )
        );
    }
}
