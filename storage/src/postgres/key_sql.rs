//! The SQL behind `PostgresKeyStore`: statements, row reading, and the steps each change
//! takes inside its transaction. Values are always bound, never formatted into SQL.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::pg_err;
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::KeyHash;
use crate::key_record::{KeyRecord, KeyUpdate, Rotation};
use crate::sql::rows::{KeyRow, TeamRow, to_json};
use crate::team::Team;

pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

pub(super) const KEY_COLUMNS: &str = "k.id, k.name, k.team_id, k.display_prefix, k.display_last4, \
     k.scope, k.metadata, k.created_at, k.updated_at, k.expires_at, k.revoked_at, \
     cur.hash, prev.hash, prev.grace_until";

pub(super) const KEY_FROM: &str = "FROM keys k \
     JOIN key_hashes cur ON cur.key_id = k.id AND cur.grace_until IS NULL \
     LEFT JOIN key_hashes prev ON prev.key_id = k.id AND prev.grace_until IS NOT NULL";

pub(super) const TEAM_SELECT: &str =
    "SELECT id, name, scope, metadata, created_at, updated_at FROM teams";

pub(super) fn key_row(r: &Row) -> Result<KeyRow, tokio_postgres::Error> {
    Ok(KeyRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        team: r.try_get(2)?,
        prefix: r.try_get(3)?,
        last4: r.try_get(4)?,
        scope: r.try_get(5)?,
        metadata: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        expires_at: r.try_get(9)?,
        revoked_at: r.try_get(10)?,
        hash: r.try_get(11)?,
        prev_hash: r.try_get(12)?,
        grace_until: r.try_get(13)?,
    })
}

/// Reads a team from `r` starting at column `at`; `None` when its id is NULL (outer join).
pub(super) fn team_row(r: &Row, at: usize) -> Result<Option<TeamRow>, tokio_postgres::Error> {
    let Some(id) = r.try_get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(TeamRow {
        id,
        name: r.try_get(at + 1)?,
        scope: r.try_get(at + 2)?,
        metadata: r.try_get(at + 3)?,
        created_at: r.try_get(at + 4)?,
        updated_at: r.try_get(at + 5)?,
    }))
}

pub(super) async fn load_keys(
    c: &impl GenericClient,
    filter: &str,
    params: &Params<'_>,
) -> Result<Vec<KeyRecord>, StorageError> {
    let sql = format!("SELECT {KEY_COLUMNS} {KEY_FROM} {filter}");
    let rows = c
        .query(&sql, params)
        .await
        .map_err(pg_err("reading keys"))?;
    rows.iter()
        .map(|r| key_row(r).map_err(pg_err("reading keys"))?.into_record())
        .collect()
}

pub(super) async fn load_key(
    c: &impl GenericClient,
    id: &str,
) -> Result<Option<KeyRecord>, StorageError> {
    Ok(load_keys(c, "WHERE k.id = $1", &[&id]).await?.pop())
}

pub(super) async fn load_team(
    c: &impl GenericClient,
    id: &str,
    lock: bool,
) -> Result<Option<Team>, StorageError> {
    let sql = format!(
        "{TEAM_SELECT} WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = c
        .query_opt(&sql, &[&id])
        .await
        .map_err(pg_err("reading a team"))?;
    match row {
        None => Ok(None),
        Some(r) => team_row(&r, 0)
            .map_err(pg_err("reading a team"))?
            .map(TeamRow::into_team)
            .transpose(),
    }
}

pub(super) async fn insert_hash(
    c: &impl GenericClient,
    hash: &KeyHash,
    id: &KeyId,
    grace_until: Option<i64>,
) -> Result<(), StorageError> {
    c.execute(
        "INSERT INTO key_hashes (hash, key_id, grace_until) VALUES ($1, $2, $3)",
        &[&&hash.0[..], &id.as_str(), &grace_until],
    )
    .await
    .map(drop)
    .map_err(pg_err("inserting a key hash"))
}

pub(super) async fn insert_key(c: &impl GenericClient, r: &KeyRecord) -> Result<(), StorageError> {
    c.execute(
        "INSERT INTO keys (id, name, team_id, display_prefix, display_last4, scope, metadata, \
         created_at, updated_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &r.id.as_str(),
            &r.name,
            &r.team.as_ref().map(TeamId::as_str),
            &r.display.prefix(),
            &r.display.last4(),
            &to_json(&r.scope, "key scope")?,
            &to_json(&r.metadata, "key metadata")?,
            &r.created_at,
            &r.updated_at,
            &r.expires_at,
            &r.revoked_at,
        ],
    )
    .await
    .map_err(pg_err("inserting a key"))?;
    insert_hash(c, &r.hash, &r.id, None).await?;
    if let Some(p) = r.previous {
        insert_hash(c, &p.hash, &r.id, Some(p.grace_until)).await?;
    }
    Ok(())
}

pub(super) async fn write_key(c: &impl GenericClient, r: &KeyRecord) -> Result<(), StorageError> {
    c.execute(
        "UPDATE keys SET name = $2, display_prefix = $3, display_last4 = $4, scope = $5, \
         metadata = $6, updated_at = $7, expires_at = $8, revoked_at = $9 WHERE id = $1",
        &[
            &r.id.as_str(),
            &r.name,
            &r.display.prefix(),
            &r.display.last4(),
            &to_json(&r.scope, "key scope")?,
            &to_json(&r.metadata, "key metadata")?,
            &r.updated_at,
            &r.expires_at,
            &r.revoked_at,
        ],
    )
    .await
    .map(drop)
    .map_err(pg_err("updating a key"))
}

pub(super) async fn rotate(
    c: &impl GenericClient,
    key: &mut KeyRecord,
    rotation: &Rotation,
    now_ms: i64,
) -> Result<(), StorageError> {
    if key.revoked_at.is_some() {
        return Err(StorageError::Invalid("change to a revoked key"));
    }
    let id = key.id.as_str();
    c.execute(
        "DELETE FROM key_hashes WHERE key_id = $1 AND grace_until IS NOT NULL",
        &[&id],
    )
    .await
    .map_err(pg_err("rotating a key"))?;
    c.execute(
        "UPDATE key_hashes SET grace_until = $2 WHERE key_id = $1 AND grace_until IS NULL",
        &[&id, &rotation.grace_until],
    )
    .await
    .map_err(pg_err("rotating a key"))?;
    insert_hash(c, &rotation.hash, &key.id, None).await?;
    rotation.apply(key, now_ms);
    Ok(())
}

pub(super) async fn delete_keys(
    c: &impl GenericClient,
    filter: &str,
    param: &str,
) -> Result<Vec<KeyRecord>, StorageError> {
    let keys = load_keys(
        c,
        &format!("WHERE k.{filter} = $1 FOR UPDATE OF k"),
        &[&param],
    )
    .await?;
    for k in &keys {
        let id = k.id.as_str();
        c.execute("DELETE FROM key_hashes WHERE key_id = $1", &[&id])
            .await
            .map_err(pg_err("deleting a key"))?;
        c.execute("DELETE FROM keys WHERE id = $1", &[&id])
            .await
            .map_err(pg_err("deleting a key"))?;
    }
    Ok(keys)
}

/// What a key change does to the locked copy.
pub(super) enum KeyChange {
    Update(KeyUpdate),
    Rotate(Rotation),
    Revoke,
}
