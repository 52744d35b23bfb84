//! The SQLite store: the embedded default. WAL mode, a busy timeout, the
//! file created if missing.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::{Backend, ConnectOptions, claim_sql, shared_store_impl};
use crate::Result;
use crate::clock::Timestamp;

/// Creates the database file readable by its owner only, before SQLite
/// opens it: it holds health data. SQLite gives its `-wal` and `-shm` files
/// the main file's mode. An existing file that others can read is tightened
/// to 0600, with a log line saying so.
fn create_private(path: &std::path::Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| crate::Error::Database(sqlx::Error::Io(e));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io)?;
                    tracing::info!(path = %path.display(), "database file was readable by others; now 0600");
                }
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.as_os_str().to_owned();
                    side.push(suffix);
                    let side = std::path::PathBuf::from(side);
                    if let Ok(meta) = std::fs::metadata(&side)
                        && meta.permissions().mode() & 0o077 != 0
                    {
                        std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600))
                            .map_err(io)?;
                    }
                }
            }
            // A missing folder and the like: SQLite reports it as it would.
            Err(_) => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

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
            .journal_mode(if in_memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            // NORMAL is durable against application crashes in WAL mode; only
            // a power loss can roll back the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            // Deleted rows (a member's notes after `mydata delete`) are
            // overwritten with zeros instead of lingering in free pages.
            .pragma("secure_delete", "ON");
        if !in_memory {
            create_private(connect.get_filename())?;
        }
        // Every connection to ":memory:" is its own database: keep exactly one.
        let max = if in_memory {
            1
        } else {
            options.max_connections.max(1)
        };
        let mut pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(options.acquire_timeout)
            // A connection to a local file does not go stale the way a
            // network connection does; pinging it on every checkout costs a
            // round trip to sqlx's worker thread on every query.
            .test_before_acquire(false);
        if in_memory {
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        Ok(Self {
            pool: pool.connect_with(connect).await?,
        })
    }

    /// The underlying pool, for benchmarks and diagnostics.
    pub fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    /// Settles the listed rows still under `lease`. SQLite has no array
    /// parameter, so the ids travel as one JSON array.
    async fn mark_delivered_impl(
        &self,
        lease: i64,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> Result<usize> {
        let ids = serde_json::to_string(&ids).map_err(|e| crate::Error::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'delivered', delivered_at = $3, available_at = NULL, \
             lease = NULL WHERE lease = $1 AND id IN (SELECT value FROM json_each($2))",
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

shared_store_impl!(SqliteStore, Sqlite, Backend::Sqlite);
