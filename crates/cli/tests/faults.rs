//! A repository deleted in the middle of a campaign: the failure is recorded
//! on its consumer, and everyone else's changes go on.

mod common;

use common::*;

#[test]
fn a_repo_deleted_mid_campaign_fails_alone() {
    let d = tempfile::tempdir().unwrap();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    let repos = vec![
        repo("a-kept", "insights", &[("job.py", job)], "true"),
        repo("b-gone", "insights", &[("job.py", job)], "true"),
        repo("c-kept", "insights", &[("job.py", job)], "true"),
    ];
    let file = fleet(d.path(), &repos, "");
    import(d.path(), &file);
    std::fs::write(d.path().join("s.yaml"), spec("m", "owners")).unwrap();
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    std::fs::remove_dir_all(d.path().join("repos/b-gone")).unwrap();

    let o = tern(d.path(), &["approve", "m", "b-gone"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert_eq!(code(&tern(d.path(), &["approve", "m", "a-kept"])), 0);
    assert_eq!(code(&tern(d.path(), &["approve", "m", "c-kept"])), 0);
    let s = json(&tern(d.path(), &["status", "m", "--json"]));
    let of = |id: &str| {
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("a-kept")["state"], "merged");
    assert_eq!(of("c-kept")["state"], "merged");
    assert!(
        of("b-gone")["error"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{}",
        of("b-gone")
    );

    // Rolling everything back reverts the others and records the one it cannot reach.
    let o = tern(d.path(), &["rollback", "m"]);
    assert_eq!(code(&o), 1);
    let s = json(&tern(d.path(), &["status", "m", "--json"]));
    let states: Vec<&str> = s["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "rolled_back").count(),
        2,
        "{states:?}"
    );
    assert!(sh(&d.path().join("repos/a-kept"), "git show main:job.py").contains("hdfs://prod-nn"));
}

#[test]
fn the_catalog_follows_merges_and_rollbacks() {
    let d = tempfile::tempdir().unwrap();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    let repos = vec![
        repo("a-job", "insights", &[("job.py", job)], "true"),
        repo("b-job", "insights", &[("job.py", job)], "true"),
    ];
    let file = fleet(d.path(), &repos, "");
    import(d.path(), &file);
    std::fs::write(d.path().join("s.yaml"), spec("m", "auto")).unwrap();
    assert_eq!(code(&tern(d.path(), &["run", "s.yaml"])), 0);
    let readers = |ds: &str| -> Vec<String> {
        let o = tern(d.path(), &["catalog", "consumers", ds, "--json"]);
        json(&o)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}/{}",
                    c["id"].as_str().unwrap(),
                    c["via"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        readers("lake-plays"),
        ["a-job/catalog", "b-job/catalog"],
        "merged consumers read the new dataset"
    );
    assert!(
        readers("hdfs-plays").is_empty(),
        "and no longer the old one"
    );
    assert_eq!(code(&tern(d.path(), &["rollback", "m", "a-job"])), 0);
    assert_eq!(
        readers("hdfs-plays"),
        ["a-job/catalog"],
        "a rollback puts its read back"
    );
    assert_eq!(readers("lake-plays"), ["b-job/catalog"]);
    assert_eq!(
        code(&tern(d.path(), &["rollback", "m", "a-job"])),
        0,
        "rolling back twice is harmless"
    );
    assert_eq!(readers("hdfs-plays"), ["a-job/catalog"]);
}
