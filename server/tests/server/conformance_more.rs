//! More of the backend conformance suite (run by the `conformance!` macro of
//! `conformance.rs`): grants filter the log and the readable head, events are stored as given,
//! an import is one transaction, and the database reports durable settings.

use fieldstream::core::ExpectedVersion;
use fieldstream::protocol::ClientEvent;
use fieldstream_server::backend::Backend;
use fieldstream_server::grants::Grant;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::conformance::{appended, events, page, stream};

pub async fn grants_filter_reads<B: Backend>(b: B) {
    let all = [
        "Order-1",
        "Order-10",
        "Order-1@x",
        "Order-2",
        "Customer-1",
        "a_b",
        "axb",
    ];
    for name in all {
        appended(&b, "t", name, ExpectedVersion::NoStream, &events(1)).await;
    }
    let read = |grants: Vec<Grant>| {
        let b = b.clone();
        async move {
            let page = b.read_all("t", 0, page(100), Some(&grants)).await.unwrap();
            assert!(page.exhausted);
            let head = b.readable_head("t", &grants).await.unwrap();
            assert_eq!(head, page.events.last().map_or(0, |e| e.position));
            page.events
                .into_iter()
                .map(|e| e.stream.to_string())
                .collect::<Vec<_>>()
        }
    };
    let exact = |s: &str| Grant::Stream(s.into());
    let prefix = |s: &str| Grant::Prefix(s.into());
    assert_eq!(
        read(vec![exact("Order-1")]).await,
        ["Order-1"],
        "exact means exact"
    );
    assert_eq!(
        read(vec![prefix("Order-1")]).await,
        ["Order-1", "Order-10", "Order-1@x"]
    );
    assert_eq!(
        read(vec![prefix("Customer-"), exact("Order-2")]).await,
        ["Order-2", "Customer-1"]
    );
    assert_eq!(
        read(vec![prefix("a_")]).await,
        ["a_b"],
        "'_' is literal, not a wildcard"
    );
    assert!(read(vec![]).await.is_empty());
    assert_eq!(read(vec![prefix("")]).await.len(), all.len());
    assert_eq!(read(vec![exact("Nope")]).await.len(), 0);
}

pub async fn stores_events_as_given<B: Backend>(b: B) {
    let metadata = json!({"correlationId": "c-1", "custom": {"nested": [1, 2.5, null, "ü"]}});
    let datas = [
        json!(null),
        json!("text ✓"),
        json!([1, {"a": true}]),
        json!({"x": -1, "y": 1e100}),
    ];
    let sent: Vec<ClientEvent> = datas
        .iter()
        .map(|data| ClientEvent {
            id: Uuid::new_v4(),
            event_type: "order.item:added-v2".into(),
            schema_version: 7,
            data: data.clone(),
            metadata: metadata.clone(),
        })
        .collect();
    appended(&b, "t", "x@y:z.1", ExpectedVersion::Any, &sent).await;
    let (_, read) = b
        .read_stream("t", &stream("x@y:z.1"), 1, page(10))
        .await
        .unwrap();
    for (stored, sent) in read.iter().zip(&sent) {
        assert_eq!(
            (stored.id, &stored.event_type, stored.schema_version),
            (sent.id, &sent.event_type, 7)
        );
        assert_eq!((&stored.data, &stored.metadata), (&sent.data, &metadata));
        assert!(stored.recorded_at.millis() > 1_600_000_000_000);
    }
    let _: Value = serde_json::to_value(&read).unwrap();
}

pub async fn export_then_import<B: Backend, C: Backend>(from: B, into: C) {
    appended(&from, "a", "s", ExpectedVersion::NoStream, &events(3)).await;
    appended(&from, "b", "s", ExpectedVersion::NoStream, &events(2)).await;
    appended(&from, "a", "r", ExpectedVersion::NoStream, &events(1)).await;
    let exported = from.export_page(None, 1000).await.unwrap();
    assert_eq!(exported.len(), 6);
    assert_eq!(
        from.export_page(Some(("a", 4)), 1000).await.unwrap().len(),
        2
    );
    // An import that is not committed leaves nothing behind.
    let mut abandoned = into.begin_import().await.unwrap();
    abandoned.events(&exported).await.unwrap();
    drop(abandoned);
    assert_eq!(into.count_events().await.unwrap(), 0);
    assert_eq!(into.head("a").await.unwrap(), 0);

    let mut tx = into.begin_import().await.unwrap();
    assert_eq!(tx.existing().await.unwrap(), (0, true));
    tx.events(&exported[..2]).await.unwrap();
    tx.events(&exported[2..]).await.unwrap();
    tx.commit().await.unwrap();
    for tenant in ["a", "b"] {
        assert_eq!(
            into.read_all(tenant, 0, page(100), None)
                .await
                .unwrap()
                .events,
            from.read_all(tenant, 0, page(100), None)
                .await
                .unwrap()
                .events
        );
        assert_eq!(
            into.head(tenant).await.unwrap(),
            from.head(tenant).await.unwrap()
        );
    }
    let next = appended(&into, "a", "s", ExpectedVersion::Exact(3), &events(1)).await;
    assert_eq!(
        (next.first_version, next.first_position),
        (4, 5),
        "heads moved with the import"
    );
    assert_eq!(into.count_events().await.unwrap(), 7);
}

pub async fn reports_durability<B: Backend>(b: B) {
    let durability = b.durability().await.unwrap().0;
    let durable = durability.contains("synchronous=2 (2 = FULL)")
        || (durability.contains("fsync=on") && durability.contains("synchronous_commit=on"));
    assert!(durable, "{durability}");
}
