//! The `KeyStore` contract: every backend must pass each case, on a fresh store.

use portcullis_storage::key_store::{KeyQuery, TeamQuery};
use portcullis_storage::{
    KeyDisplay, KeyHash, KeyHasher, KeyId, KeyRecord, KeyUpdate, ModelAccess, Rotation, Scope,
    StorageError, Team, TeamId, TeamUpdate, Unusable,
};

use crate::fixture::Fixture;

const T0: i64 = 1_700_000_000_000;

fn kid(s: &str) -> KeyId {
    KeyId::parse(s).unwrap()
}

fn tid(s: &str) -> TeamId {
    TeamId::parse(s).unwrap()
}

fn hash(n: u8) -> KeyHash {
    KeyHash([n; 32])
}

fn record(id: &str, h: u8) -> KeyRecord {
    let mut r = KeyRecord::new(
        kid(id),
        format!("name of {id}"),
        hash(h),
        KeyDisplay::of("pk-abcdWXYZ"),
        T0,
    );
    r.metadata.insert("owner".into(), serde_json::json!("ops"));
    r
}

pub(crate) async fn created_key_is_found_by_hash_and_by_id(fx: &Fixture) {
    let mut r = record("k1", 1);
    r.scope = Scope {
        models: ModelAccess::Only(vec!["gpt".into()]),
        rpm: Some(5),
        ..Scope::default()
    };
    r.expires_at = Some(T0 + 1000);
    fx.keys.create_key(r.clone()).await.unwrap();
    let found = fx.keys.get(&hash(1)).await.unwrap().unwrap();
    assert_eq!(found.id, kid("k1"));
    assert!(found.allows_model("gpt") && !found.allows_model("other"));
    assert_eq!(found.key_scope.rpm, Some(5));
    assert_eq!(found.usable_at(T0 + 999), Ok(()));
    assert_eq!(
        found.usable_at(T0 + 1000),
        Err(Unusable::Expired { at: T0 + 1000 })
    );
    assert_eq!(fx.keys.get_key(&kid("k1")).await.unwrap(), Some(r));
    assert_eq!(fx.keys.get(&hash(2)).await.unwrap(), None);
    assert_eq!(fx.keys.get_key(&kid("nope")).await.unwrap(), None);
}

pub(crate) async fn duplicate_ids_and_hashes_are_refused(fx: &Fixture) {
    fx.keys.create_key(record("k1", 1)).await.unwrap();
    let dup_id = fx.keys.create_key(record("k1", 2)).await.unwrap_err();
    assert_eq!(dup_id, StorageError::Conflict("key id"));
    let dup_hash = fx.keys.create_key(record("k2", 1)).await.unwrap_err();
    assert_eq!(dup_hash, StorageError::Conflict("key hash"));
    let mut orphan = record("k3", 3);
    orphan.team = Some(tid("ghost"));
    assert_eq!(
        fx.keys.create_key(orphan).await.unwrap_err(),
        StorageError::NotFound("team")
    );
    fx.keys
        .create_team(Team::new(tid("t"), "t", T0))
        .await
        .unwrap();
    assert_eq!(
        fx.keys
            .create_team(Team::new(tid("t"), "again", T0))
            .await
            .unwrap_err(),
        StorageError::Conflict("team id")
    );
}

pub(crate) async fn presenting_the_stored_hash_as_a_key_fails(fx: &Fixture) {
    let hasher = KeyHasher::new(b"contract-pepper");
    let secret = "pk-0123456789abcdef0123456789abcdef0123456789abcdef";
    let stored = hasher.hash(secret);
    let r = KeyRecord::new(kid("real"), "real", stored, KeyDisplay::of(secret), T0);
    fx.keys.create_key(r).await.unwrap();
    assert!(fx.keys.get(&hasher.hash(secret)).await.unwrap().is_some());
    let as_hex: String = stored.0.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(fx.keys.get(&hasher.hash(&as_hex)).await.unwrap(), None);
}

