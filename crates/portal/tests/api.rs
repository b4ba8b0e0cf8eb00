//! The portal's API and pages over a real catalog, real git repositories and
//! a real server on a loopback port: every route, every permission rule,
//! bad input, and live updates.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tern_catalog::Store;
use tern_fleet::Fleet;
use tern_local_forge::LocalForge;

const SPEC: &str = "version: 1
id: plays-move
title: Move plays
description: The old copy goes away.
dataset: {from: hdfs-plays, to: lake-plays}
replace:
  - kind: path
    old: /warehouse/plays
    new: gs://lake/plays
verify: {command: 'true'}
rollout: {waves: ['100%']}
approval: owners
";

struct World {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: Arc<dyn Store>,
    server: Option<tern_portal::Server>,
    addr: SocketAddr,
    alice: String,
    bob: String,
    dana: String,
    admin: String,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Four consumers (two of insights, two of streaming) of one dataset owned
/// by data-platform, migrated with `approval: owners`: three open, and
/// `broken`, whose own tests always fail, failed.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut catalog = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: hdfs-plays\n  annotations: {tern.dev/paths: /warehouse/plays, tern.dev/format: avro, tern.dev/schema: 'user_id:string, ts:timestamp'}\nspec: {type: dataset, owner: group:default/data-platform, lifecycle: deprecated}\n---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: lake-plays\n  annotations: {tern.dev/paths: 'gs://lake/plays'}\nspec: {type: dataset, owner: group:default/data-platform, lifecycle: production}\n",
    );
    for (team, member) in [
        ("insights", "alice"),
        ("streaming", "bob"),
        ("data-platform", "dana"),
    ] {
        catalog.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {{name: {team}{hook}}}\nspec: {{type: team, children: [], members: [{member}]}}\n",
            // Streaming's webhook is on a port nothing listens on: its digest is recorded undelivered.
            hook = if team == "streaming" {
                ", annotations: {tern.dev/webhook: 'http://127.0.0.1:9/hook'}"
            } else {
                ""
            }
        ));
    }
    for (id, owner) in [
        ("broken", "streaming"),
        ("daily", "insights"),
        ("hourly", "insights"),
        ("stream", "streaming"),
    ] {
        let repo = root.join("repos").join(id);
        std::fs::create_dir_all(repo.join("jobs")).unwrap();
        std::fs::write(
            repo.join("jobs/job.py"),
            format!("# {id}\nPATH = \"/warehouse/plays/date=2026-01-01\"\nprint(PATH)\n"),
        )
        .unwrap();
        if id == "broken" {
            // Its own tests fail whatever tern does: a failed change to retry.
            std::fs::write(repo.join(".tern.yaml"), "verify: 'false'\n").unwrap();
        }
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "init"]);
        catalog.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {id}\n  annotations: {{backstage.io/source-location: 'dir:./repos/{id}'}}\nspec: {{type: service, owner: {owner}, lifecycle: production, dependsOn: [resource:default/hdfs-plays]}}\n"
        ));
    }
    let file = root.join("catalog-info.yaml");
    std::fs::write(&file, &catalog).unwrap();
    let store: Arc<dyn Store> = Arc::from(
        tern_catalog::open(&format!("sqlite:{}", root.join("tern.db").display())).unwrap(),
    );
    store
        .import(&tern_catalog::backstage::parse(&catalog, &file).unwrap())
        .unwrap();
    let forge = Arc::new(LocalForge::default());
    let spec = tern_spec::Spec::parse(SPEC, "plays.yaml").unwrap();
    let fleet = Fleet {
        store: store.as_ref(),
        forge: forge.as_ref(),
    };
    let status = fleet.run(&spec, SPEC, "plays.yaml", &|_| {}).unwrap();
    assert_eq!(status.counts["open"], 3, "{status:?}");
    assert_eq!(status.counts["failed"], 1, "{status:?}");
    let token = |u: &str, admin: bool| {
        let role = if admin {
            tern_catalog::Role::Admin
        } else {
            tern_catalog::Role::User
        };
        tern_portal::create_token(store.as_ref(), u, role, Some(tern_portal::DEFAULT_TTL_SECS))
            .unwrap()
            .0
    };
    let (alice, bob, dana, admin) = (
        token("alice", false),
        token("bob", false),
        token("dana", false),
        token("root", true),
    );
    let server = tern_portal::Server::bind("127.0.0.1:0", Arc::clone(&store), forge).unwrap();
    let addr = server.addr();
    World {
        _dir: dir,
        root,
        store,
        server: Some(server),
        addr,
        alice,
        bob,
        dana,
        admin,
    }
}

struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One request on its own connection, read to the end.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    World::dechunk(head, body, status)
}

impl World {
    fn dechunk(head: &str, body: &str, status: u16) -> Answer {
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            let mut out = String::new();
            let mut rest = body;
            while let Some((size, after)) = rest.split_once("\r\n") {
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if n == 0 {
                    break;
                }
                out.push_str(&after[..n.min(after.len())]);
                rest = after.get(n + 2..).unwrap_or("");
            }
            out
        } else {
            body.to_string()
        };
        Answer {
            status,
            headers: head.to_string(),
            body,
        }
    }

    fn get(&self, path: &str) -> Answer {
        request(self.addr, "GET", path, &[], b"")
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            h.push(("Authorization", a.as_str()));
        }
        request(self.addr, "POST", path, &h, body.as_bytes())
    }

    fn state_of(&self, consumer: &str) -> String {
        let s = self.get("/api/migrations/plays-move").json();
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == consumer)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The CSRF value a page's forms carry.
fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF value in the page: {page}"))
        .to_string()
}

impl World {
    /// Signs in through the form; returns the cookie to send.
    fn sign_in(&self, token: &str) -> String {
        let a = request(
            self.addr,
            "POST",
            "/login",
            &[],
            format!("token={token}").as_bytes(),
        );
        assert_eq!(a.status, 303, "{}", a.body);
        a.header("Set-Cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

#[test]
fn every_api_route_is_in_the_openapi_document_and_answers() {
    let w = world();
    let doc = w.get("/api/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for r in tern_portal::ROUTES
        .iter()
        .filter(|r| r.kind == tern_portal::Kind::Api)
    {
        let op = &paths
            .get(r.path)
            .unwrap_or_else(|| panic!("{} missing from the document", r.path))
            [r.method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the document",
            r.method,
            r.path
        );
        assert!(op["responses"].is_object());
    }
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            assert!(
                tern_portal::ROUTES
                    .iter()
                    .any(|r| r.path == path && r.method.eq_ignore_ascii_case(method)),
                "document lists {method} {path}, which the server does not answer"
            );
        }
    }
    // Every GET route answers on the fixture (the streams are read apart).
    let gets = [
        "/api/whoami",
        "/api/migrations",
        "/api/migrations/plays-move",
        "/api/migrations/plays-move/plan",
        "/api/migrations/plays-move/consumers/daily",
        "/api/migrations/plays-move/consumers/daily/diff",
        "/api/datasets",
        "/api/datasets/hdfs-plays",
        "/api/datasets/hdfs-plays/consumers",
        "/api/consumers",
        "/api/teams",
        "/api/catalog/entities",
        "/metrics",
        "/",
        "/migrations/plays-move",
        "/migrations/plays-move/consumers/daily",
        "/datasets/hdfs-plays",
        "/login",
        "/static/style.css",
        "/static/app.js",
    ];
    for p in gets {
        let a = w.get(p);
        assert_eq!(a.status, 200, "GET {p}: {}", a.body);
    }
}

#[test]
fn status_has_the_spec_shape_and_plan_and_diff_match_the_change() {
    let w = world();
    let page = w.get("/migrations/plays-move").body;
    assert!(
        page.contains("Team digests") && page.contains("✗"),
        "{page}"
    );
    assert!(w
        .get("/migrations/plays-move/consumers/daily")
        .body
        .contains("worked by"));
    let s = w.get("/api/migrations/plays-move").json();
    for key in [
        "id",
        "state",
        "counts",
        "consumers",
        "time_to_completion_s",
        "breakage_rate",
        "manual_interventions",
    ] {
        assert!(s.get(key).is_some(), "status lacks {key}: {s}");
    }
    assert_eq!(s["state"], "running");
    let c = s["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "daily")
        .unwrap();
    assert_eq!(c["branch"], "tern/plays-move");
    assert_eq!(c["verify"]["ok"], true);
    assert!(c["verify"]["seconds"].is_number() && c["unresolved"].is_array());
    let plan = w.get("/api/migrations/plays-move/plan").json();
    assert_eq!(plan["id"], "plays-move");
    assert_eq!(plan["consumers"].as_array().unwrap().len(), 4);
    let diff = w.get("/api/migrations/plays-move/consumers/daily/diff");
    assert!(
        diff.body
            .contains("+PATH = \"gs://lake/plays/date=2026-01-01\""),
        "{}",
        diff.body
    );
    let change = w.get("/api/migrations/plays-move/consumers/daily").json();
    assert_eq!(change["change"]["state"], "open");
    assert!(change["events"].as_array().unwrap().len() >= 3);
    let consumers = w.get("/api/datasets/hdfs-plays/consumers").json();
    assert_eq!(consumers.as_array().unwrap().len(), 4);
    assert_eq!(consumers[0]["via"], "catalog");
    assert_eq!(consumers[0]["depth"], 1);
}

#[test]
fn approve_needs_a_token_and_the_owner_team() {
    let w = world();
    let url = "/api/migrations/plays-move/consumers/daily/approve";
    let a = w.post(url, None, "");
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["error"], "unauthorized");
    assert_eq!(w.post(url, Some("tern_not_a_real_token"), "").status, 401);
    let a = w.post(url, Some(&w.bob), "");
    assert_eq!(a.status, 403);
    let msg = a.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("only members of group:default/insights") && msg.contains("user:default/bob"),
        "{msg}"
    );
    assert_eq!(
        w.state_of("daily"),
        "open",
        "a refused approval changes nothing"
    );
    let a = w.post(url, Some(&w.alice), "");
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(w.state_of("daily"), "merged");
    let main = git(&w.root.join("repos/daily"), &["show", "main:jobs/job.py"]);
    assert!(main.contains("gs://lake/plays"), "merged onto main: {main}");
    // Approving twice is a state conflict, not a second merge.
    assert_eq!(w.post(url, Some(&w.alice), "").status, 409);
    // An admin may approve anyone's change.
    let a = w.post(
        "/api/migrations/plays-move/consumers/stream/approve",
        Some(&w.admin),
        "",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(w.state_of("stream"), "merged");
    // The burndown moved with the merges.
    let s = w.get("/api/migrations/plays-move").json();
    let points = s["burndown"].as_array().unwrap();
    assert!(points.len() >= 3, "{points:?}");
    assert!(points.last().unwrap()["remaining"].as_u64() < points[0]["remaining"].as_u64());
}

#[test]
fn steering_needs_the_migration_owner_team() {
    let w = world();
    let base = "/api/migrations/plays-move";
    let a = w.post(&format!("{base}/pause"), Some(&w.alice), "{}");
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("group:default/data-platform"));
    let a = w.post(
        &format!("{base}/pause"),
        Some(&w.dana),
        r#"{"reason": "holiday freeze"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["state"], "paused");
    assert_eq!(a.json()["paused_reason"], "holiday freeze");
    let a = w.post(&format!("{base}/resume"), Some(&w.dana), "");
    assert_eq!(a.json()["state"], "running");
    assert_eq!(
        w.post(&format!("{base}/resume"), Some(&w.dana), "").status,
        409
    );
    // Retry: only failed changes, and in the background (202).
    assert_eq!(
        w.post(&format!("{base}/consumers/hourly/retry"), Some(&w.dana), "")
            .status,
        409,
        "hourly has not failed"
    );
    assert_eq!(
        w.post(&format!("{base}/consumers/broken/retry"), Some(&w.bob), "")
            .status,
        403,
        "bob owns the consumer, not the migration"
    );
    let a = w.post(&format!("{base}/consumers/broken/retry"), Some(&w.dana), "");
    assert_eq!(a.status, 202, "{}", a.body);
    let retried = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        let events = w.get(&format!("{base}/consumers/broken")).json()["events"].clone();
        let failures = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["to"] == "failed")
            .count();
        failures >= 2 && w.state_of("broken") == "failed"
    });
    assert!(retried, "the retry ran, and failed again as its tests do");
    let a = w.post(
        &format!("{base}/consumers/hourly/rollback"),
        Some(&w.dana),
        "",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(w.state_of("hourly"), "rolled_back");
    assert_eq!(
        git(
            &w.root.join("repos/hourly"),
            &["branch", "--list", "tern/*"]
        ),
        ""
    );
    assert_eq!(
        w.post(
            &format!("{base}/consumers/nobody/rollback"),
            Some(&w.dana),
            ""
        )
        .status,
        404
    );
    assert_eq!(
        w.post("/api/migrations/nope/pause", Some(&w.dana), "")
            .status,
        404
    );
    let a = w.post(&format!("{base}/rollback"), Some(&w.admin), "");
    assert_eq!(a.json()["state"], "rolled_back");
}

