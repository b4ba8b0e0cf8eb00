//! `tern serve`: the portal where owners follow, approve and roll back a
//! migration, and the JSON API that does everything the CLI does.
//!
//! The portal is a thin HTTP face on the same [`Store`] and [`Forge`] the CLI
//! uses: every page and every API answer is computed from the catalog (cached
//! by the store's [`Store::revision`]), and every action goes through
//! [`tern_fleet::Fleet`], so the portal holds no campaign logic of its own.
//! Pages are rendered on the server (maud) with a little plain JavaScript for
//! filtering and live updates over server-sent events; there is no build step
//! and no Node at run time.
//!
//! ```no_run
//! use std::sync::Arc;
//! let store: Arc<dyn tern_catalog::Store> = Arc::from(tern_catalog::open("sqlite:tern.db").unwrap());
//! let forge = Arc::new(tern_local_forge::LocalForge::default());
//! let server = tern_portal::Server::bind("127.0.0.1:7878", store, forge).unwrap();
//! println!("http://{}", server.addr());
//! server.wait();
//! ```
//!
//! Only this crate speaks HTTP. It prints nothing; it logs with `tracing`.

mod api;
mod auth;
mod highlight;
mod http;
mod live;
mod metrics;
mod openapi;
mod pages;
mod routes;
mod svg;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tern_catalog::Store;
use tern_forge::Forge;

pub use auth::{create_token, hash_token};
pub use openapi::document as openapi_document;
pub use routes::{Access, Kind, Route, ROUTES};

/// Why the portal could not start.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// What was asked for.
        addr: String,
        /// The system's words.
        message: String,
    },
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] tern_catalog::CatalogError),
    /// The user given to a token is not in the catalog.
    #[error("{0}")]
    UnknownUser(String),
}

/// Threads answering requests. Live-update streams hold one each, so there
/// are more than cores; at most [`MAX_STREAMS`] of them may stream at once.
const THREADS: usize = 16;
/// Live-update streams open at once; more get 503 and the browser retries.
const MAX_STREAMS: usize = 8;

/// Everything a request handler needs; shared by every thread.
pub(crate) struct Portal {
    pub store: Arc<dyn Store>,
    pub forge: Arc<dyn Forge>,
    pub metrics: metrics::Metrics,
    /// Status JSON by migration.
    pub status_cache: Mutex<std::collections::HashMap<String, CachedStatus>>,
    /// Migrations with a retry running in the background.
    pub busy: Arc<Mutex<std::collections::HashSet<String>>>,
    pub stopping: AtomicBool,
    pub streams: AtomicUsize,
    pub started: Instant,
}

impl Portal {
    pub fn new(store: Arc<dyn Store>, forge: Arc<dyn Forge>) -> Portal {
        Portal {
            store,
            forge,
            metrics: metrics::Metrics::default(),
            status_cache: Mutex::new(Default::default()),
            busy: Arc::default(),
            stopping: AtomicBool::new(false),
            streams: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    pub fn fleet(&self) -> tern_fleet::Fleet<'_> {
        tern_fleet::Fleet {
            store: self.store.as_ref(),
            forge: self.forge.as_ref(),
        }
    }
}

/// A migration's status as last computed: the value, and its renderings
/// made once, when first asked for.
pub(crate) struct CachedStatus {
    /// The store revision it was computed at.
    pub revision: u64,
    /// When.
    pub at: Instant,
    pub snapshot: Arc<api::Snapshot>,
}

/// A running portal: threads answering on one address until shut down.
pub struct Server {
    addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    portal: Arc<Portal>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` (`127.0.0.1:0` picks a free port) and starts answering.
    pub fn bind(
        addr: &str,
        store: Arc<dyn Store>,
        forge: Arc<dyn Forge>,
    ) -> Result<Server, PortalError> {
        let http = tiny_http::Server::http(addr).map_err(|e| PortalError::Bind {
            addr: addr.to_string(),
            message: e.to_string(),
        })?;
        let local = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| PortalError::Bind {
                addr: addr.to_string(),
                message: "not an IP address".into(),
            })?;
        let http = Arc::new(http);
        let portal = Arc::new(Portal::new(store, forge));
        let threads = (0..THREADS)
            .map(|_| {
                let http = Arc::clone(&http);
                let portal = Arc::clone(&portal);
                std::thread::spawn(move || {
                    while let Ok(rq) = http.recv() {
                        if portal.stopping.load(Ordering::Relaxed) {
                            break;
                        }
                        http::handle(&portal, rq);
                    }
                })
            })
            .collect();
        tracing::info!(%local, "portal listening");
        Ok(Server {
            addr: local,
            http,
            portal,
            threads,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server is shut down from another thread (or forever).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Stops answering: open streams end, threads finish their request and exit.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.portal.stopping.store(true, Ordering::Relaxed);
        for _ in 0..self.threads.len() {
            self.http.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop();
        }
    }
}
