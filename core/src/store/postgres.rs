//! The Postgres store: for several bot processes sharing one database.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, Pool, Postgres};

use super::{Backend, ConnectOptions, claim_sql, shared_store_impl};
use crate::Result;
use crate::clock::Timestamp;

/// [`super::Store`] on Postgres.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl PostgresStore {
    // Several processes claim at once: SKIP LOCKED lets each take rows no
    // other transaction holds, instead of waiting on them or double-claiming.
    const CLAIM_SQL: &'static str = claim_sql!("FOR UPDATE SKIP LOCKED");

    /// Connects to `url`.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)?;
        Self::connect_with(connect, options).await
    }

    /// Connects with prepared options (tests use this to set a schema).
    pub async fn connect_with(connect: PgConnectOptions, options: &ConnectOptions) -> Result<Self> {
        // One direct connection first: the pool retries a failed connect
        // until `acquire_timeout` and then reports only "pool timed out",
        // which hides the cause (refused, unknown host, bad password) and
        // keeps the user waiting for it.
        let probe = PgConnection::connect_with(&connect).await?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        Ok(Self { pool })
    }

    /// The underlying pool, for benchmarks and diagnostics.
    pub fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// Settles the listed rows still under `lease`.
    async fn mark_delivered_impl(
        &self,
        lease: i64,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> Result<usize> {
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'delivered', delivered_at = $3, available_at = NULL, \
             lease = NULL WHERE lease = $1 AND id = ANY($2)",
        )
        .bind(lease)
        .bind(ids)
        .bind(now.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() as usize)
    }

    async fn migrate_impl(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

shared_store_impl!(PostgresStore, Postgres, Backend::Postgres);