#[test]
fn bad_input_gets_a_4xx_with_a_message_and_changes_nothing() {
    let w = world();
    let before = w.store.revision().unwrap();
    let a = w.post("/api/v1/lineage", Some(&w.admin), "{not json");
    assert_eq!(a.status, 400);
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
    let a = w.post(
        "/api/v1/lineage",
        Some(&w.admin),
        r#"[{"eventType": "COMPLETE"}]"#,
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("event 0"), "{}", a.body);
    let big = vec![b'x'; (1 << 20) + 10];
    let a = request(
        w.addr,
        "POST",
        "/api/v1/lineage",
        &[("Authorization", &format!("Bearer {}", w.admin))],
        &big,
    );
    assert_eq!(a.status, 413);
    assert_eq!(w.store.revision().unwrap(), before, "nothing was written");
    for p in [
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/../../etc/passwd",
        "/api/datasets/%2e%2e",
    ] {
        let a = w.get(p);
        assert_eq!(a.status, 400, "{p}: {}", a.body);
    }
    assert_eq!(w.get("/static/secret.txt").status, 404);
    assert_eq!(w.get("/api/migrations/nope").json()["error"], "not_found");
    assert_eq!(w.get("/api/datasets/nope/consumers").status, 404);
    assert_eq!(
        w.get("/api/datasets/hdfs-plays/consumers?transitive=maybe")
            .status,
        400
    );
    assert_eq!(
        w.get("/api/migrations/plays-move/consumers/nobody").status,
        404
    );
    assert_eq!(
        request(w.addr, "DELETE", "/api/migrations", &[], b"").status,
        405
    );
    let page = w.get("/migrations/nope");
    assert_eq!(page.status, 404);
    assert!(page
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
}

#[test]
fn lineage_events_add_consumers() {
    let w = world();
    let event = json!({
        "eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z",
        "run": {"runId": "0199d7d1-0000-7000-8000-000000000001"},
        "job": {"namespace": "airflow", "name": "plays_report",
                "facets": {"sourceCodeLocation": {"type": "git", "url": "dir:./repos/report", "repoUrl": "./repos/report", "path": "dags/report.py"}}},
        "inputs": [{"namespace": "file", "name": "/warehouse/plays"}],
        "outputs": [],
        "producer": "https://example.com/tests", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    });
    assert_eq!(
        w.post("/api/v1/lineage", None, &event.to_string()).status,
        401
    );
    // Lineage is posted with a lineage token (or an admin's), not a user's.
    assert_eq!(
        w.post("/api/v1/lineage", Some(&w.alice), &event.to_string())
            .status,
        403
    );
    let (lineage, _) = tern_portal::create_token(
        w.store.as_ref(),
        "airflow",
        tern_catalog::Role::Lineage,
        Some(tern_portal::DEFAULT_TTL_SECS),
    )
    .unwrap();
    let a = w.post("/api/v1/lineage", Some(&lineage), &event.to_string());
    assert_eq!(a.status, 201, "{}", a.body);
    let readers = w.get("/api/datasets/hdfs-plays/consumers").json();
    assert!(
        readers
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["via"] == "lineage"),
        "{readers}"
    );
    // It may post lineage and nothing else: no reads, no changes.
    let bearer = format!("Bearer {lineage}");
    let read = request(
        w.addr,
        "GET",
        "/api/migrations",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(read.status, 403, "{}", read.body);
    let pause = w.post("/api/migrations/plays-move/pause", Some(&lineage), "");
    assert_eq!(pause.status, 403, "{}", pause.body);

    // An event that names a declared consumer from another repository, with
    // an ownership facet of the attacker's team, takes nothing over: the
    // catalog keeps the consumer's repository and owner, the event's reads
    // are not added, and the disagreement is recorded and shown.
    let before = w.get("/api/consumers").json();
    let daily = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "daily")
            .cloned()
            .unwrap()
    };
    let takeover = json!({
        "eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z",
        "run": {"runId": "0199d7d1-0000-7000-8000-000000000002"},
        "job": {"namespace": "airflow", "name": "daily",
                "facets": {"sourceCodeLocation": {"type": "git", "url": "https://evil.example/mallory/daily.git"},
                           "ownership": {"owners": [{"name": "group:default/streaming", "type": "team"}]}}},
        "inputs": [{"namespace": "file", "name": "/warehouse/plays"}],
        "outputs": [],
        "producer": "https://example.com/tests", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    });
    let a = w.post("/api/v1/lineage", Some(&lineage), &takeover.to_string());
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.body.contains("the catalog's is kept"), "{}", a.body);
    let after = w.get("/api/consumers").json();
    assert_eq!(daily(&after)["repo"], daily(&before)["repo"]);
    assert_eq!(daily(&after)["owner"], daily(&before)["owner"]);
    let shown = daily(&after)["disagreements"].to_string();
    assert!(shown.contains("evil.example"), "{after}");
    // Bob (streaming) still may not approve daily's change.
    let approve = w.post(
        "/api/migrations/plays-move/consumers/daily/approve",
        Some(&w.bob),
        "",
    );
    assert_eq!(approve.status, 403, "{}", approve.body);
}

