//! The requests a drain has in flight: answered in the order they were sent, while the drain
//! does other work (storing the previous answer, pulling) in between.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;

use futures::future::LocalBoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};

/// Requests in flight, each giving an `A`, answered in sending order.
pub(super) struct Flying<'a, A> {
    queue: FuturesOrdered<LocalBoxFuture<'a, A>>,
    ready: VecDeque<A>,
}

impl<'a, A> Flying<'a, A> {
    /// Nothing in flight.
    pub(super) fn new() -> Self {
        Flying {
            queue: FuturesOrdered::new(),
            ready: VecDeque::new(),
        }
    }

    /// How many requests are in flight or answered and not yet taken.
    pub(super) fn len(&self) -> usize {
        self.queue.len() + self.ready.len()
    }

    /// Sends one more request (it runs whenever the drain awaits this queue).
    pub(super) fn push(&mut self, request: LocalBoxFuture<'a, A>) {
        self.queue.push_back(request);
    }

    /// The next answer in sending order; `None` when nothing is in flight.
    pub(super) async fn next(&mut self) -> Option<A> {
        if let Some(answer) = self.ready.pop_front() {
            return Some(answer);
        }
        self.queue.next().await
    }

    /// Runs `work` while the requests in flight go on (their answers wait in order).
    pub(super) async fn alongside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = pin!(work);
        poll_fn(|cx| {
            while let Poll::Ready(Some(answer)) = self.queue.poll_next_unpin(cx) {
                self.ready.push_back(answer);
            }
            work.as_mut().poll(cx)
        })
        .await
    }
}
