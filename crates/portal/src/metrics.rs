//! `/metrics` in Prometheus text format.
//!
//! Campaign figures (changes by state, verify durations, error-budget pauses,
//! references left) are read from the store at scrape time, so they agree
//! with `tern status` whoever changed them; HTTP figures are counted here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::http::{ApiError, Params, Req, Resp};
use crate::{api, auth, Portal};

const HTTP_BUCKETS: [f64; 8] = [0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 2.0];
const VERIFY_BUCKETS: [f64; 8] = [0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0];

/// Counters the portal keeps about its own requests.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; 8],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64; 8], v: f64) {
        for (b, le) in self.buckets.iter_mut().zip(bounds) {
            if v <= *le {
                *b += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; 8]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (n, le) in self.buckets.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

impl Metrics {
    /// Counts one answered request under its route pattern (never the raw
    /// path, so ids do not explode the label set).
    /// A method outside HTTP's own is counted as `other`: label values stay
    /// a small fixed set whatever clients send.
    pub fn request(&self, method: &str, route: &'static str, status: u16, took: Duration) {
        const METHODS: [&str; 8] = [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT",
        ];
        let method = METHODS
            .iter()
            .find(|m| m.eq_ignore_ascii_case(method))
            .copied()
            .unwrap_or("other");
        if let Ok(mut m) = self.inner.lock() {
            *m.requests
                .entry((method.to_string(), route, status))
                .or_default() += 1;
            m.latency
                .entry(route)
                .or_default()
                .observe(&HTTP_BUCKETS, took.as_secs_f64());
        }
    }
}

/// Escapes a label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn handler(portal: &Portal, req: &Req, _: &Params) -> Result<Resp, ApiError> {
    auth::read(portal, req)?;
    let mut out = String::new();
    out.push_str(
        "# HELP tern_changes Changes of a migration by state.\n# TYPE tern_changes gauge\n",
    );
    let mut verify = String::new();
    let mut pauses = String::new();
    let mut remaining = String::new();
    let mut paused = String::new();
    for m in portal.store.migrations()? {
        let snap = api::snapshot(portal, &m.id)?;
        let s = &snap.status;
        let id = label(&m.id);
        for (state, n) in &s.counts {
            let _ = writeln!(
                out,
                "tern_changes{{migration=\"{id}\",state=\"{state}\"}} {n}"
            );
        }
        let mut h = Histogram::default();
        for c in &s.consumers {
            if let Some(v) = &c.verify {
                h.observe(&VERIFY_BUCKETS, v.seconds);
            }
        }
        h.write(
            &mut verify,
            "tern_verify_duration_seconds",
            &format!("migration=\"{id}\""),
            &VERIFY_BUCKETS,
        );
        let _ = writeln!(
            pauses,
            "tern_error_budget_pauses_total{{migration=\"{id}\"}} {}",
            m.pauses
        );
        let _ = writeln!(
            paused,
            "tern_migration_paused{{migration=\"{id}\"}} {}",
            u8::from(s.state == tern_catalog::MigrationState::Paused)
        );
        if let Some(r) = s.remaining_references {
            let _ = writeln!(
                remaining,
                "tern_remaining_references{{migration=\"{id}\"}} {r}"
            );
        }
    }
    out.push_str("# HELP tern_verify_duration_seconds How long consumers' verifications took.\n# TYPE tern_verify_duration_seconds histogram\n");
    out.push_str(&verify);
    out.push_str("# HELP tern_error_budget_pauses_total Times the error budget paused a migration.\n# TYPE tern_error_budget_pauses_total counter\n");
    out.push_str(&pauses);
    out.push_str("# HELP tern_migration_paused 1 while a migration is paused.\n# TYPE tern_migration_paused gauge\n");
    out.push_str(&paused);
    out.push_str("# HELP tern_remaining_references References to the old dataset left on default branches.\n# TYPE tern_remaining_references gauge\n");
    out.push_str(&remaining);
    if let Ok(m) = portal.metrics.inner.lock() {
        out.push_str("# HELP tern_http_requests_total HTTP requests answered, by route pattern.\n# TYPE tern_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "tern_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str("# HELP tern_http_request_duration_seconds Time to answer, by route pattern.\n# TYPE tern_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            h.write(
                &mut out,
                "tern_http_request_duration_seconds",
                &format!("route=\"{}\"", label(route)),
                &HTTP_BUCKETS,
            );
        }
    }
    let _ = writeln!(
        out,
        "# TYPE tern_portal_uptime_seconds gauge\ntern_portal_uptime_seconds {}",
        portal.started.elapsed().as_secs()
    );
    Ok(Resp::bytes(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        out.into_bytes(),
    ))
}
