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
mod conn;
mod highlight;
mod http;
mod live;
mod metrics;
mod openapi;
mod pages;
mod routes;
mod svg;
mod tokens;
pub mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tern_catalog::Store;
use tern_forge::Forge;

pub use auth::{create_token, hash_token, DEFAULT_TTL_SECS};
pub use openapi::document as openapi_document;
pub use routes::{Access, Kind, Route, ROUTES};
pub use tokens::{day, parse_expiry, token_json};

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
    /// Connections open, by peer address ([`conn::MAX_PER_PEER`]).
    pub peers: Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    /// Every open connection, so a shutdown can end the ones waiting to read.
    pub conns: Mutex<std::collections::HashMap<u64, std::net::TcpStream>>,
    pub next_conn: std::sync::atomic::AtomicU64,
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
            peers: Mutex::default(),
            conns: Mutex::default(),
            next_conn: Default::default(),
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

/// A running portal: a thread accepting on one address, and a thread for
/// each open connection, until shut down.
pub struct Server {
    addr: SocketAddr,
    portal: Arc<Portal>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` (`127.0.0.1:0` picks a free port) and starts answering.
    pub fn bind(
        addr: &str,
        store: Arc<dyn Store>,
        forge: Arc<dyn Forge>,
    ) -> Result<Server, PortalError> {
        let bind = |message: String| PortalError::Bind {
            addr: addr.to_string(),
            message,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(|e| bind(e.to_string()))?;
        let local = listener.local_addr().map_err(|e| bind(e.to_string()))?;
        let portal = Arc::new(Portal::new(store, forge));
        let accepting = Arc::clone(&portal);
        let accept = std::thread::Builder::new()
            .name("tern-accept".into())
            .spawn(move || accept_loop(&accepting, &listener))
            .map_err(|e| bind(e.to_string()))?;
        tracing::info!(%local, "portal listening");
        Ok(Server {
            addr: local,
            portal,
            accept: Some(accept),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server is shut down from another thread (or forever).
    pub fn wait(mut self) {
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }

    /// Stops answering: open streams end, connections finish the request
    /// they are answering and close.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.portal.stopping.store(true, Ordering::Relaxed);
        // Wake the accept loop with a connection of our own.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, std::time::Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        // Connections waiting for a request stop waiting.
        for c in self
            .portal
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            let _ = c.shutdown(std::net::Shutdown::Read);
        }
        let until = Instant::now() + std::time::Duration::from_secs(5);
        while Instant::now() < until
            && !self
                .portal
                .peers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Accepts until the portal stops; never waits on a client.
fn accept_loop(portal: &Arc<Portal>, listener: &std::net::TcpListener) {
    for stream in listener.incoming() {
        if portal.stopping.load(Ordering::Relaxed) {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was
                // taken: wait a moment rather than spin.
                tracing::warn!(error = %e, "accept failed");
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        if !conn::admit(portal, peer.ip()) {
            conn::turn_away(stream);
            continue;
        }
        let serving = Arc::clone(portal);
        let spawned = std::thread::Builder::new()
            .name("tern-conn".into())
            .stack_size(1 << 20)
            .spawn(move || conn::serve(&serving, stream, peer));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no thread for a connection");
            conn::leave(portal, peer.ip());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.stop();
        }
    }
}
