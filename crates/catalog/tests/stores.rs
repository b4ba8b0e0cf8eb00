//! One contract, two stores: everything the fleet and portal rely on, checked
//! on a SQLite file and on a real PostgreSQL server.
//!
//! PostgreSQL tests need `TERN_TEST_POSTGRES` (a URL whose user may create
//! databases; `.ci/run` starts a server and sets it). Each test gets a fresh
//! database. Without the variable they say so and pass, except under CI,
//! where a missing server is a failure.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tern_catalog::{
    backstage, now, open, Change, ChangeState, Consumer, EdgeMove, Role, Token, Via,
};

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: plays, annotations: {tern.dev/paths: /w/plays}}
spec: {type: dataset, owner: group:default/data-platform}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: sessions}
spec: {type: dataset, owner: insights, dependsOn: [component:sessionizer]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: daily, annotations: {backstage.io/source-location: 'dir:./daily'}}
spec: {owner: insights, dependsOn: [resource:default/plays]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: sessionizer, annotations: {backstage.io/source-location: 'dir:./s'}}
spec: {owner: insights, dependsOn: [resource:plays]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: report, annotations: {backstage.io/source-location: 'dir:./r'}}
spec: {owner: bi, dependsOn: [resource:sessions]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: insights, annotations: {tern.dev/webhook: 'http://127.0.0.1:9/hook'}}
spec: {type: team, children: [], members: [alice]}
";

/// A fresh PostgreSQL database's URL, or `None` (with a note) without a server.
fn postgres_db() -> Option<String> {
    let Ok(admin) = std::env::var("TERN_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests: set TERN_TEST_POSTGRES"
        );
        eprintln!("skipped: set TERN_TEST_POSTGRES=postgres://... to test the PostgreSQL store");
        return None;
    };
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "tern_t_{}_{}_{}",
        std::process::id(),
        now(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin connection");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("URL names a database");
    Some(format!("{base}/{name}"))
}

fn sqlite_db(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("tern.db").display())
}

fn change(migration: &str, consumer: &str, wave: u32) -> Change {
    let mut c = Change::planned(
        migration,
        &Consumer {
            id: consumer.into(),
            repo: format!("/r/{consumer}"),
            owner: Some("group:default/insights".into()),
        },
        Via::Catalog,
    );
    c.wave = wave;
    c
}

