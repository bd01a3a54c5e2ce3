//! Fresh PostgreSQL databases for one test, dropped afterwards. The server comes from
//! `TRIBUTARY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, Database};

/// The administrative URL tests create their databases through.
pub fn admin_url() -> String {
    std::env::var("TRIBUTARY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// The URL of database `name` on the same server as `admin_url`.
fn url_of(admin_url: &str, name: &str) -> String {
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{name}")
}

/// Databases created for one test, one per service, named `trb_<random>_<service>`.
pub struct TestDatabases {
    prefix: String,
    created: Arc<Mutex<Vec<String>>>,
}

impl TestDatabases {
    pub async fn new() -> Self {
        Self {
            prefix: format!("trb_{}", tributary_runtime::db::random_hex(6)),
            created: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Creates one database now and returns its URL.
    pub async fn create(&self, service: &str) -> String {
        create_database(&self.prefix, service, &self.created).await
    }

    /// A factory for the cluster: it creates each service's database on demand. Creation runs on
    /// its own thread because the factory is called from async code without awaiting.
    pub fn url_factory(&self) -> Box<dyn Fn(&str) -> String + Send + Sync> {
        let prefix = self.prefix.clone();
        let created = self.created.clone();
        Box::new(move |service| {
            let prefix = prefix.clone();
            let created = created.clone();
            let service = service.to_string();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(create_database(&prefix, &service, &created))
            })
            .join()
            .expect("database creation does not panic")
        })
    }
}

async fn create_database(prefix: &str, service: &str, created: &Mutex<Vec<String>>) -> String {
    let admin = admin_url();
    let name = format!(
        "{prefix}_{}",
        service.replace(|character: char| !character.is_ascii_alphanumeric(), "_")
    );
    let connection = Database::connect(admin.as_str())
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin} is reachable: {error}"));
    connection
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("the test database is created");
    connection.close().await.ok();
    created.lock().expect("not poisoned").push(name.clone());
    url_of(&admin, &name)
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        let names = std::mem::take(
            &mut *self
                .created
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        if names.is_empty() {
            return;
        }
        // Drop runs inside the test's runtime, so the cleanup gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let connection = Database::connect(admin_url().as_str()).await.ok()?;
                for name in names {
                    let _ = connection
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
                connection.close().await.ok()
            })
        })
        .join();
    }
}

impl TestDatabases {
    /// The URL of the database `create` made (or the cluster's factory made) for `service`.
    pub fn url(&self, service: &str) -> String {
        let name = format!(
            "{}_{}",
            self.prefix,
            service.replace(|character: char| !character.is_ascii_alphanumeric(), "_")
        );
        url_of(&admin_url(), &name)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_keep_the_server() {
        assert_eq!(
            super::url_of("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
    }
}
