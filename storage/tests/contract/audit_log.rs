//! The `AuditLog` contract.

use std::sync::Arc;

use portcullis_storage::{AuditEntry, ChainHead, verify, verify_log};
use serde_json::json;

use crate::fixture::Fixture;

pub(crate) fn entry(n: u64) -> AuditEntry {
    AuditEntry {
        time_ms: 1_700_000_000_000 + n as i64,
        actor: "master-key".into(),
        action: "key.update".into(),
        target: format!("key:k{n}"),
        before: Some(json!({"scope": {"rpm": n, "models": ["a", "b"]}, "name": "k"})),
        after: (!n.is_multiple_of(3)).then(|| json!({"n": n, "nested": {"z": null, "a": 1.5}})),
    }
}

pub(crate) async fn appends_form_one_chain_that_verifies(fx: &Fixture) {
    assert_eq!(fx.audit.head().await.unwrap(), None);
    let mut appended = Vec::new();
    for n in 1..=4 {
        appended.push(fx.audit.append(entry(n)).await.unwrap());
    }
    assert_eq!(
        appended.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let listed = fx.audit.list(1, 100).await.unwrap();
    assert_eq!(listed, appended);
    assert_eq!(verify(&listed), Ok(()));
    assert_eq!(listed[1].before_json(), entry(2).before);
    assert_eq!(listed[1].after_json(), entry(2).after);
    assert_eq!(listed[2].after_json(), None);
    let last = &appended[3];
    assert_eq!(
        fx.audit.head().await.unwrap(),
        Some(ChainHead {
            seq: 4,
            hash: last.hash
        })
    );
    let page = fx.audit.list(2, 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(verify_log(fx.audit.as_ref()).await.unwrap(), Ok(4));
}

pub(crate) async fn concurrent_appends_from_one_store_stay_one_chain(fx: &Fixture) {
    let mut tasks = Vec::new();
    for n in 1..=16 {
        let audit = Arc::clone(&fx.audit);
        tasks.push(tokio::spawn(async move {
            audit.append(entry(n)).await.unwrap().seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    assert_eq!(verify_log(fx.audit.as_ref()).await.unwrap(), Ok(16));
}