/// The whole contract, on the store `url` opens.
fn contract(url: &str) {
    let store = open(url).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        tern_catalog::SCHEMA_VERSION,
        "a store opened by this build is at this build's schema"
    );
    let rev0 = store.revision().unwrap();
    let batch = backstage::parse(CATALOG, Path::new("/c/catalog-info.yaml")).unwrap();
    store.import(&batch).unwrap();
    assert_ne!(
        store.revision().unwrap(),
        rev0,
        "an import moves the revision"
    );
    assert_eq!(
        store.dataset("plays").unwrap().unwrap().paths,
        vec!["/w/plays"]
    );
    assert_eq!(store.datasets().unwrap().len(), 2);
    assert_eq!(store.consumer("daily").unwrap().unwrap().repo, "/c/daily");
    let direct: Vec<String> = store
        .consumers_of("plays", false)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(direct, ["daily", "sessionizer"]);
    let all = store.consumers_of("plays", true).unwrap();
    assert_eq!(all.last().unwrap().id, "report");
    assert_eq!(all.last().unwrap().depth, 2);
    store.add_edge("plays", "report", Via::Lineage).unwrap();
    assert_eq!(store.consumers_of("plays", false).unwrap().len(), 3);
    assert_eq!(
        store.reads_of("report").unwrap(),
        [
            ("plays".to_string(), Via::Lineage),
            ("sessions".to_string(), Via::Catalog)
        ]
    );
    store.remove_edge("plays", "report", Via::Lineage).unwrap();
    assert_eq!(store.consumers_of("plays", false).unwrap().len(), 2);
    let team = store.team("group:default/insights").unwrap().unwrap();
    assert_eq!(team.members, ["user:default/alice"]);
    assert_eq!(team.webhook.as_deref(), Some("http://127.0.0.1:9/hook"));
    assert!(store
        .is_member("group:default/insights", "user:default/alice")
        .unwrap());
    assert!(
        store.is_user("user:default/alice").unwrap() && !store.is_user("user:default/eve").unwrap()
    );
    assert!(!store.teams().unwrap().is_empty());
    let t = Token {
        hash: "ab".repeat(32),
        user: "user:default/alice".into(),
        role: Role::User,
        created_at: 1,
        expires_at: Some(100),
        revoked_at: None,
    };
    store.put_token(&t).unwrap();
    assert_eq!(store.token(&t.hash).unwrap().unwrap(), t);
    assert!(store.token("nope").unwrap().is_none());
    assert!(t.valid_at(99) && !t.valid_at(100));
    let lineage = Token {
        hash: "ef".repeat(32),
        role: Role::Lineage,
        expires_at: None,
        ..t.clone()
    };
    store.put_token(&lineage).unwrap();
    assert_eq!(store.tokens().unwrap(), [t.clone(), lineage.clone()]);
    // Revoked by id (the hash's first twelve digits), once; nothing else
    // names a token.
    assert!(store.revoke_token("abab", 5).unwrap().is_none());
    assert!(store.revoke_token("%", 5).unwrap().is_none());
    let revoked = store.revoke_token(t.id(), 5).unwrap().unwrap();
    assert_eq!(
        (revoked.id(), revoked.revoked_at),
        ("abababababab", Some(5))
    );
    assert_eq!(
        store.revoke_token(t.id(), 9).unwrap().unwrap().revoked_at,
        Some(5)
    );
    assert!(!store.token(&t.hash).unwrap().unwrap().valid_at(2));
    assert!(store
        .token(&lineage.hash)
        .unwrap()
        .unwrap()
        .valid_at(i64::MAX));

    // Changes and their history: an event per state change, none otherwise.
    let mut c = change("m", "daily", 0);
    let before = store.revision().unwrap();
    store.put_change(&c, "found").unwrap();
    assert_ne!(
        store.revision().unwrap(),
        before,
        "a change moves the revision"
    );
    c.edits = 3;
    store.put_change(&c, "same state").unwrap();
    c.state = ChangeState::Patched;
    store.put_change(&c, "committed").unwrap();
    let events = store.events("m", Some("daily")).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].from, None);
    assert_eq!(events[1].from, Some(ChangeState::Planned));
    assert_eq!(store.change("m", "daily").unwrap().unwrap().edits, 3);
    assert_eq!(
        store
            .count_in("m", &[ChangeState::Patched, ChangeState::Open])
            .unwrap(),
        1
    );
    assert_eq!(store.count_in("m", &[ChangeState::Merged]).unwrap(), 0);
    assert_eq!(
        store.count_entered("m", ChangeState::Patched, 0).unwrap(),
        1
    );
    assert_eq!(
        store
            .count_entered("m", ChangeState::Patched, now() + 10)
            .unwrap(),
        0
    );

    // Leases: by wave and state, exclusive, renewable, released, expiring.
    for (consumer, wave) in [("a", 0), ("b", 1), ("c", 1)] {
        store
            .put_change(&change("l", consumer, wave), "found")
            .unwrap();
    }
    let working = [ChangeState::Planned, ChangeState::Patched];
    let before = store.revision().unwrap();
    let a = store.lease("l", 0, &working, "w1", 60).unwrap().unwrap();
    assert_ne!(
        store.revision().unwrap(),
        before,
        "taking a lease moves the revision"
    );
    assert_eq!(a.change.consumer, "a");
    assert_eq!(a.taken_over, None);
    assert!(
        store.lease("l", 0, &working, "w2", 60).unwrap().is_none(),
        "wave 1 is not open yet"
    );
    assert!(store
        .lease("l", 1, &[ChangeState::Merged], "w2", 60)
        .unwrap()
        .is_none());
    let moves = |what: &str, f: &dyn Fn()| {
        let before = store.revision().unwrap();
        f();
        assert_ne!(
            store.revision().unwrap(),
            before,
            "{what} moves the revision"
        );
    };
    moves("renewing a lease", &|| {
        assert!(store.renew("l", "a", "w1", 60).unwrap());
    });
    assert!(!store.renew("l", "a", "w2", 60).unwrap(), "not w2's lease");
    moves("releasing a lease", &|| {
        store.release("l", "a", "w1").unwrap()
    });
    let a = store.lease("l", 0, &working, "w2", 60).unwrap().unwrap();
    assert_eq!(a.change.consumer, "a");
    assert_eq!(a.taken_over, None, "a lease given back is no takeover");
    let b = store.lease("l", 1, &working, "w3", 1).unwrap().unwrap();
    assert_eq!(b.change.consumer, "b");
    assert_eq!(
        store
            .lease("l", 1, &working, "w4", 60)
            .unwrap()
            .unwrap()
            .change
            .consumer,
        "c"
    );
    assert!(store.lease("l", 1, &working, "w4", 60).unwrap().is_none());
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let again = store.lease("l", 1, &working, "w5", 60).unwrap().unwrap();
    assert_eq!(again.change.consumer, "b", "an expired lease is anyone's");
    assert_eq!(
        again.taken_over.as_deref(),
        Some("w3"),
        "and says whose it was"
    );
    assert!(
        !store.renew("l", "b", "w3", 60).unwrap(),
        "the dead worker lost it"
    );

    assert_eq!(store.lease_owners("l").unwrap(), ["w2", "w4", "w5"]);
    moves("expiring a dead worker's leases", &|| {
        store.release_all("l", "w4").unwrap()
    });
    let c = store.lease("l", 1, &working, "w6", 60).unwrap().unwrap();
    assert_eq!(
        c.change.consumer, "c",
        "a dead worker's lease is free at once"
    );
    assert_eq!(c.taken_over.as_deref(), Some("w4"));
    assert_eq!(store.lease_owners("l").unwrap(), ["w2", "w5", "w6"]);

    // Many workers on separate connections never hold the same change.
    for i in 0..40 {
        store
            .put_change(&change("x", &format!("c{i:02}"), 0), "found")
            .unwrap();
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for w in 0..4 {
            let got = Arc::clone(&got);
            s.spawn(move || {
                let mine = open(url).unwrap();
                while let Some(c) = mine
                    .lease("x", 0, &[ChangeState::Planned], &format!("w{w}"), 60)
                    .unwrap()
                {
                    got.lock().unwrap().push(c.change.consumer);
                }
            });
        }
    });
    let got = got.lock().unwrap();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(got.len(), 40, "every change leased once");
    assert_eq!(unique.len(), 40, "no change leased twice");
}

