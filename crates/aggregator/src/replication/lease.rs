//! The replication lease: exactly one replica of the aggregator replicates at a time.
//!
//! On PostgreSQL the lease is a session advisory lock taken on a dedicated connection: it lasts as
//! long as that session, so a crashed replica's lease ends with its connection. On SQLite it is a
//! row in `replication_lease` naming the holder until an expiry the holder keeps pushing forward.

use std::time::Duration;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, Statement,
    sea_query::{Expr, ExprTrait},
};
use tokio_util::sync::CancellationToken;

use crate::{error::Result, store::replication_lease as table};

/// The advisory lock key ("tribrepl" in ASCII).
const ADVISORY_KEY: i64 = 0x7472_6962_7265_706c;
/// The lease row's name.
const LEASE_NAME: &str = "replication";

/// This replica's claim on the lease.
pub(super) struct Lease {
    db: DatabaseConnection,
    database_url: String,
    ttl: Duration,
    holder: String,
    /// PostgreSQL: the session holding the advisory lock.
    session: Option<DatabaseConnection>,
}

impl Lease {
    /// A claim on the lease of the database behind `db` (`database_url` opens the dedicated
    /// PostgreSQL session); the SQLite lease lasts `ttl` without renewal.
    pub(super) fn new(db: DatabaseConnection, database_url: String, ttl: Duration) -> Self {
        Self {
            db,
            database_url,
            ttl,
            holder: tributary_runtime::db::random_hex(16),
            session: None,
        }
    }

    fn retry_interval(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_millis(100))
    }

    /// Waits until this replica holds the lease (true) or `stop` fires (false).
    pub(super) async fn acquire(&mut self, stop: &CancellationToken) -> bool {
        loop {
            match self.try_acquire().await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "taking the replication lease failed");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(self.retry_interval()) => {}
            }
        }
    }

    /// Returns when the lease is lost (renewal failed or another replica holds it); keeps it
    /// until then. Never returns while the lease is held.
    pub(super) async fn hold(&mut self, stop: &CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return std::future::pending().await,
                () = tokio::time::sleep(self.retry_interval()) => {}
            }
            match self.try_acquire().await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(error = %error, "renewing the replication lease failed");
                    return;
                }
            }
        }
    }

    /// Gives the lease up so another replica can take it at once.
    pub(super) async fn release(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session
                .execute_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT pg_advisory_unlock_all()",
                ))
                .await;
            let _ = session.close().await;
            return;
        }
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            let released = table::Entity::delete_many()
                .filter(table::Column::Name.eq(LEASE_NAME))
                .filter(table::Column::Holder.eq(&self.holder))
                .exec(&self.db)
                .await;
            if let Err(error) = released {
                tracing::warn!(error = %error, "releasing the replication lease failed");
            }
        }
    }

    async fn try_acquire(&mut self) -> Result<bool> {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => self.try_advisory_lock().await,
            _ => self.try_lease_row().await,
        }
    }

    /// Takes (or confirms) the advisory lock; session locks nest, so asking again while holding it
    /// only confirms the session still exists.
    async fn try_advisory_lock(&mut self) -> Result<bool> {
        if self.session.is_none() {
            let mut options = ConnectOptions::new(self.database_url.clone());
            options
                .max_connections(1)
                .min_connections(1)
                .sqlx_logging(false);
            self.session = Some(Database::connect(options).await?);
        }
        let Some(session) = &self.session else {
            return Ok(false);
        };
        let row = session
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                format!("SELECT pg_try_advisory_lock({ADVISORY_KEY}) AS locked"),
            ))
            .await;
        match row {
            Ok(Some(row)) => Ok(row.try_get::<bool>("", "locked")?),
            Ok(None) => Ok(false),
            Err(error) => {
                // A broken session may have lost the lock: start from a fresh one.
                if let Some(session) = self.session.take() {
                    let _ = session.close().await;
                }
                Err(error.into())
            }
        }
    }

    /// Takes the row when it is free, expired or ours, pushing its expiry forward.
    async fn try_lease_row(&self) -> Result<bool> {
        let now = super::now_micros();
        let expires = now + i64::try_from(self.ttl.as_micros()).unwrap_or(i64::MAX / 2);
        let transaction = super::begin_write(&self.db).await?;
        let current = table::Entity::find_by_id(LEASE_NAME.to_string())
            .one(&transaction)
            .await?;
        let taken = match current {
            None => {
                table::Entity::insert(table::ActiveModel {
                    name: Set(LEASE_NAME.to_string()),
                    holder: Set(self.holder.clone()),
                    expires_at_micros: Set(expires),
                })
                .exec_without_returning(&transaction)
                .await?;
                true
            }
            Some(row) if row.holder == self.holder || row.expires_at_micros < now => {
                let updated = table::Entity::update_many()
                    .col_expr(table::Column::Holder, Expr::value(self.holder.clone()))
                    .col_expr(table::Column::ExpiresAtMicros, Expr::value(expires))
                    .filter(table::Column::Name.eq(LEASE_NAME))
                    .filter(table::Column::Holder.eq(row.holder))
                    .filter(Expr::col(table::Column::ExpiresAtMicros).eq(row.expires_at_micros))
                    .exec(&transaction)
                    .await?;
                updated.rows_affected == 1
            }
            Some(_) => false,
        };
        transaction.commit().await?;
        Ok(taken)
    }
}
