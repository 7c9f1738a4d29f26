//! `PostgresKeyStore`: keys and teams in PostgreSQL. The hot-path lookup is one indexed
//! query; changes lock the row they read (`FOR UPDATE`) so replicas cannot interleave a
//! read-modify-write, and duplicates are caught by the constraints, not by a prior check.

use super::key_sql::{
    KEY_COLUMNS, KeyChange, TEAM_SELECT, delete_keys, insert_key, key_row, load_key, load_keys,
    load_team, rotate, team_row, write_key,
};
use super::{PostgresStorage, pg_err};
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::{KeyHash, VirtualKey};
use crate::key_record::{KeyRecord, KeyUpdate, Rotation};
use crate::key_store::{
    Changed, KeyQuery, KeyStore, Page, StoreFuture, TeamDeleted, TeamQuery, page_limit, page_of,
};
use crate::sql::rows::{TeamRow, to_json};
use crate::team::{Team, TeamUpdate};

/// Keys and teams in PostgreSQL; see [`super::PostgresStorage`].
#[derive(Debug, Clone)]
pub struct PostgresKeyStore {
    db: PostgresStorage,
}

impl PostgresKeyStore {
    pub(crate) fn new(db: PostgresStorage) -> Self {
        Self { db }
    }

    async fn lookup(&self, hash: KeyHash) -> Result<Option<VirtualKey>, StorageError> {
        let client = self.db.client().await?;
        let sql = format!(
            "SELECT {KEY_COLUMNS}, h.grace_until IS NOT NULL, \
             t.id, t.name, t.scope, t.metadata, t.created_at, t.updated_at \
             FROM key_hashes h JOIN keys k ON k.id = h.key_id \
             JOIN key_hashes cur ON cur.key_id = k.id AND cur.grace_until IS NULL \
             LEFT JOIN key_hashes prev ON prev.key_id = k.id AND prev.grace_until IS NOT NULL \
             LEFT JOIN teams t ON t.id = k.team_id WHERE h.hash = $1"
        );
        let stmt = client
            .prepare_cached(&sql)
            .await
            .map_err(pg_err("looking up a key"))?;
        let Some(row) = client
            .query_opt(&stmt, &[&&hash.0[..]])
            .await
            .map_err(pg_err("looking up a key"))?
        else {
            return Ok(None);
        };
        let read = || -> Result<_, tokio_postgres::Error> {
            Ok((
                key_row(&row)?,
                row.try_get::<_, bool>(14)?,
                team_row(&row, 15)?,
            ))
        };
        let (key, by_previous, team) = read().map_err(pg_err("looking up a key"))?;
        let record = key.into_record()?;
        let team = team.map(TeamRow::into_team).transpose()?;
        Ok(Some(VirtualKey::from_record(
            &record,
            team.as_ref(),
            by_previous,
        )))
    }