/// Writes that must not part or undo each other: a change with its read
/// edges, and read-modify-writes of one migration from many connections.
fn one_write(url: &str) {
    let store = open(url).unwrap();
    let batch = backstage::parse(CATALOG, Path::new("/c/catalog-info.yaml")).unwrap();
    store.import(&batch).unwrap();
    let mut c = change("mv", "daily", 0);
    c.state = ChangeState::Merged;
    let edges = [
        EdgeMove {
            dataset: "sessions".into(),
            via: Via::Catalog,
            add: true,
        },
        EdgeMove {
            dataset: "plays".into(),
            via: Via::Catalog,
            add: false,
        },
    ];
    store.put_change_moving(&c, "merged", &edges).unwrap();
    assert_eq!(
        store.reads_of("daily").unwrap(),
        [("sessions".to_string(), Via::Catalog)]
    );
    assert_eq!(
        store.change("mv", "daily").unwrap().unwrap().state,
        ChangeState::Merged
    );
    assert!(store
        .update_migration("none", &mut |_| {})
        .unwrap()
        .is_none());
    let mut m = tern_catalog::Migration {
        id: "m".into(),
        spec: String::new(),
        spec_file: "s.yaml".into(),
        title: "t".into(),
        owner: None,
        state: tern_catalog::MigrationState::Running,
        started_at: now(),
        finished_at: None,
        paused_reason: None,
        manual_interventions: 0,
        pauses: 0,
        open_wave: None,
        waiting: None,
        remaining_references: None,
        burndown: vec![],
        digests: vec![],
        nudged: Default::default(),
        rules: None,
    };
    store.put_migration(&m).unwrap();
    // Eight connections each add 25 to one counter: none is lost.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mine = open(url).unwrap();
                for _ in 0..25 {
                    mine.update_migration("m", &mut |m| m.manual_interventions += 1)
                        .unwrap();
                }
            });
        }
    });
    m = store.migration("m").unwrap().unwrap();
    assert_eq!(m.manual_interventions, 200, "no update undid another");
}

