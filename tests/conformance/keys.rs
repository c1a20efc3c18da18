//! Conformance of the key store (personal data): keys kept per subject and key id, forgetting
//! deletes a subject's keys for good and is remembered.

use fieldstream::core::{KeyUpdate, SubjectKey};
use fieldstream::store::EventStore;

pub(super) async fn the_key_store_keeps_keys_and_forgets_subjects<S: EventStore>(store: S) {
    assert_eq!(store.keys().await.unwrap(), Default::default());
    let (a1, a2, b) = (
        SubjectKey::generate("a").unwrap(),
        SubjectKey::generate("a").unwrap(),
        SubjectKey::generate("b").unwrap(),
    );
    let put = |keys: Vec<SubjectKey>| KeyUpdate {
        put: keys,
        ..Default::default()
    };
    store.update_keys(&put(vec![a1.clone()])).await.unwrap();
    store
        .update_keys(&put(vec![a1.clone(), a2.clone(), b.clone()]))
        .await
        .unwrap();
    let mut held = store.keys().await.unwrap().keys;
    held.sort_by(|x, y| (&x.subject, &x.id).cmp(&(&y.subject, &y.id)));
    let mut expected = vec![a1.clone(), a2.clone(), b.clone()];
    expected.sort_by(|x, y| (&x.subject, &x.id).cmp(&(&y.subject, &y.id)));
    assert_eq!(held, expected, "each key once, by subject and id");

    let forget = KeyUpdate {
        forget: vec!["a".into()],
        announce: true,
        ..Default::default()
    };
    store.update_keys(&forget).await.unwrap();
    store.update_keys(&put(vec![a1.clone()])).await.unwrap();
    let after = store.keys().await.unwrap();
    assert_eq!(
        after.keys,
        vec![b],
        "a forgotten subject's keys are gone, and stay gone"
    );
    assert_eq!(after.forgotten, vec!["a".to_owned()]);
    assert_eq!(
        after.unsent,
        vec!["a".to_owned()],
        "a forget made here waits for the server"
    );
    let sent = KeyUpdate {
        sent: vec!["a".into()],
        ..Default::default()
    };
    store.update_keys(&sent).await.unwrap();
    let learnt = KeyUpdate {
        forget: vec!["b".into()],
        ..Default::default()
    };
    store.update_keys(&learnt).await.unwrap();
    let last = store.keys().await.unwrap();
    assert_eq!((last.keys, last.unsent), (vec![], vec![]));
    assert_eq!(last.forgotten, vec!["a".to_owned(), "b".to_owned()]);
}