#[test]
fn entities_and_metrics() {
    let w = world();
    let e = w.get("/api/catalog/entities").json();
    let kinds: Vec<&str> = e
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"Resource") && kinds.contains(&"Component") && kinds.contains(&"Group")
    );
    let daily = e
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metadata"]["name"] == "daily")
        .unwrap();
    assert_eq!(daily["spec"]["dependsOn"][0], "resource:default/hdfs-plays");
    let plays = e
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metadata"]["name"] == "hdfs-plays")
        .unwrap();
    assert_eq!(
        plays["metadata"]["annotations"]["tern.dev/paths"],
        "/warehouse/plays"
    );
    w.get("/api/migrations/plays-move");
    let m = w.get("/metrics");
    assert!(m
        .header("Content-Type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    for needle in [
        "tern_changes{migration=\"plays-move\",state=\"open\"} 3",
        "tern_verify_duration_seconds_count{migration=\"plays-move\"} 4",
        "tern_changes{migration=\"plays-move\",state=\"failed\"} 1",
        "tern_error_budget_pauses_total{migration=\"plays-move\"} 0",
        "tern_http_requests_total{method=\"GET\",route=\"/api/migrations/{id}\",status=\"200\"}",
        "tern_http_request_duration_seconds_bucket{route=\"/api/migrations/{id}\",le=\"+Inf\"}",
    ] {
        assert!(
            m.body.contains(needle),
            "metrics lack {needle}:\n{}",
            m.body
        );
    }
}

