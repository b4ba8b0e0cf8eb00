//! Backstage import, consumers queries and campaign records on a real SQLite file.

use std::path::Path;

use tern_catalog::{backstage, open, Change, ChangeState, Consumer, Store, Via};

const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: hdfs-plays
  annotations:
    tern.dev/paths: hdfs://prod-nn:8020/warehouse/plays, /warehouse/plays
    tern.dev/tables: legacy.plays
    tern.dev/format: avro
spec: {type: dataset, owner: group:default/data-platform, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: plays-sessions}
spec: {type: dataset, owner: insights, lifecycle: production, dependsOn: [component:sessionizer]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: plays-daily
  annotations:
    backstage.io/source-location: dir:./repos/plays-daily
spec: {type: service, owner: group:default/insights, lifecycle: production,
       dependsOn: [resource:default/hdfs-plays]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: sessionizer
  annotations: {backstage.io/source-location: "dir:../elsewhere/sessionizer/"}
spec: {type: service, owner: insights, dependsOn: ["resource:hdfs-plays"]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: dashboard
  annotations: {backstage.io/source-location: "url:https://git.example.com/bi/dashboard"}
spec: {type: website, owner: bi, consumesApis: [plays-sessions]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: insights}
spec: {type: team, children: [], members: [alice]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: [insights]}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: music}
spec: {owner: insights}
"#;

fn store_with_catalog() -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let store = open(&format!("sqlite:{}", db.display())).unwrap();
    let batch = backstage::parse(CATALOG, Path::new("/srv/catalog/catalog-info.yaml")).unwrap();
    let summary = store.import(&batch).unwrap();
    assert_eq!((summary.datasets, summary.consumers), (2, 3));
    (dir, store)
}

#[test]
fn import_reads_every_entity_kind() {
    let (_dir, store) = store_with_catalog();
    let ds = store.dataset("hdfs-plays").unwrap().unwrap();
    assert_eq!(
        ds.paths,
        vec!["hdfs://prod-nn:8020/warehouse/plays", "/warehouse/plays"]
    );
    assert_eq!(ds.tables, vec!["legacy.plays"]);
    assert_eq!(ds.format.as_deref(), Some("avro"));
    assert_eq!(ds.platform.as_deref(), Some("hdfs"));
    assert_eq!(ds.owner.as_deref(), Some("group:default/data-platform"));
    let daily = store.consumer("plays-daily").unwrap().unwrap();
    assert_eq!(daily.repo, "/srv/catalog/repos/plays-daily");
    assert_eq!(
        store.consumer("sessionizer").unwrap().unwrap().repo,
        "/srv/elsewhere/sessionizer"
    );
    assert_eq!(
        store.consumer("dashboard").unwrap().unwrap().repo,
        "https://git.example.com/bi/dashboard"
    );
    assert!(store
        .is_member("group:default/insights", "user:default/alice")
        .unwrap());
    assert!(store
        .is_member("group:default/insights", "user:default/bob")
        .unwrap());
    assert!(!store
        .is_member("group:default/insights", "user:default/mallory")
        .unwrap());
}

#[test]
fn direct_and_transitive_consumers() {
    let (_dir, store) = store_with_catalog();
    let direct: Vec<(String, u32)> = store
        .consumers_of("hdfs-plays", false)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.depth))
        .collect();
    assert_eq!(
        direct,
        vec![("plays-daily".into(), 1), ("sessionizer".into(), 1)]
    );
    let all: Vec<(String, u32)> = store
        .consumers_of("hdfs-plays", true)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.depth))
        .collect();
    assert_eq!(
        all,
        vec![
            ("plays-daily".into(), 1),
            ("sessionizer".into(), 1),
            ("dashboard".into(), 2)
        ]
    );
    assert!(store.consumers_of("nothing", true).unwrap().is_empty());
}

