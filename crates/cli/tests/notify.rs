//! Team digests over real HTTP: one per owner team per wave, a failing
//! webhook retried and recorded without stopping the campaign, reminders
//! after `nudge_after`, and nothing sent twice.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;

/// A webhook on a loopback port that answers `status` and keeps every body.
fn webhook(status: u16) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let mut r = BufReader::new(s);
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice(&body) {
                    keep.lock().unwrap().push(v);
                }
            }
            let _ = write!(
                r.into_inner(),
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

fn group(name: &str, member: &str, hook: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\n  annotations: {{tern.dev/webhook: '{hook}'}}\nspec: {{type: team, children: [], members: [{member}]}}\n"
    )
}

fn repos() -> Vec<Repo> {
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    vec![
        repo("a-daily", "insights", &[("job.py", job)], "true"),
        repo("b-hourly", "insights", &[("job.py", job)], "true"),
        repo("c-report", "bi", &[("job.py", job)], "true"),
    ]
}

#[test]
fn one_digest_per_team_per_wave_and_a_failing_webhook_never_stops_the_run() {
    let d = tempfile::tempdir().unwrap();
    let (good, insights) = webhook(200);
    let (bad, bi) = webhook(500);
    let extra = group("insights", "alice", &good) + &group("bi", "carol", &bad);
    let file = fleet(d.path(), &repos(), &extra);
    import(d.path(), &file);
    std::fs::write(
        d.path().join("s.yaml"),
        spec_with("m1", "auto", "rollout: {waves: [1, '100%']}\n"),
    )
    .unwrap();
    let o = tern(d.path(), &["run", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let status = json(&o);
    assert_eq!(status["state"], "done");
    // insights: wave 1 (a-daily, the canary) and wave 2 (b-hourly).
    let got = insights.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .contains("wave 1 of 2 for insights: 1 merged"),
        "{}",
        got[0]
    );
    assert!(got[1]["text"]
        .as_str()
        .unwrap()
        .contains("wave 2 of 2 for insights"));
    assert!(got[1]["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("`b-hourly` merged"));
    // bi's webhook fails: tried three times, recorded, and the campaign went on.
    assert_eq!(bi.lock().unwrap().len(), 3);
    let digests = status["digests"].as_array().unwrap();
    let failed: Vec<_> = digests.iter().filter(|x| x["delivered"] == false).collect();
    assert_eq!(failed.len(), 1, "{digests:?}");
    assert_eq!(failed[0]["team"], "group:default/bi");
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(failed[0]["error"], "the webhook answered 500");
    // Running again sends nothing new.
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    assert_eq!(insights.lock().unwrap().len(), 2);
    assert_eq!(bi.lock().unwrap().len(), 3);
}

#[test]
fn owners_who_do_not_answer_get_a_reminder() {
    let d = tempfile::tempdir().unwrap();
    let (good, insights) = webhook(200);
    let extra = group("insights", "alice", &good);
    let file = fleet(d.path(), &repos(), &extra);
    import(d.path(), &file);
    std::fs::write(
        d.path().join("s.yaml"),
        spec_with(
            "m2",
            "owners",
            "rollout: {waves: ['100%'], nudge_after: 2s}\n",
        ),
    )
    .unwrap();
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    let got = insights.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .contains("2 waiting for your approval"),
        "{}",
        got[0]
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    let got = insights.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    let text = got[1]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Reminder:") && text.contains("2 changes for insights have waited"),
        "{text}"
    );
    assert!(got[1]["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("tern approve m2 a-daily"));
    // Not again until another nudge_after has passed.
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    assert_eq!(insights.lock().unwrap().len(), 2);
}
