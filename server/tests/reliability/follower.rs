//! A live subscriber that survives broken connections the way a browser's `EventSource` does:
//! on any error or end it reconnects with `Last-Event-ID` set to the last position it saw.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

/// What a follower saw.
#[derive(Debug, Default)]
pub struct Followed {
    /// Every position received, in order of arrival (duplicates included, if any came).
    pub positions: Vec<u64>,
    /// How many times it had to reconnect.
    pub reconnects: u64,
}

/// Follows `/v1/subscribe` at `base` until it has seen the position `until` holds (once set).
pub async fn follow(
    base: String,
    token: String,
    mut until: watch::Receiver<Option<u64>>,
) -> Followed {
    let http = reqwest::Client::new();
    let mut followed = Followed::default();
    loop {
        let last = followed.positions.last().copied().unwrap_or(0);
        if until.borrow().is_some_and(|target| last >= target) {
            return followed;
        }
        let mut request = http.get(format!("{base}/v1/subscribe")).bearer_auth(&token);
        if last > 0 {
            request = request.header("last-event-id", last.to_string());
        }
        match request.send().await {
            Ok(response) if response.status() == 200 => {
                let mut body = response.bytes_stream();
                let mut buffer = String::new();
                loop {
                    let last = followed.positions.last().copied().unwrap_or(0);
                    if until.borrow().is_some_and(|target| last >= target) {
                        return followed;
                    }
                    let chunk = tokio::select! {
                        chunk = body.next() => chunk,
                        _ = until.changed() => continue,
                    };
                    let Some(Ok(chunk)) = chunk else { break };
                    buffer.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buffer.find("\n\n") {
                        let message: String = buffer.drain(..end + 2).collect();
                        if let Some(id) = message.lines().find_map(|l| l.strip_prefix("id: ")) {
                            followed
                                .positions
                                .push(id.trim().parse().expect("a position"));
                        }
                    }
                }
            }
            Ok(response) => {
                let status = response.status();
                assert!(
                    status.is_server_error(),
                    "a subscription refused with {status}"
                );
            }
            Err(_) => {}
        }
        followed.reconnects += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
