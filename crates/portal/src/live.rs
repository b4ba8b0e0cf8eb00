//! Live updates: server-sent event streams that speak when the store changes.
//!
//! A stream polls [`tern_catalog::Store::revision`] (one cheap query) a few
//! times a second and sends an event only when the answer it carries has
//! changed, so a page sees a state change within a fraction of a second
//! whether the portal, `tern run` or `tern approve` made it. Streams end after
//! a while or when the server stops; the browser's EventSource reconnects.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::http::{param, ApiError, Body, Params, Req, Resp};
use crate::{api, auth, Portal, MAX_STREAMS};

const POLL: Duration = Duration::from_millis(250);
const KEEPALIVE: Duration = Duration::from_secs(15);
const LIFETIME: Duration = Duration::from_secs(300);

/// One open stream; holds one of the [`MAX_STREAMS`] places until it ends.
pub struct Stream {
    /// `Some`: the status of this migration; `None`: the store's revision.
    migration: Option<String>,
}

pub fn migration_events(portal: &Portal, req: &Req, p: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let id = param(p, "id");
    api::migration(portal, id)?;
    open(portal, Some(id.to_string()))
}

pub fn catalog_events(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    open(portal, None)
}

fn open(portal: &Portal, migration: Option<String>) -> Result<Resp, ApiError> {
    if portal.streams.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        portal.streams.fetch_sub(1, Ordering::SeqCst);
        return Err(ApiError::new(
            503,
            "too many live streams open; try again shortly",
        ));
    }
    Ok(Resp {
        status: 200,
        content_type: "text/event-stream",
        headers: vec![],
        body: Body::Events(Stream { migration }),
    })
}

impl Stream {
    /// Writes the response head and events until the client leaves, the
    /// stream's lifetime ends, or the server stops.
    pub fn run(self, portal: &Portal, w: &mut dyn Write) {
        let _ = self.pump(portal, w);
        portal.streams.fetch_sub(1, Ordering::SeqCst);
    }

    fn pump(&self, portal: &Portal, w: &mut dyn Write) -> std::io::Result<()> {
        w.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 1000\n\n",
        )?;
        w.flush()?;
        let start = Instant::now();
        let mut last_rev = None;
        let mut last_payload = String::new();
        let mut last_write = Instant::now();
        while start.elapsed() < LIFETIME && !portal.stopping.load(Ordering::Relaxed) {
            let rev = portal.store.revision().ok();
            if rev.is_some() && rev != last_rev {
                last_rev = rev;
                let payload = match &self.migration {
                    Some(id) => api::snapshot(portal, id)
                        .map(|s| s.without_clock().to_string())
                        .unwrap_or_default(),
                    None => format!("{{\"revision\":{}}}", rev.unwrap_or(0)),
                };
                if payload != last_payload {
                    let event = if self.migration.is_some() {
                        "status"
                    } else {
                        "revision"
                    };
                    write!(w, "event: {event}\ndata: {payload}\n\n")?;
                    w.flush()?;
                    last_payload = payload;
                    last_write = Instant::now();
                }
            }
            if last_write.elapsed() > KEEPALIVE {
                w.write_all(b": keep-alive\n\n")?;
                w.flush()?;
                last_write = Instant::now();
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }
}