#[test]
fn reimport_replaces_a_consumers_declared_reads() {
    let (_dir, store) = store_with_catalog();
    let again = CATALOG.replace(
        "dependsOn: [resource:default/hdfs-plays]}",
        "dependsOn: []}",
    );
    store
        .import(&backstage::parse(&again, Path::new("/srv/catalog/catalog-info.yaml")).unwrap())
        .unwrap();
    let ids: Vec<String> = store
        .consumers_of("hdfs-plays", false)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["sessionizer"]);
}

#[test]
fn bad_files_name_file_and_line_and_write_nothing() {
    let err = backstage::parse(
        "kind: Component\nmetadata: [unclosed\n",
        Path::new("c.yaml"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("c.yaml:"), "{err}");
    let err = backstage::parse(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nspec: {}\n",
        Path::new("c.yaml"),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "c.yaml:1: entity has no `metadata`");
    let err = backstage::parse("---\n- just a list\n", Path::new("c.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .contains("c.yaml:2: an entity must be a mapping"),
        "{err}"
    );
    let err = backstage::parse(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  annotations: {backstage.io/source-location: 'ftp:x'}\nspec: {dependsOn: [resource:a]}\n",
        Path::new("c.yaml"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("c.yaml:4: source-location"),
        "{err}"
    );
}

#[test]
fn changes_record_their_history() {
    let (_dir, store) = store_with_catalog();
    let consumer = Consumer {
        id: "plays-daily".into(),
        repo: "/r".into(),
        owner: None,
    };
    let mut c = Change::planned("m1", &consumer, Via::Catalog);
    store.put_change(&c, "planned").unwrap();
    c.state = ChangeState::Patched;
    store.put_change(&c, "committed").unwrap();
    store.put_change(&c, "same state, no event").unwrap();
    c.state = ChangeState::Merged;
    store.put_change(&c, "merged").unwrap();
    let events = store.events("m1", Some("plays-daily")).unwrap();
    let states: Vec<_> = events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        states,
        vec![
            (None, ChangeState::Planned),
            (Some(ChangeState::Planned), ChangeState::Patched),
            (Some(ChangeState::Patched), ChangeState::Merged)
        ]
    );
    assert_eq!(store.changes("m1").unwrap()[0].state, ChangeState::Merged);
}

#[test]
fn schema_is_versioned_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    drop(open(&url).unwrap());
    let store = open(&url).unwrap();
    assert!(store.datasets().unwrap().is_empty());
    assert!(open("postgres://localhost/x").is_err());
}

#[test]
fn openlineage_events_add_lineage_edges() {
    use tern_catalog::openlineage;
    let (_dir, store) = store_with_catalog();
    let events = r#"{"eventType":"COMPLETE","eventTime":"2026-11-01T00:00:00Z","producer":"x",
 "job":{"namespace":"spark","name":"plays_daily.compute",
   "facets":{"sourceCodeLocation":{"type":"git","repoUrl":"file:///srv/repos/plays-hourly"},
             "ownership":{"owners":[{"name":"team:insights"}]}}},
 "inputs":[{"namespace":"hdfs://prod-nn:8020","name":"/warehouse/plays/date=2026-11-01"},
           {"namespace":"hive://metastore:9083","name":"legacy.tracks"}],
 "outputs":[{"namespace":"hive://metastore:9083","name":"legacy.plays"}]}
{"eventType":"COMPLETE","job":{"namespace":"spark","name":"known-repo","facets":{"sourceCodeLocation":{"repoUrl":"/srv/catalog/repos/plays-daily"}}},
 "inputs":[{"namespace":"hive://metastore:9083","name":"LEGACY.PLAYS"}]}
{"eventType":"START","job":{"namespace":"spark","name":"no-source"},"inputs":[]}
"#
    .replace("\n ", " ");
    let parsed = openlineage::parse(&events, Path::new("/srv/events.ndjson")).unwrap();
    assert_eq!(parsed.len(), 3);
    let batch = openlineage::to_batch(
        &parsed,
        &store.datasets().unwrap(),
        &store.consumers().unwrap(),
        Some(Path::new("/srv")),
    );
    // Only the job in a repository the catalog does not know is a new,
    // discovered consumer; lineage never rewrites one the catalog holds.
    assert!(batch.consumers.is_empty());
    assert_eq!(batch.discovered.len(), 1);
    assert_eq!(batch.discovered[0].id, "plays-daily-compute");
    assert_eq!(batch.discovered[0].repo, "/srv/repos/plays-hourly");
    assert_eq!(
        batch.discovered[0].owner.as_deref(),
        Some("group:default/insights")
    );
    assert!(
        batch
            .reads
            .iter()
            .any(|(_, c, v)| c == "plays-daily" && *v == Via::Lineage),
        "a known repository is the same consumer: {:?}",
        batch.reads
    );
    assert_eq!(batch.warnings.len(), 2, "{:?}", batch.warnings);
    store.import(&batch).unwrap();
    let readers = store.consumers_of("hdfs-plays", false).unwrap();
    let found: Vec<(String, Via)> = readers.iter().map(|r| (r.id.clone(), r.via)).collect();
    assert!(
        found.contains(&("plays-daily-compute".into(), Via::Lineage)),
        "{found:?}"
    );
    assert!(
        found.contains(&("plays-daily".into(), Via::Catalog)),
        "catalog wins over lineage for the same reader"
    );
    let err = openlineage::parse("{\"job\": {}}", Path::new("e.json")).unwrap_err();
    assert_eq!(err.to_string(), "e.json:1: `job.name` is missing");
    let err = openlineage::parse("{\"job\": ", Path::new("e.json")).unwrap_err();
    assert!(
        err.to_string().starts_with("e.json:1: not valid JSON"),
        "{err}"
    );
}