#[test]
fn sqlite_writes_what_belongs_together_at_once() {
    let d = tempfile::tempdir().unwrap();
    one_write(&sqlite_db(d.path()));
}

#[test]
fn postgres_writes_what_belongs_together_at_once() {
    let Some(url) = postgres_db() else { return };
    one_write(&url);
}

#[test]
fn sqlite_keeps_the_contract() {
    let d = tempfile::tempdir().unwrap();
    contract(&sqlite_db(d.path()));
}

#[test]
fn postgres_keeps_the_contract() {
    if let Some(url) = postgres_db() {
        contract(&url);
        // Reopening finds the schema in place.
        let store = open(&url).unwrap();
        assert_eq!(store.datasets().unwrap().len(), 2);
    }
}

#[test]
fn postgres_refuses_a_bad_url_or_server_clearly() {
    let e = open("postgres://tern:secret@127.0.0.1:1/nothing?connect_timeout=2")
        .err()
        .expect("no server on port 1");
    let msg = e.to_string();
    assert!(
        msg.contains("postgres://tern:***@127.0.0.1:1/nothing"),
        "{msg}"
    );
    assert!(!msg.contains("secret"), "{msg}");
    let e = open("postgres://a:b@host:notaport/db").err().unwrap();
    assert!(matches!(e, tern_catalog::CatalogError::Url(..)), "{e}");
}

/// The token and membership tables as every released SQLite schema (steps
/// 1 to 3) and the PostgreSQL store's own first schema left them: a store
/// opened on either upgrades it in place and keeps what it held.
const OLD_ROWS: &str = "INSERT INTO teams (id) VALUES ('group:default/insights');
     INSERT INTO datasets (id, record) VALUES ('plays', '{\"id\":\"plays\",\"paths\":[\"/w/plays\"]}');";

fn keeps_old_rows(url: &str) {
    let store = open(url).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        tern_catalog::SCHEMA_VERSION
    );
    assert!(store
        .is_member("group:default/insights", "user:default/alice")
        .unwrap());
    let t = store.token(&"cd".repeat(32)).unwrap().unwrap();
    assert_eq!((t.user.as_str(), t.admin()), ("user:default/alice", true));
    // Tokens made before expiry existed expire 90 days after they were made.
    assert_eq!(t.expires_at, Some(t.created_at + 90 * 86_400));
    assert_eq!(store.change("m", "daily").unwrap().unwrap().wave, 2);
    // The whole contract holds on the upgraded tables.
    let mut c = store.change("m", "daily").unwrap().unwrap();
    c.state = ChangeState::Patched;
    store.put_change(&c, "committed").unwrap();
    assert_eq!(store.events("m", None).unwrap().len(), 1);
    assert_eq!(
        store
            .lease("m", 2, &[ChangeState::Patched], "w", 60)
            .unwrap()
            .unwrap()
            .change
            .consumer,
        "daily"
    );
}

fn old_change() -> String {
    let mut c = change("m", "daily", 2);
    c.updated_at = 1;
    serde_json::to_string(&c).unwrap().replace('\'', "''")
}