    async fn change_key(
        &self,
        id: &KeyId,
        change: KeyChange,
        now_ms: i64,
    ) -> Result<Changed<KeyRecord>, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("changing a key"))?;
        let locked = tx
            .query_opt(
                "SELECT 1 FROM keys WHERE id = $1 FOR UPDATE",
                &[&id.as_str()],
            )
            .await
            .map_err(pg_err("changing a key"))?;
        if locked.is_none() {
            return Err(StorageError::NotFound("key"));
        }
        let before = load_key(&*tx, id.as_str())
            .await?
            .ok_or(StorageError::NotFound("key"))?;
        let mut after = before.clone();
        match change {
            KeyChange::Update(update) => update.apply(&mut after, now_ms),
            KeyChange::Rotate(rotation) => rotate(&*tx, &mut after, &rotation, now_ms).await?,
            KeyChange::Revoke => {
                if after.revoked_at.is_none() {
                    after.revoked_at = Some(now_ms);
                    after.updated_at = now_ms;
                }
            }
        }
        write_key(&*tx, &after).await?;
        tx.commit().await.map_err(pg_err("changing a key"))?;
        Ok(Changed { before, after })
    }

    async fn create(&self, record: KeyRecord) -> Result<(), StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("creating a key"))?;
        insert_key(&*tx, &record).await?;
        tx.commit().await.map_err(pg_err("creating a key"))
    }

    async fn list(&self, query: KeyQuery) -> Result<Page<KeyRecord, KeyId>, StorageError> {
        let client = self.db.client().await?;
        let limit = page_limit(query.limit);
        let keys = load_keys(
            &**client,
            "WHERE ($1::TEXT IS NULL OR k.team_id = $1) AND ($2::TEXT IS NULL OR k.id > $2) \
             ORDER BY k.id LIMIT $3",
            &[
                &query.team.as_ref().map(TeamId::as_str),
                &query.after.as_ref().map(KeyId::as_str),
                &(i64::from(limit) + 1),
            ],
        )
        .await?;
        Ok(page_of(keys, limit, |k| k.id.clone()))
    }

    async fn delete(&self, id: KeyId) -> Result<KeyRecord, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("deleting a key"))?;
        let gone = delete_keys(&*tx, "id", id.as_str())
            .await?
            .pop()
            .ok_or(StorageError::NotFound("key"))?;
        tx.commit().await.map_err(pg_err("deleting a key"))?;
        Ok(gone)
    }

    async fn create_team_now(&self, team: Team) -> Result<(), StorageError> {
        let client = self.db.client().await?;
        client
            .execute(
                "INSERT INTO teams (id, name, scope, metadata, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &team.id.as_str(),
                    &team.name,
                    &to_json(&team.scope, "team scope")?,
                    &to_json(&team.metadata, "team metadata")?,
                    &team.created_at,
                    &team.updated_at,
                ],
            )
            .await
            .map(drop)
            .map_err(pg_err("creating a team"))
    }

    async fn list_teams_now(&self, query: TeamQuery) -> Result<Page<Team, TeamId>, StorageError> {
        let client = self.db.client().await?;
        let limit = page_limit(query.limit);
        let sql = format!("{TEAM_SELECT} WHERE ($1::TEXT IS NULL OR id > $1) ORDER BY id LIMIT $2");
        let rows = client
            .query(
                &sql,
                &[
                    &query.after.as_ref().map(TeamId::as_str),
                    &(i64::from(limit) + 1),
                ],
            )
            .await
            .map_err(pg_err("listing teams"))?;
        let mut teams = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(t) = team_row(r, 0).map_err(pg_err("listing teams"))? {
                teams.push(t.into_team()?);
            }
        }
        Ok(page_of(teams, limit, |t| t.id.clone()))
    }

    async fn update_team_now(
        &self,
        id: TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> Result<Changed<Team>, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("updating a team"))?;
        let before = load_team(&*tx, id.as_str(), true)
            .await?
            .ok_or(StorageError::NotFound("team"))?;
        let mut after = before.clone();
        update.apply(&mut after, now_ms);
        tx.execute(
            "UPDATE teams SET name = $2, scope = $3, metadata = $4, updated_at = $5 WHERE id = $1",
            &[
                &id.as_str(),
                &after.name,
                &to_json(&after.scope, "team scope")?,
                &to_json(&after.metadata, "team metadata")?,
                &after.updated_at,
            ],
        )
        .await
        .map_err(pg_err("updating a team"))?;
        tx.commit().await.map_err(pg_err("updating a team"))?;
        Ok(Changed { before, after })
    }

    async fn delete_team_now(&self, id: TeamId) -> Result<TeamDeleted, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("deleting a team"))?;
        let team = load_team(&*tx, id.as_str(), true)
            .await?
            .ok_or(StorageError::NotFound("team"))?;
        let keys = delete_keys(&*tx, "team_id", id.as_str()).await?;
        tx.execute("DELETE FROM teams WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(pg_err("deleting a team"))?;
        tx.commit().await.map_err(pg_err("deleting a team"))?;
        Ok(TeamDeleted { team, keys })
    }
}

impl KeyStore for PostgresKeyStore {
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>> {
        Box::pin(self.lookup(*hash))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.db.client().await?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(pg_err("pinging the database"))?;
            Ok(())
        })
    }

    fn create_key(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.create(record))
    }

    fn get_key(&self, id: &KeyId) -> StoreFuture<'_, Option<KeyRecord>> {
        let id = id.clone();
        Box::pin(async move {
            let client = self.db.client().await?;
            load_key(&**client, id.as_str()).await
        })
    }

    fn list_keys(&self, query: KeyQuery) -> StoreFuture<'_, Page<KeyRecord, KeyId>> {
        Box::pin(self.list(query))
    }

    fn update_key(
        &self,
        id: &KeyId,
        update: KeyUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(async move {
            self.change_key(&id, KeyChange::Update(update), now_ms)
                .await
        })
    }

    fn rotate_key(
        &self,
        id: &KeyId,
        rotation: Rotation,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(async move {
            self.change_key(&id, KeyChange::Rotate(rotation), now_ms)
                .await
        })
    }

    fn revoke_key(&self, id: &KeyId, now_ms: i64) -> StoreFuture<'_, Changed<KeyRecord>> {
        let id = id.clone();
        Box::pin(async move { self.change_key(&id, KeyChange::Revoke, now_ms).await })
    }

    fn delete_key(&self, id: &KeyId) -> StoreFuture<'_, KeyRecord> {
        Box::pin(self.delete(id.clone()))
    }

    fn create_team(&self, team: Team) -> StoreFuture<'_, ()> {
        Box::pin(self.create_team_now(team))
    }

    fn get_team(&self, id: &TeamId) -> StoreFuture<'_, Option<Team>> {
        let id = id.clone();
        Box::pin(async move {
            let client = self.db.client().await?;
            load_team(&**client, id.as_str(), false).await
        })
    }

    fn list_teams(&self, query: TeamQuery) -> StoreFuture<'_, Page<Team, TeamId>> {
        Box::pin(self.list_teams_now(query))
    }

    fn update_team(
        &self,
        id: &TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<Team>> {
        Box::pin(self.update_team_now(id.clone(), update, now_ms))
    }

    fn delete_team(&self, id: &TeamId) -> StoreFuture<'_, TeamDeleted> {
        Box::pin(self.delete_team_now(id.clone()))
    }
}
