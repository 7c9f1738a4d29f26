//! `RedisLimiter`: the limiter shared by every replica, one Lua script call per tag per request.

use std::time::Duration;

use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::StorageError;
use crate::limiter::{
    Admission, AdmitResult, Admitted, BudgetPeriod, Limiter, LimiterFuture, Reservation, Settlement,
};
use crate::redis::calls::{self, Call, Finish, Part, PartReply};
use crate::redis::conn::{self, Conn, UNAVAILABLE, unavailable};
use crate::redis::keys;

/// The Redis-backed limiter; see the `redis` module docs for what is atomic with what.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: Conn,
    pool: Option<deadpool_redis::Pool>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Single(_) => "single",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisLimiter")
            .field("mode", &mode)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// How to reach Redis.
#[derive(Clone, Default)]
pub struct RedisOptions {
    /// Bounds every call: connect, response, and the whole round trip; past it the call is
    /// `StorageError::Unavailable`. Zero means one second.
    pub timeout: Duration,
    /// For `rediss://` URLs: the CA certificate (PEM) to trust instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("timeout", &self.timeout)
            .field("ca_pem", &self.ca_pem.is_some())
            .finish()
    }
}

impl RedisOptions {
    /// Plain options with this timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ca_pem: None,
        }
    }

    pub(crate) fn effective_timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            Duration::from_secs(1)
        } else {
            self.timeout
        }
    }

    fn certs(&self) -> Option<redis::TlsCertificates> {
        self.ca_pem.as_ref().map(|pem| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        })
    }
}

/// rustls needs one process-wide crypto provider; ring is the one the workspace builds.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `url`, trusting `options.ca_pem` when given.
pub(crate) fn client(url: &str, options: &RedisOptions) -> Result<redis::Client, StorageError> {
    install_crypto_provider();
    match options.certs() {
        Some(certs) => redis::Client::build_with_tls(url, certs),
        None => redis::Client::open(url),
    }
    .map_err(|e| unavailable(&e))
}

impl RedisLimiter {
    /// Connect to one Redis (`redis://host:port` or `rediss://…`).
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, StorageError> {
        let timeout = options.effective_timeout();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            timeout,
            ConnectionManager::new_with_config(client(url, options)?, config),
        )
        .await
        .map_err(|_| UNAVAILABLE)?
        .map_err(|e| unavailable(&e))?;
        // deadpool-redis takes a URL only, so with a private CA the manager does pooled work.
        let pool = match options.ca_pem {
            Some(_) => None,
            None => Some(
                deadpool_redis::Config::from_url(url)
                    .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                    .map_err(|_| StorageError::Unavailable("redis pool"))?,
            ),
        };
        Ok(Self {
            conn: Conn::Single(manager),
            pool,
            timeout,
        })
    }

    /// Connect to a Redis Cluster through any of its `nodes`.
    pub async fn connect_cluster(
        nodes: &[String],
        options: &RedisOptions,
    ) -> Result<Self, StorageError> {
        install_crypto_provider();
        let timeout = options.effective_timeout();
        let mut builder = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(1);
        if let Some(certs) = options.certs() {
            builder = builder.certs(certs);
        }
        let client = builder.build().map_err(|e| unavailable(&e))?;
        let conn = tokio::time::timeout(timeout, client.get_async_connection())
            .await
            .map_err(|_| UNAVAILABLE)?
            .map_err(|e| unavailable(&e))?;
        Ok(Self {
            conn: Conn::Cluster(conn),
            pool: None,
            timeout,
        })
    }

    /// Admissions in one round trip (plus one more to give back the taken part of an
    /// admission whose other part was refused).
    async fn admit_many(&self, admissions: &[Admission]) -> Result<Vec<AdmitResult>, StorageError> {
        let mut calls: Vec<Call> = Vec::new();
        let mut index: Vec<(usize, Part)> = Vec::new();
        for (i, a) in admissions.iter().enumerate() {
            for part in [Part::Local, Part::Global] {
                if calls::has_part(a, part) {
                    calls.push(calls::admit(a, part));
                    index.push((i, part));
                }
            }
        }
        let replies = self.conn.run(&calls, self.timeout).await?;
        let mut parts: Vec<(Option<PartReply>, Option<PartReply>)> =
            admissions.iter().map(|_| (None, None)).collect();
        for ((i, part), reply) in index.into_iter().zip(replies) {
            let reply = decode(&admissions[i], part, reply)?;
            match part {
                Part::Local => parts[i].0 = Some(reply),
                Part::Global => parts[i].1 = Some(reply),
            }
        }
        let mut refunds = Vec::new();
        let mut answers = Vec::with_capacity(admissions.len());
        for (a, (local, global)) in admissions.iter().zip(parts) {
            let answer = match (local, global) {
                (Some(PartReply::Refused(l)), g) => {
                    if matches!(g, Some(PartReply::Taken(_))) {
                        refunds.push(calls::finish(a, Part::Global, Finish::Refund));
                    }
                    Err(l)
                }
                (l, Some(PartReply::Refused(g))) => {
                    if matches!(l, Some(PartReply::Taken(_))) {
                        refunds.push(calls::finish(a, Part::Local, Finish::Refund));
                    }
                    Err(g)
                }
                (l, g) => {
                    let mut buckets = taken(l);
                    buckets.extend(taken(g));
                    Ok(Admitted {
                        reservation: Reservation {
                            admission: a.clone(),
                        },
                        buckets,
                    })
                }
            };
            answers.push(answer);
        }
        for r in self.conn.run(&refunds, self.timeout).await? {
            r.map_err(|e| unavailable(&e))?;
        }
        Ok(answers)
    }

    async fn finish(&self, r: &Reservation, how: Finish<'_>) -> Result<(), StorageError> {
        let a = &r.admission;
        let mut calls = Vec::with_capacity(2);
        if calls::has_part(a, Part::Local) {
            calls.push(calls::finish(a, Part::Local, how));
        }
        // The global part holds only RPM buckets (nothing to finish) unless it has TPM
        // buckets or budgets.
        if r.tpm_buckets().any(|(global, _)| global) || !a.global_budgets.is_empty() {
            calls.push(calls::finish(a, Part::Global, how));
        }
        for reply in self.conn.run(&calls, self.timeout).await? {
            reply.map_err(|e| unavailable(&e))?;
        }
        Ok(())
    }

    /// Runs `pipe` on a pooled connection (the cluster connection on a cluster).
    async fn pooled<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StorageError> {
        conn::round_trips(1);
        let work = async {
            match (&self.pool, &self.conn) {
                (Some(pool), _) => {
                    let mut c = pool.get().await.map_err(|_| UNAVAILABLE)?;
                    pipe.query_async(&mut c).await
                }
                (None, Conn::Cluster(c)) => pipe.query_async(&mut c.clone()).await,
                (None, Conn::Single(c)) => pipe.query_async(&mut c.clone()).await,
            }
            .map_err(|e| unavailable(&e))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| StorageError::Unavailable("redis timeout"))?
    }
}

