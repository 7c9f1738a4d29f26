//! The SQL behind `SqliteKeyStore`: statements, row reading, and the steps each change
//! takes inside its transaction. Values are always bound, never formatted into SQL.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::db_err;
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::{KeyHash, VirtualKey};
use crate::key_record::{KeyRecord, Rotation};
use crate::key_store::Changed;
use crate::sql::rows::{KeyRow, TeamRow, to_json};
use crate::team::Team;

pub(super) const KEY_SELECT: &str = "SELECT k.id, k.name, k.team_id, k.display_prefix, k.display_last4, \
     k.scope, k.metadata, k.created_at, k.updated_at, k.expires_at, k.revoked_at, \
     cur.hash, prev.hash, prev.grace_until \
     FROM keys k \
     JOIN key_hashes cur ON cur.key_id = k.id AND cur.grace_until IS NULL \
     LEFT JOIN key_hashes prev ON prev.key_id = k.id AND prev.grace_until IS NOT NULL";

pub(super) const TEAM_SELECT: &str =
    "SELECT id, name, scope, metadata, created_at, updated_at FROM teams";

pub(super) fn key_row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        team: r.get(2)?,
        prefix: r.get(3)?,
        last4: r.get(4)?,
        scope: r.get(5)?,
        metadata: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
        hash: r.get(11)?,
        prev_hash: r.get(12)?,
        grace_until: r.get(13)?,
    })
}

