//! Quantiles of one run's samples (the orchestrator computes the ones across runs).

use serde_json::{Value, json};

/// The `q`-quantile (0–1) of `sorted` by nearest rank; 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `{p50, p95, p99, max}` of `samples` in milliseconds, rounded to microseconds.
pub fn summary(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    let round = |ms: f64| (ms * 1000.0).round() / 1000.0;
    json!({
        "p50": round(quantile(&samples, 0.50)),
        "p95": round(quantile(&samples, 0.95)),
        "p99": round(quantile(&samples, 0.99)),
        "max": round(samples.last().copied().unwrap_or(0.0)),
        "count": samples.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&samples, 0.5), 50.0);
        assert_eq!(quantile(&samples, 0.99), 99.0);
        assert_eq!(quantile(&samples, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }
}
