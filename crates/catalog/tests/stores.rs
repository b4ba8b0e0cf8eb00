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

use tern_catalog::{backstage, now, open, Change, ChangeState, Consumer, Token, Via};

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
        admin: false,
        created_at: 1,
    };
    store.put_token(&t).unwrap();
    assert_eq!(store.token(&t.hash).unwrap().unwrap(), t);
    assert!(store.token("nope").unwrap().is_none());

    // Changes and their history: an event per state change, none otherwise.
    let mut c = change("m", "daily", 0);
    store.put_change(&c, "found").unwrap();
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
    let a = store.lease("l", 0, &working, "w1", 60).unwrap().unwrap();
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
    assert!(store.renew("l", "a", "w1", 60).unwrap());
    assert!(!store.renew("l", "a", "w2", 60).unwrap(), "not w2's lease");
    store.release("l", "a", "w1").unwrap();
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
    store.release_all("l", "w4").unwrap();
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