pub(crate) async fn list_pages_by_id_and_filters_by_team(fx: &Fixture) {
    fx.keys
        .create_team(Team::new(tid("t"), "t", T0))
        .await
        .unwrap();
    for (i, id) in ["e", "a", "d", "b", "c"].iter().enumerate() {
        let mut r = record(id, i as u8 + 1);
        if i % 2 == 0 {
            r.team = Some(tid("t"));
        }
        fx.keys.create_key(r).await.unwrap();
    }
    let first = fx
        .keys
        .list_keys(KeyQuery {
            limit: 2,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = first.items.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(first.next, Some(kid("b")));
    let rest = fx
        .keys
        .list_keys(KeyQuery {
            after: first.next,
            limit: 10,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = rest.items.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(ids, ["c", "d", "e"]);
    assert_eq!(rest.next, None);
    let team = fx
        .keys
        .list_keys(KeyQuery {
            team: Some(tid("t")),
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = team.items.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(ids, ["c", "d", "e"]);
}

pub(crate) async fn update_changes_only_what_it_names(fx: &Fixture) {
    fx.keys.create_key(record("k", 1)).await.unwrap();
    let scope = Scope {
        tpm: Some(1000),
        ..Scope::default()
    };
    let changed = fx
        .keys
        .update_key(
            &kid("k"),
            KeyUpdate {
                scope: Some(scope.clone()),
                expires_at: Some(Some(T0 + 5)),
                ..KeyUpdate::default()
            },
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(changed.before, record("k", 1));
    assert_eq!(changed.after.scope, scope);
    assert_eq!(changed.after.name, "name of k");
    assert_eq!(
        (changed.after.updated_at, changed.after.expires_at),
        (T0 + 1, Some(T0 + 5))
    );
    assert_eq!(
        fx.keys.get_key(&kid("k")).await.unwrap(),
        Some(changed.after)
    );
    assert_eq!(
        fx.keys.get(&hash(1)).await.unwrap().unwrap().key_scope.tpm,
        Some(1000)
    );
    let missing = fx
        .keys
        .update_key(&kid("none"), KeyUpdate::default(), T0)
        .await
        .unwrap_err();
    assert_eq!(missing, StorageError::NotFound("key"));
}

pub(crate) async fn rotation_keeps_the_old_key_until_grace_then_fails(fx: &Fixture) {
    fx.keys.create_key(record("k", 1)).await.unwrap();
    let rotation = Rotation {
        hash: hash(2),
        display: KeyDisplay::of("pk-newkey9999"),
        grace_until: T0 + 100,
    };
    let changed = fx
        .keys
        .rotate_key(&kid("k"), rotation, T0 + 10)
        .await
        .unwrap();
    assert_eq!(changed.after.hash, hash(2));
    assert_eq!(changed.after.display.last4(), "9999");
    let old = fx.keys.get(&hash(1)).await.unwrap().unwrap();
    assert_eq!(old.usable_at(T0 + 99), Ok(()));
    assert_eq!(
        old.usable_at(T0 + 100),
        Err(Unusable::RotatedOut {
            grace_until: T0 + 100
        })
    );
    let new = fx.keys.get(&hash(2)).await.unwrap().unwrap();
    assert_eq!(new.usable_at(T0 + 1_000_000), Ok(()));
    // A second rotation retires the first previous hash at once.
    let again = Rotation {
        hash: hash(3),
        display: KeyDisplay::of("pk-x"),
        grace_until: T0 + 500,
    };
    fx.keys.rotate_key(&kid("k"), again, T0 + 20).await.unwrap();
    assert_eq!(fx.keys.get(&hash(1)).await.unwrap(), None);
    assert_eq!(
        fx.keys
            .get(&hash(2))
            .await
            .unwrap()
            .unwrap()
            .usable_at(T0 + 499),
        Ok(())
    );
    // The new hash must be new.
    let clash = Rotation {
        hash: hash(2),
        display: KeyDisplay::of("pk-y"),
        grace_until: T0,
    };
    fx.keys.create_key(record("other", 9)).await.unwrap();
    let clash_other = Rotation {
        hash: hash(9),
        ..clash.clone()
    };
    assert_eq!(
        fx.keys
            .rotate_key(&kid("k"), clash_other, T0)
            .await
            .unwrap_err(),
        StorageError::Conflict("key hash")
    );
}

pub(crate) async fn revoke_refuses_the_key_at_once_and_keeps_the_first_time(fx: &Fixture) {
    fx.keys.create_key(record("k", 1)).await.unwrap();
    let changed = fx.keys.revoke_key(&kid("k"), T0 + 5).await.unwrap();
    assert_eq!(
        (changed.before.revoked_at, changed.after.revoked_at),
        (None, Some(T0 + 5))
    );
    let found = fx.keys.get(&hash(1)).await.unwrap().unwrap();
    assert_eq!(found.usable_at(T0), Err(Unusable::Revoked { at: T0 + 5 }));
    let again = fx.keys.revoke_key(&kid("k"), T0 + 9).await.unwrap();
    assert_eq!(again.after.revoked_at, Some(T0 + 5));
    let rotation = Rotation {
        hash: hash(2),
        display: KeyDisplay::of("pk-z"),
        grace_until: T0,
    };
    assert_eq!(
        fx.keys
            .rotate_key(&kid("k"), rotation, T0)
            .await
            .unwrap_err(),
        StorageError::Invalid("change to a revoked key")
    );
}

pub(crate) async fn delete_removes_both_hashes(fx: &Fixture) {
    fx.keys.create_key(record("k", 1)).await.unwrap();
    let rotation = Rotation {
        hash: hash(2),
        display: KeyDisplay::of("pk-z"),
        grace_until: T0 + 100,
    };
    fx.keys.rotate_key(&kid("k"), rotation, T0).await.unwrap();
    let gone = fx.keys.delete_key(&kid("k")).await.unwrap();
    assert_eq!(gone.id, kid("k"));
    assert_eq!(fx.keys.get(&hash(1)).await.unwrap(), None);
    assert_eq!(fx.keys.get(&hash(2)).await.unwrap(), None);
    assert_eq!(
        fx.keys.delete_key(&kid("k")).await.unwrap_err(),
        StorageError::NotFound("key")
    );
    // The hashes are free again.
    fx.keys.create_key(record("k2", 1)).await.unwrap();
}

pub(crate) async fn team_scope_tightens_its_keys(fx: &Fixture) {
    let mut team = Team::new(tid("t"), "team", T0);
    team.scope = Scope {
        models: ModelAccess::Only(vec!["a".into(), "b".into()]),
        rpm: Some(3),
        ..Scope::default()
    };
    fx.keys.create_team(team.clone()).await.unwrap();
    let mut r = record("k", 1);
    r.team = Some(tid("t"));
    r.scope = Scope {
        models: ModelAccess::Only(vec!["b".into(), "c".into()]),
        rpm: Some(10),
        ..Scope::default()
    };
    fx.keys.create_key(r).await.unwrap();
    let k = fx.keys.get(&hash(1)).await.unwrap().unwrap();
    assert_eq!(k.team, Some(tid("t")));
    assert_eq!(k.models, ModelAccess::Only(vec!["b".into()]));
    assert_eq!((k.limits().rpm, k.key_scope.rpm), (Some(3), Some(10)));
    assert_eq!(k.team_scope, Some(team.scope.clone()));
    let update = TeamUpdate {
        scope: Some(Scope::default()),
        name: Some("renamed".into()),
        ..TeamUpdate::default()
    };
    let changed = fx
        .keys
        .update_team(&tid("t"), update, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (changed.before.name.as_str(), changed.after.name.as_str()),
        ("team", "renamed")
    );
    assert_eq!(
        fx.keys.get_team(&tid("t")).await.unwrap(),
        Some(changed.after)
    );
    let k = fx.keys.get(&hash(1)).await.unwrap().unwrap();
    assert_eq!(k.limits().rpm, Some(10));
}

pub(crate) async fn deleting_a_team_removes_every_key_of_it(fx: &Fixture) {
    fx.keys
        .create_team(Team::new(tid("t"), "t", T0))
        .await
        .unwrap();
    fx.keys
        .create_team(Team::new(tid("u"), "u", T0))
        .await
        .unwrap();
    for (id, h, team) in [("a", 1, "t"), ("b", 2, "t"), ("c", 3, "u")] {
        let mut r = record(id, h);
        r.team = Some(tid(team));
        fx.keys.create_key(r).await.unwrap();
    }
    let deleted = fx.keys.delete_team(&tid("t")).await.unwrap();
    let mut ids: Vec<_> = deleted.keys.iter().map(|k| k.id.to_string()).collect();
    ids.sort();
    assert_eq!(
        (deleted.team.id.as_str(), ids),
        ("t", vec!["a".to_owned(), "b".to_owned()])
    );
    assert_eq!(fx.keys.get(&hash(1)).await.unwrap(), None);
    assert_eq!(fx.keys.get(&hash(2)).await.unwrap(), None);
    assert!(fx.keys.get(&hash(3)).await.unwrap().is_some());
    assert_eq!(fx.keys.get_team(&tid("t")).await.unwrap(), None);
    let teams = fx.keys.list_teams(TeamQuery::default()).await.unwrap();
    assert_eq!(teams.items.len(), 1);
    assert_eq!(
        fx.keys.delete_team(&tid("t")).await.unwrap_err(),
        StorageError::NotFound("team")
    );
}

pub(crate) async fn teams_list_in_pages(fx: &Fixture) {
    for id in ["c", "a", "b"] {
        fx.keys
            .create_team(Team::new(tid(id), id, T0))
            .await
            .unwrap();
    }
    let first = fx
        .keys
        .list_teams(TeamQuery {
            after: None,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let rest = fx
        .keys
        .list_teams(TeamQuery {
            after: first.next,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    assert_eq!(rest.next, None);
}
