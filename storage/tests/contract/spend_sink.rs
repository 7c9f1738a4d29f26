//! The `SpendSink` contract.

use portcullis_storage::spend::DAY_MS;
use portcullis_storage::{
    GroupBy, KeyId, SpendGroup, SpendQuery, SpendRecord, SpendScope, StorageError, TeamId,
};

use crate::fixture::Fixture;

const DAY0: i64 = 19_000 * DAY_MS;

/// A priced record for key `k`, no team.
pub fn record(cost: i64) -> SpendRecord {
    rec(DAY0, "k", None, "gpt", cost)
}

fn rec(time_ms: i64, key: &str, team: Option<&str>, model: &str, cost: i64) -> SpendRecord {
    SpendRecord {
        time_ms,
        request_id: format!("req-{time_ms}-{key}"),
        key: KeyId::parse(key).unwrap(),
        team: team.map(|t| TeamId::parse(t).unwrap()),
        model_group: model.into(),
        deployment: format!("{model}-east"),
        tokens_in: 10,
        tokens_out: 20,
        tokens_cached: 3,
        tokens_cache_write: 4,
        cost_micro_usd: cost,
        unpriced: cost == 0,
        latency_ms: 7,
        status: 200,
    }
}

fn sample() -> Vec<SpendRecord> {
    vec![
        rec(DAY0 + 1, "a", Some("t"), "gpt", 100),
        rec(DAY0 + 2, "a", Some("t"), "claude", 200),
        rec(DAY0 + 3, "b", Some("t"), "gpt", 0),
        rec(DAY0 + DAY_MS, "c", None, "gpt", 1_000),
        rec(DAY0 + 2 * DAY_MS, "a", Some("t"), "gpt", 5),
    ]
}

fn query(group_by: GroupBy) -> SpendQuery {
    SpendQuery {
        from_ms: DAY0,
        to_ms: DAY0 + 2 * DAY_MS,
        group_by,
        key: None,
        team: None,
    }
}

pub(crate) async fn report_sums_per_key_within_the_half_open_range(fx: &Fixture) {
    fx.spend.record_batch(sample()).await.unwrap();
    let rows = fx.spend.report(query(GroupBy::Key)).await.unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.group.clone(), r.requests, r.cost_micro_usd))
        .collect();
    let key = |k: &str| SpendGroup::Key(KeyId::parse(k).unwrap());
    assert_eq!(
        got,
        vec![(key("a"), 2, 300), (key("b"), 1, 0), (key("c"), 1, 1_000)]
    );
    let a = &rows[0];
    assert_eq!(
        (
            a.tokens_in,
            a.tokens_out,
            a.tokens_cached,
            a.tokens_cache_write
        ),
        (20, 40, 6, 8)
    );
    assert_eq!((a.unpriced_requests, rows[1].unpriced_requests), (0, 1));
}

pub(crate) async fn report_groups_by_team_model_and_day(fx: &Fixture) {
    fx.spend.record_batch(sample()).await.unwrap();
    let teams = fx.spend.report(query(GroupBy::Team)).await.unwrap();
    let got: Vec<_> = teams
        .iter()
        .map(|r| (r.group.clone(), r.cost_micro_usd))
        .collect();
    assert_eq!(
        got,
        vec![
            (SpendGroup::Team(None), 1_000),
            (SpendGroup::Team(Some(TeamId::parse("t").unwrap())), 300),
        ]
    );
    let models = fx.spend.report(query(GroupBy::Model)).await.unwrap();
    let got: Vec<_> = models
        .iter()
        .map(|r| (r.group.clone(), r.requests))
        .collect();
    assert_eq!(
        got,
        vec![
            (SpendGroup::Model("claude".into()), 1),
            (SpendGroup::Model("gpt".into()), 3)
        ]
    );
    let mut whole = query(GroupBy::Day);
    whole.to_ms = DAY0 + 3 * DAY_MS;
    let days = fx.spend.report(whole).await.unwrap();
    let got: Vec<_> = days
        .iter()
        .map(|r| (r.group.clone(), r.cost_micro_usd))
        .collect();
    assert_eq!(
        got,
        vec![
            (SpendGroup::Day(DAY0), 300),
            (SpendGroup::Day(DAY0 + DAY_MS), 1_000),
            (SpendGroup::Day(DAY0 + 2 * DAY_MS), 5),
        ]
    );
}

pub(crate) async fn report_filters_by_key_and_team(fx: &Fixture) {
    fx.spend.record_batch(sample()).await.unwrap();
    let mut only_a = query(GroupBy::Model);
    only_a.key = Some(KeyId::parse("a").unwrap());
    let rows = fx.spend.report(only_a).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.cost_micro_usd).collect::<Vec<_>>(),
        vec![200, 100]
    );
    let mut only_t = query(GroupBy::Day);
    only_t.team = Some(TeamId::parse("t").unwrap());
    let rows = fx.spend.report(only_t).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].requests, rows[0].cost_micro_usd), (3, 300));
    let mut nobody = query(GroupBy::Key);
    nobody.team = Some(TeamId::parse("ghost").unwrap());
    assert!(fx.spend.report(nobody).await.unwrap().is_empty());
}

pub(crate) async fn total_sums_a_key_or_team_since_an_instant(fx: &Fixture) {
    fx.spend.record_batch(sample()).await.unwrap();
    let a = SpendScope::Key(KeyId::parse("a").unwrap());
    let t = SpendScope::Team(TeamId::parse("t").unwrap());
    assert_eq!(fx.spend.total(a.clone(), 0).await.unwrap(), 305);
    assert_eq!(fx.spend.total(a, DAY0 + 2).await.unwrap(), 205);
    assert_eq!(fx.spend.total(t, DAY0 + DAY_MS).await.unwrap(), 5);
    let none = SpendScope::Key(KeyId::parse("nobody").unwrap());
    assert_eq!(fx.spend.total(none, 0).await.unwrap(), 0);
    let gpt = SpendScope::ModelGroup("gpt".to_owned());
    assert_eq!(fx.spend.total(gpt.clone(), 0).await.unwrap(), 1_105);
    assert_eq!(fx.spend.total(gpt, DAY0 + DAY_MS).await.unwrap(), 1_005);
    let other = SpendScope::ModelGroup("gpt-4".to_owned());
    assert_eq!(fx.spend.total(other, 0).await.unwrap(), 0);
}

pub(crate) async fn a_batch_with_a_bad_record_is_refused_whole(fx: &Fixture) {
    let mut batch = sample();
    batch.push(rec(-1, "a", None, "gpt", 1));
    let err = fx.spend.record_batch(batch).await.unwrap_err();
    assert_eq!(err, StorageError::Invalid("spend time before 1970"));
    let a = SpendScope::Key(KeyId::parse("a").unwrap());
    assert_eq!(fx.spend.total(a.clone(), 0).await.unwrap(), 0);
    fx.spend.record_batch(vec![]).await.unwrap();
    fx.spend.record_batch(sample()).await.unwrap();
    fx.spend.record_batch(sample()).await.unwrap();
    assert_eq!(
        fx.spend.total(a, 0).await.unwrap(),
        610,
        "records are appended, never merged"
    );
}
