//! A fresh PostgreSQL database per test case, from `WEFT_TEST_DATABASE_URL`
//! (`scripts/with-postgres.sh` provides one). Without the URL the cases are
//! skipped, unless `WEFT_REQUIRE_POSTGRES=1`: then they fail, so CI cannot
//! skip them silently.

#![allow(dead_code)]

/// A database `weft_t_<random>` created for one test, dropped after it.
pub struct TestDb {
    /// Its connection string.
    pub url: String,
    admin: String,
    name: String,
}

/// Runs `f` with a connection to `url` on a thread of its own: the
/// synchronous `postgres` client must not run inside a tokio runtime.
pub fn blocking<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        f(&mut c)
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// `url` with its database name replaced.
fn with_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &base[..host_end])
}

impl TestDb {
    /// A fresh database, `None` if PostgreSQL tests are not configured
    /// (and not required).
    pub fn create() -> Option<Self> {
        let admin = match std::env::var("WEFT_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var("WEFT_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!(
                        "WEFT_REQUIRE_POSTGRES=1 but WEFT_TEST_DATABASE_URL is not set: \
                         run the tests under scripts/with-postgres.sh (or point the URL at a server)"
                    );
                }
                eprintln!("skipped: WEFT_TEST_DATABASE_URL is not set");
                return None;
            }
        };
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).expect("randomness");
        let name = format!("weft_t_{}", hex::encode(r));
        let sql = format!("CREATE DATABASE {name}");
        blocking(&admin, move |c| {
            c.batch_execute(&sql)
                .unwrap_or_else(|e| panic!("creating a test database: {e}"))
        });
        Some(Self {
            url: with_db(&admin, &name),
            admin,
            name,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin = self.admin.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&sql);
            }
        })
        .join();
    }
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_db("postgres://weft@127.0.0.1:5432/weft", "x"),
        "postgres://weft@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_db("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_db("postgres://h:1", "x"), "postgres://h:1/x");
}
