//! The SQLite store: the embedded default. WAL mode, a busy timeout, the
//! file created if missing.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::{Backend, ConnectOptions, claim_sql, shared_store_impl};
use crate::Result;

/// [`super::Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteStore {
    // SQLite has one writer at a time, so the claim needs no row locks: the
    // single UPDATE … RETURNING statement is atomic.
    const CLAIM_SQL: &'static str = claim_sql!("");

    /// Opens (creating if missing) the database at `url`.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            // NORMAL is durable against application crashes in WAL mode; only
            // a power loss can roll back the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        // Every connection to ":memory:" is its own database: keep exactly one.
        let max = if in_memory { 1 } else { options.max_connections.max(1) };
        let mut pool = SqlitePoolOptions::new().max_connections(max);
        if in_memory {
            pool = pool.min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        Ok(Self { pool: pool.connect_with(connect).await? })
    }

    /// The underlying pool, for benchmarks and diagnostics.
    pub fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    async fn migrate_impl(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

shared_store_impl!(SqliteStore, Sqlite, Backend::Sqlite);