fn decode(
    a: &Admission,
    part: Part,
    reply: RedisResult<Vec<i64>>,
) -> Result<PartReply, StorageError> {
    let reply = reply.map_err(|e| unavailable(&e))?;
    calls::decode_admit(a, part, &reply).ok_or(StorageError::Unavailable("redis reply"))
}

fn taken(reply: Option<PartReply>) -> Vec<crate::limiter::BucketStatus> {
    match reply {
        Some(PartReply::Taken(b)) => b,
        _ => Vec::new(),
    }
}

impl Limiter for RedisLimiter {
    fn admit<'a>(&'a self, admission: &'a Admission) -> LimiterFuture<'a, AdmitResult> {
        Box::pin(async move {
            let mut answers = self.admit_many(std::slice::from_ref(admission)).await?;
            answers
                .pop()
                .ok_or(StorageError::Unavailable("redis reply"))
        })
    }

    fn admit_batch<'a>(
        &'a self,
        admissions: &'a [Admission],
    ) -> LimiterFuture<'a, Vec<AdmitResult>> {
        Box::pin(self.admit_many(admissions))
    }

    fn settle<'a>(&'a self, r: &'a Reservation, s: &'a Settlement) -> LimiterFuture<'a, ()> {
        Box::pin(self.finish(r, Finish::Settle(s)))
    }

    fn release<'a>(&'a self, reservation: &'a Reservation) -> LimiterFuture<'a, ()> {
        Box::pin(self.finish(reservation, Finish::Release))
    }

    fn set_spent<'a>(&'a self, budget: &'a BudgetPeriod, micro_usd: u64) -> LimiterFuture<'a, ()> {
        Box::pin(async move {
            let key = keys::budget(budget);
            let at = i64::try_from(keys::budget_expire_at(budget)).unwrap_or(i64::MAX);
            let mut pipe = redis::pipe();
            pipe.hset(&key, "spent", micro_usd).ignore();
            pipe.pexpire_at(&key, at).ignore();
            self.pooled::<()>(&pipe).await
        })
    }

    fn spent<'a>(&'a self, budget: &'a BudgetPeriod) -> LimiterFuture<'a, u64> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.hget(keys::budget(budget), "spent");
            let (v,): (Option<u64>,) = self.pooled(&pipe).await?;
            Ok(v.unwrap_or(0))
        })
    }
}
