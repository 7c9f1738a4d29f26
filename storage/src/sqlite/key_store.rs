//! `SqliteKeyStore`: keys and teams in SQLite. Lookups by hash probe the `key_hashes`
//! primary key on the reader connection; every change runs in one transaction on the writer.

use std::sync::Arc;

use rusqlite::params;

use super::key_sql::{
    TEAM_SELECT, change_key, delete_keys, insert_key, load_key, load_keys, load_team, lookup,
    rotate, team_row, write_tx,
};
use super::{Db, db_err};
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::{KeyHash, VirtualKey};
use crate::key_record::{KeyRecord, KeyUpdate, Rotation};
use crate::key_store::{
    Changed, KeyQuery, KeyStore, Page, StoreFuture, TeamDeleted, TeamQuery, page_limit, page_of,
};
use crate::sql::rows::{TeamRow, to_json};
use crate::team::{Team, TeamUpdate};

/// Keys and teams in a SQLite file; see [`super::SqliteStorage`].
#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    db: Arc<Db>,
}

impl SqliteKeyStore {
    pub(crate) fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

impl KeyStore for SqliteKeyStore {
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>> {
        let hash = *hash;
        Box::pin(self.db.reader.call(move |c| lookup(c, &hash)))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.db.reader.call(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(db_err("pinging the database"))
        }))
    }

    fn create_key(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        Box::pin(
            self.db
                .writer
                .call(move |c| write_tx(c, "creating a key", |tx| insert_key(tx, &record))),
        )
    }

    fn get_key(&self, id: &KeyId) -> StoreFuture<'_, Option<KeyRecord>> {
        let id = id.clone();
        Box::pin(self.db.reader.call(move |c| load_key(c, id.as_str())))
    }

    fn list_keys(&self, query: KeyQuery) -> StoreFuture<'_, Page<KeyRecord, KeyId>> {
        Box::pin(self.db.reader.call(move |c| {
            let limit = page_limit(query.limit);
            let keys = load_keys(
                c,
                "WHERE (?1 IS NULL OR k.team_id = ?1) AND (?2 IS NULL OR k.id > ?2) \
                 ORDER BY k.id LIMIT ?3",
                params![
                    query.team.as_ref().map(TeamId::as_str),
                    query.after.as_ref().map(KeyId::as_str),
                    i64::from(limit) + 1
                ],
            )?;
            Ok(page_of(keys, limit, |k| k.id.clone()))
        }))
    }

    fn update_key(
        &self,
        id: &KeyId,
        update: KeyUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(self.db.writer.call(move |c| {
            change_key(c, &id, |_, key| {
                update.apply(key, now_ms);
                Ok(())
            })
        }))
    }

    fn rotate_key(
        &self,
        id: &KeyId,
        rotation: Rotation,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(
            self.db
                .writer
                .call(move |c| change_key(c, &id, |tx, key| rotate(tx, key, &rotation, now_ms))),
        )
    }

    fn revoke_key(&self, id: &KeyId, now_ms: i64) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(self.db.writer.call(move |c| {
            change_key(c, &id, |_, key| {
                if key.revoked_at.is_none() {
                    key.revoked_at = Some(now_ms);
                    key.updated_at = now_ms;
                }
                Ok(())
            })
        }))
    }

    fn delete_key(&self, id: &KeyId) -> StoreFuture<'_, KeyRecord> {
        let id = id.clone();
        Box::pin(self.db.writer.call(move |c| {
            write_tx(c, "deleting a key", |tx| {
                delete_keys(tx, "id", id.as_str())?
                    .pop()
                    .ok_or(StorageError::NotFound("key"))
            })
        }))
    }

    fn create_team(&self, team: Team) -> StoreFuture<'_, ()> {
        Box::pin(self.db.writer.call(move |c| {
            write_tx(c, "creating a team", |tx| {
                if load_team(tx, team.id.as_str())?.is_some() {
                    return Err(StorageError::Conflict("team id"));
                }
                tx.execute(
                    "INSERT INTO teams (id, name, scope, metadata, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        team.id.as_str(),
                        team.name,
                        to_json(&team.scope, "team scope")?,
                        to_json(&team.metadata, "team metadata")?,
                        team.created_at,
                        team.updated_at,
                    ],
                )
                .map(drop)
                .map_err(db_err("creating a team"))
            })
        }))
    }

    fn get_team(&self, id: &TeamId) -> StoreFuture<'_, Option<Team>> {
        let id = id.clone();
        Box::pin(self.db.reader.call(move |c| load_team(c, id.as_str())))
    }

    fn list_teams(&self, query: TeamQuery) -> StoreFuture<'_, Page<Team, TeamId>> {
        Box::pin(self.db.reader.call(move |c| {
            let limit = page_limit(query.limit);
            let sql = format!("{TEAM_SELECT} WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2");
            let rows = c
                .prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            query.after.as_ref().map(TeamId::as_str),
                            i64::from(limit) + 1
                        ],
                        team_row,
                    )?
                    .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db_err("listing teams"))?;
            let teams = rows
                .into_iter()
                .map(TeamRow::into_team)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page_of(teams, limit, |t| t.id.clone()))
        }))
    }

    fn update_team(
        &self,
        id: &TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<Team>> {
        let id = id.clone();
        Box::pin(self.db.writer.call(move |c| {
            write_tx(c, "updating a team", |tx| {
                let before = load_team(tx, id.as_str())?.ok_or(StorageError::NotFound("team"))?;
                let mut after = before.clone();
                update.apply(&mut after, now_ms);
                tx.execute(
                    "UPDATE teams SET name = ?2, scope = ?3, metadata = ?4, updated_at = ?5 WHERE id = ?1",
                    params![
                        id.as_str(),
                        after.name,
                        to_json(&after.scope, "team scope")?,
                        to_json(&after.metadata, "team metadata")?,
                        after.updated_at,
                    ],
                )
                .map_err(db_err("updating a team"))?;
                Ok(Changed { before, after })
            })
        }))
    }

    fn delete_team(&self, id: &TeamId) -> StoreFuture<'_, TeamDeleted> {
        let id = id.clone();
        Box::pin(self.db.writer.call(move |c| {
            write_tx(c, "deleting a team", |tx| {
                let team = load_team(tx, id.as_str())?.ok_or(StorageError::NotFound("team"))?;
                let keys = delete_keys(tx, "team_id", id.as_str())?;
                tx.execute("DELETE FROM teams WHERE id = ?1", [id.as_str()])
                    .map_err(db_err("deleting a team"))?;
                Ok(TeamDeleted { team, keys })
            })
        }))
    }
}
