//! Team digests: what a campaign tells each owner team, once per wave, and
//! how it gets there.
//!
//! A [`Digest`] is one message for one team (never one per change): a
//! summary line and one line per consumer. [`slack_body`] shapes it as
//! Slack's incoming-webhook JSON (`text` plus `blocks`), which Mattermost,
//! Rocket.Chat and Teams' Slack-compatible hooks accept too. [`deliver`]
//! posts it with a few retries and returns what happened; it never fails the
//! caller, because a chat outage must never stop a migration.
//!
//! ```
//! let d = tern_notify::Digest {
//!     team: "group:default/insights".into(),
//!     summary: "Move plays: wave 1 of 2 for insights: 1 merged".into(),
//!     lines: vec!["plays-daily: merged".into()],
//! };
//! assert_eq!(tern_notify::slack_body(&d)["text"], d.summary);
//! ```

use std::time::Duration;

use serde_json::{json, Value};

/// One message for one owner team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The team it is for (`group:default/<name>`).
    pub team: String,
    /// The one-line summary (also the notification's fallback text).
    pub summary: String,
    /// One line per consumer, in Slack's mrkdwn.
    pub lines: Vec<String>,
}

/// The body Slack's incoming webhooks take.
pub fn slack_body(d: &Digest) -> Value {
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": d.summary}})];
    // Slack caps a section's text at 3,000 characters: split long lists.
    let mut chunk = String::new();
    for line in &d.lines {
        if chunk.len() + line.len() + 3 > 2900 && !chunk.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": chunk}}));
            chunk = String::new();
        }
        chunk.push_str("• ");
        chunk.push_str(line);
        chunk.push('\n');
    }
    if !chunk.is_empty() {
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": chunk.trim_end()}}));
    }
    json!({"text": d.summary, "blocks": blocks})
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time after.
    pub backoff: Duration,
    /// Per attempt, connecting and answering.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The webhook answered 2xx.
    pub delivered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure, when not delivered.
    pub error: Option<String>,
}

/// Posts `body` to `url`, retrying on network errors, 5xx and 429 (a 4xx
/// other than 429 will not get better, so it is not retried).
pub fn deliver(url: &str, body: &Value, retry: Retry) -> Delivery {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(retry.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let text = body.to_string();
    let mut wait = retry.backoff;
    let mut error = None;
    for attempt in 1..=retry.attempts.max(1) {
        let outcome = agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(text.as_bytes());
        let (retryable, why) = match outcome {
            Ok(r) if r.status().is_success() => {
                return Delivery {
                    delivered: true,
                    attempts: attempt,
                    error: None,
                }
            }
            Ok(r) => {
                let s = r.status().as_u16();
                (s >= 500 || s == 429, format!("the webhook answered {s}"))
            }
            Err(e) => (true, format!("posting to the webhook: {e}")),
        };
        tracing::warn!(url, attempt, error = %why, "digest not delivered");
        error = Some(why);
        if !retryable || attempt == retry.attempts {
            return Delivery {
                delivered: false,
                attempts: attempt,
                error,
            };
        }
        std::thread::sleep(wait);
        wait *= 2;
    }
    Delivery {
        delivered: false,
        attempts: retry.attempts,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A real listener answering the given statuses in turn, returning the bodies it got.
    fn hook(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let t = std::thread::spawn(move || {
            let mut bodies = vec![];
            for status in statuses {
                let (s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s);
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                bodies.push(String::from_utf8(body).unwrap());
                let mut s = r.into_inner();
                write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                )
                .unwrap();
            }
            bodies
        });
        (url, t)
    }

    fn quick() -> Retry {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn retries_a_500_then_delivers() {
        let (url, t) = hook(vec![500, 200]);
        let d = Digest {
            team: "group:default/bi".into(),
            summary: "wave 1".into(),
            lines: vec!["a: merged".into(), "b: failed".into()],
        };
        let out = deliver(&url, &slack_body(&d), quick());
        assert_eq!(
            out,
            Delivery {
                delivered: true,
                attempts: 2,
                error: None
            }
        );
        let bodies = t.join().unwrap();
        assert_eq!(bodies.len(), 2);
        let v: Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(v["text"], "wave 1");
        assert_eq!(v["blocks"][1]["text"]["text"], "• a: merged\n• b: failed");
    }

    #[test]
    fn gives_up_without_failing_the_caller() {
        let (url, t) = hook(vec![500, 503, 500]);
        let out = deliver(&url, &json!({"text": "x"}), quick());
        assert!(!out.delivered);
        assert_eq!(out.attempts, 3);
        assert_eq!(out.error.as_deref(), Some("the webhook answered 500"));
        t.join().unwrap();
        let (url, t) = hook(vec![404]);
        let out = deliver(&url, &json!({"text": "x"}), quick());
        assert_eq!(out.attempts, 1, "a 404 is not retried");
        t.join().unwrap();
        let out = deliver("http://127.0.0.1:9/nothing-listens", &json!({}), quick());
        assert!(!out.delivered && out.error.unwrap().contains("posting to the webhook"));
    }

    #[test]
    fn long_digests_split_into_blocks() {
        let d = Digest {
            team: "t".into(),
            summary: "s".into(),
            lines: (0..200)
                .map(|i| format!("consumer-{i:03}: merged after a long and winding road"))
                .collect(),
        };
        let v = slack_body(&d);
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() > 3);
        assert!(blocks
            .iter()
            .all(|b| b["text"]["text"].as_str().unwrap().len() <= 3000));
    }
}
