//! Workers on a shared PostgreSQL catalog: `tern run` and two `tern worker`
//! processes share a 30-consumer campaign; one worker is killed with -9 in
//! the middle, and its changes are picked up by the others. Every consumer
//! ends merged with exactly one commit, one branch and no stray worktree.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn spawn(dir: &std::path::Path, url: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--catalog")
        .arg(url)
        .args(args)
        .current_dir(dir)
        .env("TERN_LEASE_SECS", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tern starts")
}

#[test]
fn two_workers_and_a_killed_one_share_a_campaign_on_postgres() {
    let Some(url) = postgres_db() else { return };
    let d = tempfile::tempdir().unwrap();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    let ids: Vec<&'static str> = (0..30)
        .map(|i| &*Box::leak(format!("c{i:02}").into_boxed_str()))
        .collect();
    let repos: Vec<Repo> = ids
        .iter()
        .map(|id| repo(id, "insights", &[("job.py", job)], "sleep 0.3"))
        .collect();
    let file = fleet(d.path(), &repos, "");
    let o = tern(
        d.path(),
        &[
            "--catalog",
            &url,
            "catalog",
            "import",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::write(
        d.path().join("s.yaml"),
        spec_with(
            "pg",
            "auto",
            "rollout: {waves: [1, '100%'], max_in_flight: 20}\n",
        ),
    )
    .unwrap();

    let mut doomed = spawn(d.path(), &url, &["worker", "--idle", "100ms"]);
    let mut steady = spawn(d.path(), &url, &["worker", "--idle", "100ms"]);
    let (doomed_pid, steady_pid) = (doomed.id(), steady.id());
    let mut run = spawn(d.path(), &url, &["run", "s.yaml"]);
    // Kill one worker while the campaign is under way.
    std::thread::sleep(Duration::from_millis(1500));
    doomed.kill().unwrap();
    let _ = doomed.wait();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the campaign did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "tern run: {err}");
    steady.kill().unwrap();
    let _ = steady.wait();

    let o = tern(d.path(), &["--catalog", &url, "status", "pg", "--json"]);
    let s = json(&o);
    assert_eq!(s["state"], "done", "{s}");
    assert_eq!(s["counts"]["merged"], 30, "{}", s["counts"]);
    let workers: std::collections::BTreeSet<String> = s["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["worker"].as_str())
        .map(|w| w.split(':').nth(1).unwrap().to_string())
        .collect();
    assert!(
        workers.contains(&steady_pid.to_string()) || workers.contains(&doomed_pid.to_string()),
        "the workers took part: {workers:?}"
    );
    for id in &ids {
        let dir = d.path().join("repos").join(id);
        let commits = sh(
            &dir,
            "git log main --format=%H --grep='Tern-Migration: pg' | wc -l",
        );
        assert_eq!(commits, "1", "{id}: one commit on main");
        assert_eq!(
            sh(&dir, "git branch --list 'tern/*' | wc -l"),
            "1",
            "{id}: one branch"
        );
        assert_eq!(
            sh(&dir, "git worktree list | wc -l"),
            "1",
            "{id}: no stray worktree"
        );
        assert!(sh(&dir, "git show main:job.py").contains("gs://lake/plays"));
    }
    // Running again changes nothing.
    let o = tern(d.path(), &["--catalog", &url, "run", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for id in &ids[..3] {
        let dir = d.path().join("repos").join(id);
        assert_eq!(
            sh(
                &dir,
                "git log main --format=%H --grep='Tern-Migration: pg' | wc -l"
            ),
            "1"
        );
    }
}
