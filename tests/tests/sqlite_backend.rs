//! What only the SQLite backend promises: the file is created if missing,
//! in WAL mode with a busy timeout, and two processes' worth of pools can
//! write to it at once without "database is locked" failures.

use std::sync::Arc;

use ipt_core::clock::from_millis;
use ipt_core::ids::Platform;
use ipt_core::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use ipt_core::store::{ConnectOptions, SqliteStore, Store};
use ipt_tests::tempdir::TempDir;

#[tokio::test]
async fn test_sqlite_file_is_created_in_wal_mode() {
    let dir = TempDir::new();
    let path = dir.path().join("nested-is-not-needed.db");
    assert!(!path.exists());
    let store = SqliteStore::connect(
        &format!("sqlite://{}", path.display()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, 10_000);
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_two_pools_on_one_file_write_concurrently_without_lock_errors() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = SqliteStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    a.migrate().await.unwrap();
    let b = SqliteStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    let stores: [Arc<dyn Store>; 2] = [Arc::new(a), Arc::new(b)];
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    let d = NewDelivery {
                        kind: DeliveryKind::Notice,
                        target: Target::member(Platform::Console, "you"),
                        payload: Payload {
                            text: "hi".into(),
                            ..Payload::default()
                        },
                        idempotency_key: format!("{s}-{w}-{i}"),
                        not_before: None,
                        group: None,
                        about: None,
                    };
                    store.enqueue(&[d], from_millis(0)).await.unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(stores[0].pending_deliveries().await.unwrap(), 400);
}

#[tokio::test]
async fn test_in_memory_sqlite_keeps_one_database() {
    let store = SqliteStore::connect("sqlite::memory:", &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let d = NewDelivery {
        kind: DeliveryKind::Notice,
        target: Target::member(Platform::Console, "you"),
        payload: Payload::default(),
        idempotency_key: "k".into(),
        not_before: None,
        group: None,
        about: None,
    };
    store.enqueue(&[d], from_millis(0)).await.unwrap();
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        1,
        "every query sees the same memory database"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn test_database_and_its_wal_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let path = dir.path().join("health.db");
    let store = SqliteStore::connect(
        &format!("sqlite://{}", path.display()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    for name in ["health.db", "health.db-wal", "health.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {:o}", mode & 0o777);
    }
    store.close().await;
    // A file made readable by others before (an older version) is tightened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = SqliteStore::connect(
        &format!("sqlite://{}", path.display()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    again.close().await;
}
