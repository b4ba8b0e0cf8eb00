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

/// Ctrl-C in the middle of a verification ends it with tern, and the next run
/// clears the worktree the interrupted one left and finishes the campaign.
#[test]
fn an_interrupted_run_leaves_nothing_running_and_the_next_one_finishes() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    let verify: &'static str = Box::leak(
        format!(
            "if [ -f {0}/fixed ]; then exit 0; fi; echo $$ > {0}/pid; sleep 30",
            root.display()
        )
        .into_boxed_str(),
    );
    let file = fleet(
        &root,
        &[repo("slow", "insights", &[("job.py", job)], verify)],
        "",
    );
    import(&root, &file);
    std::fs::write(root.join("s.yaml"), spec("m", "auto")).unwrap();
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "s.yaml"])
        .current_dir(&root)
        .env_remove("TERN_CATALOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !root.join("pid").exists() {
        assert!(
            start.elapsed().as_secs() < 30,
            "the verification never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pid: i32 = std::fs::read_to_string(root.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let status = run.wait().unwrap();
    assert!(!status.success());
    let start = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            start.elapsed().as_secs() < 3,
            "the verification outlived the interrupted tern"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::write(root.join("fixed"), "").unwrap();
    let o = tern(&root, &["run", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["counts"]["merged"], 1);
    assert_eq!(
        sh(&root.join("repos/slow"), "git worktree list | wc -l"),
        "1"
    );
}