#[test]
fn browser_forms_need_the_csrf_value() {
    let w = world();
    // Sign in: the cookie is HttpOnly and SameSite=Strict.
    let a = request(
        w.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={}&next=%2Fmigrations%2Fplays-move", w.alice).as_bytes(),
    );
    assert_eq!(a.status, 303);
    assert_eq!(a.header("Location").unwrap(), "/migrations/plays-move");
    let cookie = a.header("Set-Cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let bad = request(w.addr, "POST", "/login", &[], b"token=tern_nope");
    assert_eq!(bad.status, 401);
    // The page carries the CSRF value in its forms.
    let page = request(
        w.addr,
        "GET",
        "/migrations/plays-move/consumers/daily",
        &[("Cookie", &cookie)],
        b"",
    );
    assert!(page.body.contains("Approve and merge"), "{}", page.body);
    let csrf = csrf_in(&page.body);
    assert_eq!(csrf.len(), 32);
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let action = "/migrations/plays-move/consumers/daily/approve";
    let a = request(w.addr, "POST", action, &form, b"");
    assert_eq!(a.status, 403, "a form without the CSRF value is refused");
    assert!(a.body.contains("CSRF"));
    let a = request(
        w.addr,
        "POST",
        action,
        &form,
        b"csrf=0123456789abcdef0123456789abcdef",
    );
    assert_eq!(a.status, 403);
    assert_eq!(w.state_of("daily"), "open");
    let a = request(
        w.addr,
        "POST",
        action,
        &form,
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(w.state_of("daily"), "merged");
    // Bob's browser: a clear 403 page that says who may.
    let bob = w.sign_in(&w.bob);
    let page = request(
        w.addr,
        "GET",
        "/migrations/plays-move/consumers/hourly",
        &[("Cookie", &bob)],
        b"",
    );
    let csrf = csrf_in(&page.body);
    let a = request(
        w.addr,
        "POST",
        "/migrations/plays-move/consumers/hourly/approve",
        &[("Cookie", &bob)],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(a.status, 403);
    assert!(
        a.body.contains("only members of group:default/insights"),
        "{}",
        a.body
    );
}

#[test]
fn the_status_stream_speaks_when_a_change_moves() {
    let w = world();
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET /api/migrations/plays-move/events HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut next_event = || -> Value {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(r.read_line(&mut line).unwrap() > 0, "stream ended");
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str(data.trim()).unwrap();
            }
        }
    };
    let first = next_event();
    assert_eq!(first["counts"]["open"], 3);
    assert_eq!(
        w.post(
            "/api/migrations/plays-move/consumers/daily/approve",
            Some(&w.alice),
            ""
        )
        .status,
        200
    );
    let second = next_event();
    assert_eq!(second["counts"]["merged"], 1, "{second}");
    assert_eq!(w.get("/api/migrations/nope/events").status, 404);
}

#[test]
fn migration_forms_and_sign_out() {
    let w = world();
    let csrf_of = |cookie: &str| {
        let page = request(
            w.addr,
            "GET",
            "/migrations/plays-move",
            &[("Cookie", cookie)],
            b"",
        );
        assert!(page.body.contains(">Pause<"), "{}", page.body);
        csrf_in(&page.body)
    };
    let alice = w.sign_in(&w.alice);
    let csrf = csrf_of(&alice);
    let a = request(
        w.addr,
        "POST",
        "/migrations/plays-move/pause",
        &[("Cookie", &alice)],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(a.status, 403);
    assert!(
        a.body
            .contains("only members of group:default/data-platform"),
        "{}",
        a.body
    );
    let dana = w.sign_in(&w.dana);
    let csrf = csrf_of(&dana);
    let a = request(
        w.addr,
        "POST",
        "/migrations/plays-move/pause",
        &[("Cookie", &dana)],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    let s = w.get("/api/migrations/plays-move").json();
    assert_eq!(s["state"], "paused");
    assert_eq!(
        s["paused_reason"],
        "paused by user:default/dana in the portal"
    );
    let a = request(
        w.addr,
        "POST",
        "/migrations/plays-move/explode",
        &[("Cookie", &dana)],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(a.status, 404);
    let out = request(w.addr, "POST", "/logout", &[("Cookie", &dana)], b"");
    assert_eq!(out.status, 303);
    assert!(out.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    let me = request(w.addr, "GET", "/api/whoami", &[("Cookie", &dana)], b"").json();
    assert_eq!(
        me["user"], "user:default/dana",
        "the token itself stays valid until revoked"
    );
    let anon = w.get("/api/whoami").json();
    assert_eq!(anon["user"], Value::Null);
    assert_eq!(anon["loopback"], true);
}
