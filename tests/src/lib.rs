//! Test support for ipt-bot's end-to-end tests: stores on both backends,
//! and a recording stand-in for a chat platform.
//!
//! Postgres comes from `IPT_TEST_POSTGRES_URL`, else the local server on
//! 127.0.0.1:5432 (database `test`). Each test gets its own schema, dropped
//! when the test passes. Without a reachable server the Postgres variants
//! print `SKIPPED` loudly, and fail when `CI` is set.

// Spawning matrix-sdk's sync futures needs a deeper type recursion limit.
#![recursion_limit = "256"]

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipt_core::outbox::{Delivery, DeliveryResult, DeliverySink};
use ipt_core::store::{ConnectOptions, PostgresStore, SqliteStore, Store};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The Postgres server tests use, if one answers.
pub fn postgres_url() -> String {
    std::env::var("IPT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A fresh, migrated SQLite store in a temporary directory (kept while the
/// guard lives).
pub async fn sqlite_store() -> (SqliteStore, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&url, &ConnectOptions::default())
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (store, dir)
}

/// A migrated Postgres store in a fresh schema, or `None` (after a loud
/// SKIPPED line) when no server answers outside CI.
pub async fn postgres_store() -> Option<(PostgresStore, PgSchema)> {
    let url = postgres_url();
    let mut admin = match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(error) => {
            if in_ci() {
                panic!("Postgres is required in CI but {url} did not answer: {error}");
            }
            // Written to the real stderr, past the test harness's capture, so
            // a skip is seen even when the test "passes".
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: Postgres test (no server at {url}: {error}); set IPT_TEST_POSTGRES_URL"
            );
            return None;
        }
    };
    let schema = format!("ipt_t_{:016x}", rand::random::<u64>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("postgres url")
        .options([("search_path", schema.as_str())]);
    let store = PostgresStore::connect_with(options, &ConnectOptions::default())
        .await
        .expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some((store, PgSchema { url, schema }))
}

/// A per-test Postgres schema; [`PgSchema::drop_now`] removes it.
#[derive(Debug)]
pub struct PgSchema {
    url: String,
    schema: String,
}

impl PgSchema {
    /// A new, independent pool on this schema (as a second process, or the
    /// same process after a restart, would have).
    pub async fn connect(&self) -> PostgresStore {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("postgres url")
            .options([("search_path", self.schema.as_str())]);
        PostgresStore::connect_with(options, &ConnectOptions::default())
            .await
            .expect("connect postgres")
    }

    /// Drops the schema and everything in it.
    pub async fn drop_now(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                self.schema
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// A database that outlives the stores opened on it, so tests can stop a
/// runtime and start another on the same data.
#[derive(Debug)]
pub enum TestDb {
    /// An SQLite file in a temporary directory.
    Sqlite(tempdir::TempDir),
    /// A schema on the test Postgres server.
    Postgres(PgSchema),
}

impl TestDb {
    /// A fresh SQLite database.
    pub fn sqlite() -> Self {
        Self::Sqlite(tempdir::TempDir::new())
    }

    /// A fresh Postgres schema, or `None` (see [`postgres_store`]).
    pub async fn postgres() -> Option<Self> {
        let (store, schema) = postgres_store().await?;
        store.close().await;
        Some(Self::Postgres(schema))
    }

    /// Opens a new store (its own pool) on this database, migrated.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.path().join("bot.db").display());
                let store = SqliteStore::connect(&url, &ConnectOptions::default())
                    .await
                    .expect("open sqlite");
                store.migrate().await.expect("migrate sqlite");
                Arc::new(store)
            }
            Self::Postgres(schema) => {
                let store = schema.connect().await;
                store.migrate().await.expect("migrate postgres");
                Arc::new(store)
            }
        }
    }

    /// Everything the database holds, as text, the way an outsider would
    /// read it: for SQLite the raw bytes of the file and its `-wal` and
    /// `-shm` files (as `strings` would find deleted rows in free pages),
    /// for Postgres every row of every table in the schema.
    pub async fn dump(&self) -> String {
        match self {
            Self::Sqlite(dir) => {
                let mut out = String::new();
                for name in ["bot.db", "bot.db-wal", "bot.db-shm"] {
                    if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                out
            }
            Self::Postgres(schema) => {
                let mut conn = PgConnection::connect(&schema.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
                )
                .bind(&schema.schema)
                .fetch_all(&mut conn)
                .await
                .expect("list tables");
                let mut out = String::new();
                for table in tables {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text FROM {}.{} t",
                        schema.schema, table
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .expect("dump table");
                    for row in rows {
                        out.push_str(&table);
                        out.push(' ');
                        out.push_str(&row);
                        out.push('\n');
                    }
                }
                out
            }
        }
    }

    /// Removes the database.
    pub async fn remove(self) {
        if let Self::Postgres(schema) = self {
            schema.drop_now().await;
        }
    }
}

