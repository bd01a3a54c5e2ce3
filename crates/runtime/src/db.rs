//! Database connections and the pieces of schema every service shares.
//!
//! SQLite (one file per service, WAL) is the embedded default; PostgreSQL is the production store.
//! Each service keeps its own migrator; it starts with [`CreateSettingsTable`], which holds values a
//! deployment must agree on across restarts and replicas, such as the page-token secret.

use std::{path::Path, str::FromStr, time::Duration};

use rand::RngExt;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use sea_orm_migration::prelude::*;

use crate::{config::ServerSettings, error::Error, paging::PageTokens};

/// Connects to the configured database, applies pending migrations when `migrate_on_start` is on,
/// and returns the connection with the page-token signer.
pub async fn open<M: MigratorTrait>(
    settings: &ServerSettings,
) -> Result<(DatabaseConnection, PageTokens), Error> {
    let db = connect(&settings.database_url).await?;
    if settings.migrate_on_start {
        M::up(&db, None).await?;
    }
    let secret = page_token_secret(&db, settings.page_token_secret.as_deref()).await?;
    Ok((db, PageTokens::new(&secret)))
}

/// Applies pending migrations (the `migrate` subcommand).
pub async fn migrate<M: MigratorTrait>(database_url: &str) -> Result<(), Error> {
    let db = connect(database_url).await?;
    M::up(&db, None).await?;
    let applied = M::get_applied_migrations(&db).await?.len();
    tracing::info!(applied, "migrations are up to date");
    db.close().await?;
    Ok(())
}

/// A one-row counter (`id = 1`) that serialises writers: a write transaction locks the row first
/// (`UPDATE ... SET c = c`, which takes the row lock on PostgreSQL and the write lock on SQLite),
/// assigns the next values, and stores the new value before committing. Because the lock is held
/// until commit, no value becomes visible before every lower one has committed.
#[derive(Debug, Clone, Copy)]
pub struct SerialCounter {
    table: &'static str,
    column: &'static str,
}

impl SerialCounter {
    /// The counter in `column` of the single row of `table`.
    pub const fn new(table: &'static str, column: &'static str) -> Self {
        Self { table, column }
    }

    /// Locks the row for `transaction` (writers queue here) and returns the current value.
    pub async fn lock(&self, transaction: &impl ConnectionTrait) -> Result<u64, DbErr> {
        let backend = transaction.get_database_backend();
        let (table, column) = (self.table, self.column);
        transaction
            .execute_raw(Statement::from_string(
                backend,
                format!("UPDATE {table} SET {column} = {column} WHERE id = 1"),
            ))
            .await?;
        self.read(transaction).await
    }

    /// The current value.
    pub async fn read(&self, db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        let (table, column) = (self.table, self.column);
        let value: i64 = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT {column} AS value FROM {table} WHERE id = 1"),
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("{table} row")))?
            .try_get("", "value")?;
        Ok(<u64 as TryFrom<i64>>::try_from(value).unwrap_or(0))
    }

    /// Stores `value`; call inside the transaction that locked the row.
    pub async fn store(&self, transaction: &impl ConnectionTrait, value: u64) -> Result<(), DbErr> {
        let backend = transaction.get_database_backend();
        let (table, column) = (self.table, self.column);
        let placeholder = match backend {
            DatabaseBackend::Postgres => "$1",
            _ => "?",
        };
        transaction
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("UPDATE {table} SET {column} = {placeholder} WHERE id = 1"),
                [<i64 as TryFrom<u64>>::try_from(value)
                    .unwrap_or(i64::MAX)
                    .into()],
            ))
            .await?;
        Ok(())
    }
}

/// Raises a watched head to `value` if it is higher, waking waiters only when it moves.
pub fn advance_head(head_tx: &tokio::sync::watch::Sender<u64>, value: u64) {
    head_tx.send_if_modified(|head| {
        let advanced = value > *head;
        if advanced {
            *head = value;
        }
        advanced
    });
}

/// Which kind of database a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Classifies a database URL, or explains which URLs are accepted.
    pub fn of_url(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::Config(format!(
                "database_url must start with sqlite:// or postgres://, got {:?}",
                crate::ids::truncate_for_message(url)
            )))
        }
    }
}

/// The URL of an SQLite file, created on first connect.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Opens a connection pool. SQLite files (and their directory) are created if missing and run in
/// WAL mode with `synchronous=NORMAL`: durable across process crashes, and fast.
pub async fn connect(url: &str) -> Result<DatabaseConnection, Error> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            if let Some(path) = sqlite_path(url)
                && let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)?;
            }
            options
                .max_connections(8)
                .min_connections(1)
                .map_sqlx_sqlite_opts(|sqlite: SqliteConnectOptions| {
                    sqlite
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
        }
        Backend::Postgres => {
            options.max_connections(16).min_connections(1);
        }
    }
    Ok(Database::connect(options).await?)
}

/// The file behind an SQLite URL; none for in-memory databases.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// The `tributary_settings` table: named values shared by every process on one database.
pub struct CreateSettingsTable;

#[derive(DeriveIden)]
enum TributarySettings {
    Table,
    Name,
    Value,
}

impl MigrationName for CreateSettingsTable {
    fn name(&self) -> &str {
        "m0000_create_settings_table"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSettingsTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TributarySettings::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(TributarySettings::Name)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TributarySettings::Value).text().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TributarySettings::Table).to_owned())
            .await
    }
}

/// Returns the setting `name`, storing `generate()` first if it is absent. Concurrent callers on
/// one database all get the value that was stored first.
pub async fn setting_or_insert(
    db: &DatabaseConnection,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, Error> {
    let backend = db.get_database_backend();
    let insert = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO tributary_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        }
        _ => {
            "INSERT INTO tributary_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [name.into(), generate().into()],
    ))
    .await?;
    let select = match backend {
        DatabaseBackend::Postgres => "SELECT value FROM tributary_settings WHERE name = $1",
        _ => "SELECT value FROM tributary_settings WHERE name = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            select,
            [name.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("setting {name}")))?;
    Ok(row.try_get("", "value")?)
}

/// The page-token secret: the configured one, or one generated once and kept in the database.
pub async fn page_token_secret(
    db: &DatabaseConnection,
    configured: Option<&str>,
) -> Result<Vec<u8>, Error> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let stored = setting_or_insert(db, "page_token_secret", || random_hex(32)).await?;
    Ok(stored.into_bytes())
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(&mut buffer[..]);
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://postgres@127.0.0.1/test").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::of_url("mysql://x").is_err());
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite://dir/x.db").unwrap(),
            Path::new("dir/x.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn sqlite_files_run_in_wal_mode_with_normal_sync() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&sqlite_url(&dir.path().join("wal.db")))
            .await
            .unwrap();
        let pragma =
            |name: &str| Statement::from_string(DatabaseBackend::Sqlite, format!("PRAGMA {name}"));
        let journal_mode: String = db
            .query_one_raw(pragma("journal_mode"))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(journal_mode, "wal");
        let synchronous: i64 = db
            .query_one_raw(pragma("synchronous"))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(synchronous, 1, "synchronous=NORMAL");
    }

    #[tokio::test]
    async fn settings_keep_the_first_value() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&sqlite_url(&dir.path().join("nested/settings.db")))
            .await
            .unwrap();
        let manager = SchemaManager::new(&db);
        CreateSettingsTable.up(&manager).await.unwrap();
        let first = setting_or_insert(&db, "k", || "one".into()).await.unwrap();
        let second = setting_or_insert(&db, "k", || "two".into()).await.unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
    }
}