#[test]
fn lineage_repositories_resolve_against_where_the_events_came_from() {
    let (dir, store) = store_with_catalog();
    let event = |job: &str, repo: &str| {
        format!("{{\"eventType\":\"COMPLETE\",\"job\":{{\"namespace\":\"spark\",\"name\":\"{job}\",\"facets\":{{\"sourceCodeLocation\":{{\"repoUrl\":\"{repo}\"}}}}}},\"inputs\":[{{\"namespace\":\"file\",\"name\":\"/warehouse/plays\"}}]}}\n")
    };
    // An event file's relative path is relative to its own folder, whatever
    // the working directory.
    let events = dir.path().join("lineage/events.ndjson");
    std::fs::create_dir_all(events.parent().unwrap()).unwrap();
    std::fs::write(&events, event("from-file", "../repos/from-file")).unwrap();
    let mut incoming = tern_catalog::Incoming::default();
    incoming.file(&events).unwrap();
    // Events with no file of their own resolve against the catalog's folder...
    let home = store.home().expect("a file catalog has a folder");
    let posted =
        tern_catalog::openlineage::parse(&event("posted", "repos/posted"), Path::new("request"))
            .unwrap();
    incoming.events(posted.clone(), Some(home.clone()));
    // ...and, where there is none, are left out with a reason.
    incoming.events(posted, None);
    let imported = tern_catalog::import(store.as_ref(), incoming).unwrap();
    assert_eq!(imported.events, 3);
    assert_eq!(
        store.consumer("from-file").unwrap().unwrap().repo,
        dir.path().join("repos/from-file").to_string_lossy()
    );
    assert_eq!(
        store.consumer("posted").unwrap().unwrap().repo,
        home.join("repos/posted").to_string_lossy()
    );
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("relative path") && w.contains("came from no folder")),
        "{:?}",
        imported.warnings
    );
    assert!(open("sqlite::memory:").unwrap().home().is_none());
    // An unreadable file is the user's input at fault, and names the file.
    let mut incoming = tern_catalog::Incoming::default();
    let err = incoming.file(&dir.path().join("nope.yaml")).unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("nope.yaml: cannot read"),
        "{err}"
    );
}
