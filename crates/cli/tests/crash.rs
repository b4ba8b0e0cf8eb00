//! Crash safety: `tern run` killed with SIGKILL at many random points of a
//! campaign over 30 repositories, then run to the end. Every time: exactly one
//! branch and one tern commit per consumer, every change merged, nothing left
//! behind.

mod common;

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_campaign_killed_anywhere_finishes_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repos: Vec<Repo> = (1..=30)
        .map(|i| {
            let id: &'static str = Box::leak(format!("c{i:02}").into_boxed_str());
            // A verification that takes a moment, so kills land mid-verify too.
            repo(
                id,
                "insights",
                &[
                    ("job.sql", "select * from legacy.plays\n"),
                    ("conf.yaml", "path: hdfs://prod-nn:8020/warehouse/plays\n"),
                ],
                "sleep 0.02",
            )
        })
        .collect();
    let catalog = fleet(root, &repos, "");
    fs::write(
        root.join("spec.yaml"),
        spec_with(
            "m",
            "auto",
            "rollout: {waves: [1, 5, \"100%\"], max_in_flight: 4}\n",
        ),
    )
    .unwrap();
    assert_eq!(
        code(&tern(
            root,
            &["catalog", "import", catalog.to_str().unwrap()]
        )),
        0
    );

    // Deterministic pseudo-random kill points between 0 and 250 ms.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut kills = 0;
    let started = Instant::now();
    for _ in 0..60 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["run", "spec.yaml"])
            .current_dir(root)
            .env_remove("TERN_CATALOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(seed % 250));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let s = json(&tern(root, &["status", "m", "--json"]));
        if s["state"] == "done" || started.elapsed() > Duration::from_secs(90) {
            break;
        }
    }
    eprintln!("{kills} runs killed mid-way");
    assert!(
        kills >= 5,
        "only {kills} runs were killed mid-way; the test proves little"
    );

    // Whatever is left, one more run finishes it.
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    let s = json(&o);
    assert_eq!(code(&o), 0, "{s:#}");
    assert_eq!(s["state"], "done");
    assert_eq!(s["counts"]["merged"], 30, "{s:#}");
    for i in 1..=30 {
        let dir = root.join(format!("repos/c{i:02}"));
        assert_eq!(sh(&dir, "git branch --list 'tern/*'"), "tern/m", "c{i:02}");
        assert_eq!(
            sh(
                &dir,
                "git log --all --format=%H --grep='^Tern-Migration: m$' | wc -l"
            ),
            "1",
            "c{i:02}: more than one tern commit"
        );
        assert_eq!(
            sh(&dir, "git rev-list --count main"),
            "2",
            "c{i:02}: main has the initial commit and tern's"
        );
        assert_eq!(
            sh(&dir, "git show main:job.sql"),
            "select * from lake.plays"
        );
        assert_eq!(sh(&dir, "git show main:conf.yaml"), "path: gs://lake/plays");
        assert_eq!(
            sh(&dir, "git worktree list | wc -l"),
            "1",
            "c{i:02}: a dead run's worktree was left behind"
        );
        // The checkout (main checked out, clean) was brought along with the
        // merge, however the runs were killed: nothing shows as a pending
        // reversal, and no half-done move is left to finish.
        assert_eq!(
            fs::read_to_string(dir.join("job.sql")).unwrap(),
            "select * from lake.plays\n",
            "c{i:02}"
        );
        assert_eq!(sh(&dir, "git status --porcelain"), "", "c{i:02}");
        assert_eq!(
            sh(&dir, "ls .git | grep -c '^tern-move-' || true"),
            "0",
            "c{i:02}: a move's marker was left"
        );
        // No lock left on any ref: a `git commit` there works.
        assert_eq!(
            sh(&dir, "find .git -name '*.lock' | wc -l"),
            "0",
            "c{i:02}: a lock file was left"
        );
    }
    // The history of every change is a straight walk through the states.
    let o = tern(root, &["status", "m", "--json"]);
    assert_eq!(json(&o)["breakage_rate"], 0.0);
}
