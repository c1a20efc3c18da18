//! The sync driver against the real server router, one case each: a server that is
//! unreachable or rate limits, a warm aggregate state after sync replaced what it folded, and
//! the progress of a drain that commands join while it runs.

use fieldstream::core::Error;
use fieldstream::store::CommandQueue;
use fieldstream::sync::{RATE_LIMITED_WAITS, SyncConfig};

use super::devices::{Device, server};
use super::domain::{TabCommand, Tuning, lawful_tab};
use super::regressions::{EVERY_EVENT, consistent, run, tab};
use super::transport::server_log;

#[test]
fn a_sync_without_a_server_ends_with_a_network_error_and_resends_the_same_events() {
    run(async || {
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        let opened = tab(&a, "1", TabCommand::Open).await.unwrap();
        a.offline(true);
        match a.client.sync().await {
            Err(Error::Network(_)) => {}
            other => panic!("expected a network error, got {other:?}"),
        }
        assert!(!a.client.status().online, "the status says offline");
        a.offline(false);
        a.client.sync().await.unwrap();
        let log = server_log(&router).await;
        assert_eq!(
            log.iter().map(|event| event.id).collect::<Vec<_>>(),
            opened
                .events
                .iter()
                .map(|event| event.id)
                .collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_rate_limited_sync_waits_without_using_up_its_tries_and_gives_up_in_bounded_time() {
    run(async || {
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        let opened = tab(&a, "1", TabCommand::Open).await.unwrap();
        // More 429s in a row than a request has tries: each is waited out, none is a try.
        a.faults.borrow_mut().throttled = SyncConfig::default().max_attempts * 3;
        a.client.sync().await.unwrap();
        assert_eq!(a.faults.borrow().throttled, 0, "every 429 was waited out");
        assert_eq!(server_log(&router).await.len(), opened.events.len());

        tab(&a, "1", TabCommand::Add { count: 1, price: 1 })
            .await
            .unwrap();
        a.faults.borrow_mut().throttled = u32::MAX;
        match a.client.sync().await {
            Err(Error::Network(message)) => assert!(message.contains("429"), "{message}"),
            other => panic!("expected a network error, got {other:?}"),
        }
        let waited = u32::MAX - a.faults.borrow().throttled;
        assert_eq!(
            waited,
            RATE_LIMITED_WAITS + 1,
            "it gave up after a bounded number of waits"
        );
        a.faults.borrow_mut().throttled = 0;
        a.client.sync().await.unwrap();
        assert_eq!(server_log(&router).await.len(), opened.events.len() + 1);
    });
}

#[test]
fn a_warm_state_is_used_only_while_its_stream_still_ends_where_it_was_folded() {
    run(async || {
        // No personal data: commands are decided inside the store's write, on warm states.
        let warm = Tuning {
            snapshot_every: 100,
            personal: false,
            ..EVERY_EVENT
        };
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, warm, None);
        let b = Device::new(&router, 1, warm, None);
        // Tab 2 rejects a command another device overtook.
        tab(&a, "2", TabCommand::Open).await.unwrap();
        a.client.sync().await.unwrap();
        b.client.sync().await.unwrap();
        a.offline(true);
        let seven = TabCommand::Add { count: 1, price: 7 };
        tab(&a, "2", seven.clone()).await.unwrap();
        assert_eq!(
            a.engine().stats().warm_commands,
            1,
            "decided on the warm state"
        );
        let hundred = TabCommand::Add {
            count: 1,
            price: 100,
        };
        tab(&b, "2", hundred).await.unwrap();
        b.client.sync().await.unwrap();
        a.offline(false);
        a.client.sync().await.unwrap();
        assert_eq!(
            a.store.rejected().await.unwrap().len(),
            1,
            "A's item came back"
        );

        // A's stream ends at version 2 as before, but with B's event: the warm state (total 7)
        // is not used, and the tab closes at B's total.
        let state = consistent(&a, "2").await;
        assert_eq!(state.total, 100);
        let stale = tab(&a, "2", TabCommand::Close { total: 7 }).await;
        assert!(
            matches!(&stale, Err(Error::Domain(refusal)) if refusal.code == "total_mismatch"),
            "{stale:?}"
        );
        assert_eq!(a.engine().stats().warm_commands, 1, "folded from the store");
        tab(&a, "2", TabCommand::Close { total: 100 })
            .await
            .unwrap();
        assert_eq!(
            a.engine().stats().warm_commands,
            2,
            "the refusal kept it warm"
        );
        a.client.sync().await.unwrap();
        lawful_tab(&a.engine().history("Tab", "2").await.unwrap()).unwrap();
        assert!(consistent(&a, "2").await.closed);
    });
}

#[test]
fn a_command_made_while_a_drain_runs_counts_into_its_progress() {
    run(async || {
        let router = server(false, 500).await;
        let a = std::rc::Rc::new(Device::new(&router, 0, EVERY_EVENT, None));
        tab(&a, "1", TabCommand::Open).await.unwrap();
        // The drain starts while the network is down and waits between its tries.
        a.offline(true);
        let drain = tokio::task::spawn_local({
            let a = a.clone();
            async move { a.client.sync().await }
        });
        tokio::task::yield_now().await;
        assert!(a.client.status().syncing, "the drain is under way");
        tab(&a, "1", TabCommand::Add { count: 1, price: 5 })
            .await
            .unwrap();
        a.client.note_command();
        a.offline(false);
        drain.await.unwrap().unwrap();
        let status = a.client.status();
        assert_eq!(status.pending, 0);
        assert_eq!(
            (status.progress.done, status.progress.total),
            (2, 2),
            "both commands went out with the drain"
        );
        assert_eq!(server_log(&router).await.len(), 2);
    });
}