pub(super) fn team_row(r: &Row<'_>) -> rusqlite::Result<TeamRow> {
    Ok(TeamRow {
        id: r.get(0)?,
        name: r.get(1)?,
        scope: r.get(2)?,
        metadata: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

pub(super) fn load_keys(
    c: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<KeyRecord>, StorageError> {
    let sql = format!("{KEY_SELECT} {filter}");
    let mut stmt = c.prepare_cached(&sql).map_err(db_err("reading keys"))?;
    let rows = stmt
        .query_map(params, key_row)
        .map_err(db_err("reading keys"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err("reading keys"))?;
    rows.into_iter().map(KeyRow::into_record).collect()
}

pub(super) fn load_key(c: &Connection, id: &str) -> Result<Option<KeyRecord>, StorageError> {
    Ok(load_keys(c, "WHERE k.id = ?1", [id])?.pop())
}

pub(super) fn load_team(c: &Connection, id: &str) -> Result<Option<Team>, StorageError> {
    let sql = format!("{TEAM_SELECT} WHERE id = ?1");
    c.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([id], team_row).optional())
        .map_err(db_err("reading a team"))?
        .map(TeamRow::into_team)
        .transpose()
}

pub(super) fn hash_taken(c: &Connection, hash: &KeyHash) -> Result<bool, StorageError> {
    c.query_row(
        "SELECT 1 FROM key_hashes WHERE hash = ?1",
        [&hash.0[..]],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(db_err("checking a key hash"))
}

pub(super) fn lookup(
    c: &mut Connection,
    hash: &KeyHash,
) -> Result<Option<VirtualKey>, StorageError> {
    let tx = c.transaction().map_err(db_err("looking up a key"))?;
    let found: Option<(String, bool)> = tx
        .prepare_cached("SELECT key_id, grace_until IS NOT NULL FROM key_hashes WHERE hash = ?1")
        .and_then(|mut s| {
            s.query_row([&hash.0[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err("looking up a key"))?;
    let Some((id, by_previous)) = found else {
        return Ok(None);
    };
    let Some(record) = load_key(&tx, &id)? else {
        return Ok(None);
    };
    let team = match &record.team {
        Some(t) => load_team(&tx, t.as_str())?,
        None => None,
    };
    Ok(Some(VirtualKey::from_record(
        &record,
        team.as_ref(),
        by_previous,
    )))
}

pub(super) fn insert_key(c: &Connection, r: &KeyRecord) -> Result<(), StorageError> {
    let exists = c
        .query_row("SELECT 1 FROM keys WHERE id = ?1", [r.id.as_str()], |_| {
            Ok(())
        })
        .optional()
        .map_err(db_err("checking a key id"))?;
    if exists.is_some() {
        return Err(StorageError::Conflict("key id"));
    }
    let previous = r.previous.map(|p| p.hash);
    for h in std::iter::once(r.hash).chain(previous) {
        if hash_taken(c, &h)? {
            return Err(StorageError::Conflict("key hash"));
        }
    }
    if let Some(team) = &r.team
        && load_team(c, team.as_str())?.is_none()
    {
        return Err(StorageError::NotFound("team"));
    }
    c.execute(
        "INSERT INTO keys (id, name, team_id, display_prefix, display_last4, scope, metadata, \
         created_at, updated_at, expires_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            r.id.as_str(),
            r.name,
            r.team.as_ref().map(TeamId::as_str),
            r.display.prefix(),
            r.display.last4(),
            to_json(&r.scope, "key scope")?,
            to_json(&r.metadata, "key metadata")?,
            r.created_at,
            r.updated_at,
            r.expires_at,
            r.revoked_at,
        ],
    )
    .map_err(db_err("inserting a key"))?;
    insert_hash(c, &r.hash, &r.id, None)?;
    if let Some(p) = r.previous {
        insert_hash(c, &p.hash, &r.id, Some(p.grace_until))?;
    }
    Ok(())
}

pub(super) fn insert_hash(
    c: &Connection,
    hash: &KeyHash,
    id: &KeyId,
    grace_until: Option<i64>,
) -> Result<(), StorageError> {
    c.execute(
        "INSERT INTO key_hashes (hash, key_id, grace_until) VALUES (?1, ?2, ?3)",
        params![&hash.0[..], id.as_str(), grace_until],
    )
    .map(drop)
    .map_err(db_err("inserting a key hash"))
}

/// Writes every editable column of `r` (not its hashes).
pub(super) fn write_key(c: &Connection, r: &KeyRecord) -> Result<(), StorageError> {
    c.execute(
        "UPDATE keys SET name = ?2, display_prefix = ?3, display_last4 = ?4, scope = ?5, \
         metadata = ?6, updated_at = ?7, expires_at = ?8, revoked_at = ?9 WHERE id = ?1",
        params![
            r.id.as_str(),
            r.name,
            r.display.prefix(),
            r.display.last4(),
            to_json(&r.scope, "key scope")?,
            to_json(&r.metadata, "key metadata")?,
            r.updated_at,
            r.expires_at,
            r.revoked_at,
        ],
    )
    .map(drop)
    .map_err(db_err("updating a key"))
}

/// Loads a key, lets `change` edit a copy (and touch hashes), and writes it back, in one
/// write transaction.
pub(super) fn change_key(
    c: &mut Connection,
    id: &KeyId,
    change: impl FnOnce(&Connection, &mut KeyRecord) -> Result<(), StorageError>,
) -> Result<Changed<KeyRecord>, StorageError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("changing a key"))?;
    let before = load_key(&tx, id.as_str())?.ok_or(StorageError::NotFound("key"))?;
    let mut after = before.clone();
    change(&tx, &mut after)?;
    write_key(&tx, &after)?;
    tx.commit().map_err(db_err("changing a key"))?;
    Ok(Changed { before, after })
}

pub(super) fn rotate(
    c: &Connection,
    key: &mut KeyRecord,
    rotation: &Rotation,
    now_ms: i64,
) -> Result<(), StorageError> {
    if key.revoked_at.is_some() {
        return Err(StorageError::Invalid("change to a revoked key"));
    }
    if hash_taken(c, &rotation.hash)? {
        return Err(StorageError::Conflict("key hash"));
    }
    let id = key.id.as_str();
    c.execute(
        "DELETE FROM key_hashes WHERE key_id = ?1 AND grace_until IS NOT NULL",
        [id],
    )
    .map_err(db_err("rotating a key"))?;
    c.execute(
        "UPDATE key_hashes SET grace_until = ?2 WHERE key_id = ?1 AND grace_until IS NULL",
        params![id, rotation.grace_until],
    )
    .map_err(db_err("rotating a key"))?;
    insert_hash(c, &rotation.hash, &key.id, None)?;
    rotation.apply(key, now_ms);
    Ok(())
}

pub(super) fn delete_keys(
    c: &Connection,
    filter: &str,
    param: &str,
) -> Result<Vec<KeyRecord>, StorageError> {
    let keys = load_keys(c, &format!("WHERE k.{filter} = ?1"), [param])?;
    for k in &keys {
        c.execute("DELETE FROM key_hashes WHERE key_id = ?1", [k.id.as_str()])
            .and_then(|_| c.execute("DELETE FROM keys WHERE id = ?1", [k.id.as_str()]))
            .map_err(db_err("deleting a key"))?;
    }
    Ok(keys)
}

pub(super) fn write_tx<T>(
    c: &mut Connection,
    context: &'static str,
    f: impl FnOnce(&Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err(context))?;
    let out = f(&tx)?;
    tx.commit().map_err(db_err(context))?;
    Ok(out)
}