/// Runs `test` against a fresh SQLite store.
pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (store, _dir) = sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    test(store.clone()).await;
    store.close().await;
}

/// Runs `test` against a fresh Postgres schema (see the module docs for
/// what happens without a server).
pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some((store, schema)) = postgres_store().await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(store);
    test(store.clone()).await;
    store.close().await;
    schema.drop_now().await;
}

/// Defines each listed `async fn name(store: Arc<dyn Store>)` as a test on
/// SQLite (`sqlite::name`) and on Postgres (`postgres::name`).
#[macro_export]
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::with_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::with_postgres(super::$name).await;
                }
            )*
        }
    };
}

/// A stand-in for a chat platform that honours idempotency keys the way
/// Matrix transaction ids and Discord nonces do: a repeated key is accepted
/// but shown once. It records every call so tests can tell "sent twice" from
/// "shown twice".
#[derive(Debug, Default)]
pub struct RecordingPlatform {
    calls: Mutex<Vec<String>>,
    shown: Mutex<HashMap<String, usize>>,
    delay: Duration,
    hang_on: Mutex<Option<String>>,
}

impl RecordingPlatform {
    /// A platform that takes `delay` for each delivery.
    pub fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// The next delivery with this key is accepted (shown) but its call never
    /// returns, as when the process dies while waiting for the response.
    /// Only the first such delivery hangs.
    pub fn hang_after_accepting(&self, key: &str) {
        *self.hang_on.lock().unwrap() = Some(key.to_owned());
    }

    /// Every key ever sent, in call order (repeats included).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// How many distinct messages were shown (a repeated key is shown once,
    /// as on the real platforms; tests count repeats with [`Self::calls`]).
    pub fn shown_count(&self) -> usize {
        self.shown.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl DeliverySink for RecordingPlatform {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryResult {
        let key = delivery.idempotency_key.clone();
        self.calls.lock().unwrap().push(key.clone());
        tokio::time::sleep(self.delay).await;
        // Like a Matrix transaction id: a second send with a known key is
        // accepted but not shown again.
        self.shown.lock().unwrap().entry(key.clone()).or_insert(1);
        let hang = {
            let mut hang_on = self.hang_on.lock().unwrap();
            let hit = hang_on.as_deref() == Some(key.as_str());
            if hit {
                *hang_on = None;
            }
            hit
        };
        if hang {
            std::future::pending::<()>().await;
        }
        DeliveryResult::Delivered
    }
}

/// Polls `check` every 10 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

pub mod cutproxy;
pub mod mx;
pub mod synapse;

/// Minimal temporary directories, removed on drop.
pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory under the system temp dir, removed on drop.
    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        /// Creates a fresh, uniquely named directory.
        pub fn new() -> Self {
            let path =
                std::env::temp_dir().join(format!("ipt-test-{:016x}", rand::random::<u64>()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            Self(path)
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Default for TempDir {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The Matrix test group `!g:example.org` (moderators in `!mods:example.org`,
/// region GB) in `zone`, with an optional check-in cron and its settings.
pub fn matrix_group(
    zone: &str,
    checkin_cron: Option<&str>,
    settings: ipt_core::model::GroupSettings,
) -> ipt_core::model::NewGroup {
    ipt_core::model::NewGroup {
        platform: ipt_core::ids::Platform::Matrix,
        external_id: "!g:example.org".into(),
        moderator_channel: Some("!mods:example.org".into()),
        region: "GB".into(),
        timezone: zone.into(),
        checkin_cron: checkin_cron.map(str::to_owned),
        settings,
    }
}

/// Whether the store knows the Matrix user `id` at all.
pub async fn knows_member(store: &dyn Store, id: &str) -> bool {
    store
        .member(&ipt_core::ids::MemberRef::new(
            ipt_core::ids::Platform::Matrix,
            id,
        ))
        .await
        .expect("member lookup")
        .is_some()
}
