//! Errors at the ipt-core boundary.

/// Everything that can go wrong inside ipt-core.
///
/// None of these messages contain secrets: database URLs are never part of
/// an error's text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A database call failed: connection, constraint or query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (unknown enum text, bad JSON).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database URL names a backend we do not support.
    #[error("unsupported database URL: expected sqlite://… or postgres://…")]
    UnsupportedUrl,
}

/// Result with ipt-core's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