#[test]
fn sqlite_upgrades_a_released_schema() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("tern.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    // Version 1 and 2 as released; step 3 is the upgrade's own.
    conn.execute_batch(&format!(
        "CREATE TABLE datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL);
         CREATE TABLE consumers (id TEXT PRIMARY KEY, repo TEXT NOT NULL, owner TEXT);
         CREATE TABLE reads (dataset TEXT NOT NULL, consumer TEXT NOT NULL, via TEXT NOT NULL,
                             PRIMARY KEY (dataset, consumer, via));
         CREATE INDEX reads_by_consumer ON reads (consumer);
         CREATE TABLE produces (consumer TEXT NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY (consumer, dataset));
         CREATE TABLE teams (id TEXT PRIMARY KEY, webhook TEXT);
         CREATE TABLE members (team TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY (team, user));
         CREATE TABLE migrations (id TEXT PRIMARY KEY, record TEXT NOT NULL, started_at INTEGER NOT NULL);
         CREATE TABLE changes (migration TEXT NOT NULL, consumer TEXT NOT NULL, state TEXT NOT NULL,
                               record TEXT NOT NULL, PRIMARY KEY (migration, consumer));
         CREATE TABLE change_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, migration TEXT NOT NULL,
                                     consumer TEXT NOT NULL, at INTEGER NOT NULL, from_state TEXT,
                                     to_state TEXT NOT NULL, note TEXT NOT NULL);
         CREATE INDEX events_by_change ON change_events (migration, consumer);
         CREATE TABLE tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL, admin INTEGER NOT NULL,
                              created_at INTEGER NOT NULL);
         {OLD_ROWS}
         INSERT INTO members (team, user) VALUES ('group:default/insights', 'user:default/alice');
         INSERT INTO tokens VALUES ('{}', 'user:default/alice', 1, 5);
         INSERT INTO changes VALUES ('m', 'daily', 'planned', '{}');
         PRAGMA user_version = 2;",
        "cd".repeat(32),
        old_change()
    ))
    .unwrap();
    drop(conn);
    keeps_old_rows(&format!("sqlite:{}", path.display()));
}

#[test]
fn postgres_upgrades_its_own_first_schema() {
    let Some(url) = postgres_db() else { return };
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL);
         CREATE TABLE consumers (id TEXT PRIMARY KEY, repo TEXT NOT NULL, owner TEXT);
         CREATE TABLE reads (dataset TEXT NOT NULL, consumer TEXT NOT NULL, via TEXT NOT NULL,
                             PRIMARY KEY (dataset, consumer, via));
         CREATE INDEX reads_by_consumer ON reads (consumer);
         CREATE TABLE produces (consumer TEXT NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY (consumer, dataset));
         CREATE TABLE teams (id TEXT PRIMARY KEY, webhook TEXT);
         CREATE TABLE members (team TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (team, member));
         CREATE TABLE migrations (id TEXT PRIMARY KEY, record TEXT NOT NULL, started_at BIGINT NOT NULL);
         CREATE TABLE changes (migration TEXT NOT NULL, consumer TEXT NOT NULL, state TEXT NOT NULL,
                               record TEXT NOT NULL, wave INT NOT NULL DEFAULT 0,
                               lease_owner TEXT, lease_until BIGINT,
                               PRIMARY KEY (migration, consumer));
         CREATE INDEX changes_by_wave ON changes (migration, wave, state);
         CREATE TABLE change_events (seq BIGSERIAL PRIMARY KEY, migration TEXT NOT NULL,
                                     consumer TEXT NOT NULL, at BIGINT NOT NULL, from_state TEXT,
                                     to_state TEXT NOT NULL, note TEXT NOT NULL);
         CREATE INDEX events_by_change ON change_events (migration, consumer);
         CREATE TABLE tokens (hash TEXT PRIMARY KEY, member TEXT NOT NULL, admin BOOLEAN NOT NULL,
                              created_at BIGINT NOT NULL);
         CREATE SEQUENCE tern_revision;
         CREATE TABLE tern_schema (version INT NOT NULL);
         INSERT INTO tern_schema VALUES (1);
         {OLD_ROWS}
         INSERT INTO members VALUES ('group:default/insights', 'user:default/alice');
         INSERT INTO tokens VALUES ('{}', 'user:default/alice', TRUE, 5);
         INSERT INTO changes VALUES ('m', 'daily', 'planned', '{}', 2);",
        "cd".repeat(32),
        old_change()
    ))
    .unwrap();
    keeps_old_rows(&url);
}

#[test]
fn a_newer_schema_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("tern.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let e = open(&format!("sqlite:{}", path.display())).err().unwrap();
    assert!(e.to_string().contains("schema version 99 is newer"), "{e}");
}
