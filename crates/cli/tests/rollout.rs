//! Rollout end to end: waves and their gates, retry, the error budget, the
//! in-flight and hourly limits, the window.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// `n` consumers `c01..`, each naming the dataset; `failing` ones fail verification.
fn consumers(root: &Path, n: usize, failing: &[usize]) -> std::path::PathBuf {
    let repos: Vec<Repo> = (1..=n)
        .map(|i| {
            let id: &'static str = Box::leak(format!("c{i:02}").into_boxed_str());
            let verify = if failing.contains(&i) {
                "echo broken; exit 1"
            } else {
                "true"
            };
            repo(
                id,
                "insights",
                &[("job.sql", "select * from legacy.plays\n")],
                verify,
            )
        })
        .collect();
    fleet(root, &repos, "")
}

fn states(s: &serde_json::Value) -> Vec<String> {
    s["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["id"].as_str().unwrap(),
                c["state"].as_str().unwrap()
            )
        })
        .collect()
}

fn setup(root: &Path, n: usize, failing: &[usize], approval: &str, rollout: &str) {
    let catalog = consumers(root, n, failing);
    fs::write(root.join("spec.yaml"), spec_with("m", approval, rollout)).unwrap();
    assert_eq!(
        code(&tern(
            root,
            &["catalog", "import", catalog.to_str().unwrap()]
        )),
        0
    );
}

#[test]
fn a_failed_canary_holds_the_fleet_until_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(
        root,
        5,
        &[1],
        "auto",
        "rollout: {waves: [1, 3, \"100%\"]}\n",
    );
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    let s = json(&o);
    assert_eq!(
        states(&s),
        vec![
            "c01=failed",
            "c02=planned",
            "c03=planned",
            "c04=planned",
            "c05=planned"
        ]
    );
    assert_eq!(s["state"], "running");
    assert_eq!(
        s["waiting"],
        "needs people: 1 failed; wave 2 of 3 waits for c01 (failed)"
    );
    assert_eq!(
        s["consumers"][2]["waiting_on"],
        s["consumers"][0]["waiting_on"]
    );
    assert_eq!(s["consumers"][2]["next"], "tern retry m c01");
    assert_eq!(s["consumers"][0]["wave"], 1);
    assert_eq!(s["consumers"][2]["wave"], 2);
    assert_eq!(s["consumers"][4]["wave"], 3);

    // The owners fix their test on main; a retry starts again from there.
    sh(
        &root.join("repos/c01"),
        "printf \"verify: 'true'\\n\" > .tern.yaml && git commit -qam 'fix the test'",
    );
    let o = tern(root, &["retry", "m", "c01", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert!(
        states(&s).iter().all(|x| x.ends_with("=merged")),
        "{:?}",
        states(&s)
    );
    assert_eq!(s["state"], "done");
    assert_eq!(s["manual_interventions"], 1);
    assert_eq!(s["remaining_references"], 0);
    assert_eq!(
        sh(
            &root.join("repos/c01"),
            "git log --all --format=%H --grep='^Tern-Migration: m$' | wc -l"
        ),
        "1",
        "the failed attempt's branch is gone"
    );
    assert_eq!(
        sh(&root.join("repos/c01"), "git show main:job.sql"),
        "select * from lake.plays"
    );
    let o = tern(root, &["retry", "m"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("no failed changes to retry"));
}

#[test]
fn the_error_budget_pauses_the_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(
        root,
        8,
        &[2, 3, 4],
        "auto",
        "rollout: {waves: [\"100%\"], max_in_flight: 1, pause_when: {failed_ratio: 0.5, min_failed: 2}}\n",
    );
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    let s = json(&o);
    // c01 merged, c02 and c03 failed: 2 of 3 finished failed (67% >= 50%).
    assert_eq!(
        states(&s)[..4],
        ["c01=merged", "c02=failed", "c03=failed", "c04=planned"]
    );
    assert_eq!(s["state"], "paused");
    assert_eq!(s["pauses"], 1);
    assert!(
        s["paused_reason"]
            .as_str()
            .unwrap()
            .starts_with("error budget: 2 of 3 finished changes failed"),
        "{s:#}"
    );
    let o = tern(root, &["run", "spec.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("is paused (error budget"),
        "{}",
        stderr(&o)
    );

    let o = tern(root, &["resume", "m", "--json"]);
    assert_eq!(json(&o)["manual_interventions"], 1);
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    let s = json(&o);
    // c04 fails again: 3 of 4 failed, the budget trips again.
    assert_eq!(
        states(&s)[..5],
        [
            "c01=merged",
            "c02=failed",
            "c03=failed",
            "c04=failed",
            "c05=planned"
        ]
    );
    assert_eq!(s["pauses"], 2);
    // Rolling back the broken consumers and resuming lets the rest through.
    for c in ["c02", "c03", "c04"] {
        assert_eq!(code(&tern(root, &["rollback", "m", c])), 0);
    }
    tern(root, &["resume", "m"]);
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["state"], "running", "{s:#}");
    assert_eq!(s["waiting"], "needs people: 3 rolled back", "{s:#}");
    assert_eq!(s["counts"]["merged"], 5);
    assert_eq!(s["counts"]["rolled_back"], 3);
}

#[test]
fn max_in_flight_waits_for_approvals() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(
        root,
        5,
        &[],
        "owners",
        "rollout: {waves: [\"100%\"], max_in_flight: 2}\n",
    );
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["open"], 2);
    assert_eq!(s["counts"]["planned"], 3);
    assert_eq!(
        s["waiting"],
        "2 changes in flight (max_in_flight: 2); waiting for approvals"
    );
    assert_eq!(
        code(&tern(root, &["approve", "m", "c01", "--as", "alice"])),
        0
    );
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["merged"], 1);
    assert_eq!(s["counts"]["open"], 2);
    assert_eq!(s["counts"]["planned"], 2);
}

#[test]
fn the_hourly_limit_and_the_window_hold_proposals_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(
        root,
        4,
        &[],
        "auto",
        "rollout: {waves: [\"100%\"], per_hour: 2}\n",
    );
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["merged"], 2);
    assert_eq!(s["counts"]["planned"], 2);
    assert_eq!(
        s["waiting"],
        "hourly limit reached: 2 changes proposed in the last hour"
    );
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["merged"], 2, "still within the same hour");

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // A window that is never open: an hour range on a day that is not today.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let today =
        ["thu", "fri", "sat", "sun", "mon", "tue", "wed"][(secs / 86_400).rem_euclid(7) as usize];
    let other = if today == "mon" { "tue" } else { "mon" };
    setup(
        root,
        2,
        &[],
        "auto",
        &format!("rollout: {{window: {{days: [{other}], hours: \"00-24\"}}}}\n"),
    );
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["planned"], 2);
    assert_eq!(
        s["waiting"],
        "outside the rollout window; nothing is proposed until it opens"
    );
}

/// After the canary, a wave opens when the waves before it have settled:
/// a consumer that needs a person does not hold the rest of the fleet.
#[test]
fn a_consumer_needing_attention_does_not_hold_the_fleet() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repos: Vec<Repo> = (1..=12)
        .map(|i| {
            let id: &'static str = Box::leak(format!("c{i:02}").into_boxed_str());
            let job = if i == 3 {
                // A path built at run time: tern cannot know it, so a person must.
                "import os\nROOT = os.environ['ROOT']\np = ROOT + '/warehouse/plays'\n"
            } else {
                "p = 'hdfs://prod-nn:8020/warehouse/plays'\n"
            };
            repo(id, "insights", &[("job.py", job)], "true")
        })
        .collect();
    let catalog = fleet(root, &repos, "");
    import(root, &catalog);
    fs::write(
        root.join("spec.yaml"),
        spec_with("m", "auto", "rollout: {waves: [1, 4, \"100%\"]}\n"),
    )
    .unwrap();
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["counts"]["merged"], 11, "{:?}", states(&s));
    assert_eq!(s["counts"]["needs_attention"], 1, "{:?}", states(&s));
    assert_eq!(states(&s)[2], "c03=needs_attention");
    assert_eq!(s["consumers"][2]["wave"], 2, "c03 is in the second wave");
    // Not done while a consumer waits on its owner, and it says so.
    assert_eq!(s["state"], "running");
    assert_eq!(s["waiting"], "needs people: 1 needs attention");
    assert_eq!(s["consumers"][2]["waiting_on"], "group:default/insights");
}

/// The error budget is what stops the fleet: failures in one wave do not
/// hold the next, and the third failure pauses the campaign by itself.
#[test]
fn the_error_budget_stops_the_fleet_across_waves() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(
        root,
        30,
        &[3, 4, 12, 20, 28],
        "auto",
        "rollout: {waves: [1, 5, \"100%\"], max_in_flight: 1, pause_when: {failed_ratio: 0.1, min_failed: 3}}\n",
    );
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    let s = json(&o);
    assert_eq!(s["state"], "paused", "{:?}", states(&s));
    assert_eq!(s["pauses"], 1);
    assert_eq!(s["counts"]["failed"], 3, "{:?}", states(&s));
    assert_eq!(
        states(&s)[11],
        "c12=failed",
        "the third failure is in wave 3"
    );
    assert_eq!(
        states(&s)[12],
        "c13=planned",
        "nothing after it was proposed"
    );
    let why = s["paused_reason"].as_str().unwrap();
    assert!(
        why.starts_with("error budget: 3 of 12 finished changes failed"),
        "{why}"
    );

    // A person looks and resumes: the campaign goes on until the budget speaks again.
    let o = tern(root, &["resume", "m", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["state"], "paused");
    assert_eq!(s["pauses"], 2);
    assert_eq!(states(&s)[19], "c20=failed");
    assert_eq!(states(&s)[18], "c19=merged", "it went on from c13");
    tern(root, &["resume", "m"]);
    tern(root, &["run", "spec.yaml"]);
    tern(root, &["resume", "m"]);
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["state"], "running", "{:?}", states(&s));
    assert_eq!(s["waiting"], "needs people: 5 failed", "{:?}", states(&s));
    assert_eq!(s["counts"]["merged"], 25);
    assert_eq!(s["counts"]["failed"], 5);
}

/// Breakage counts what broke: a rollback a person asks for of a green
/// change is not breakage, one they say broke is; and the references a
/// rollback brings back are counted on the default branches.
#[test]
fn a_rollback_counts_as_breakage_only_when_it_broke() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root, 3, &[], "auto", "rollout: {waves: [\"100%\"]}\n");
    let s = json(&tern(root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["merged"], 3);
    assert_eq!(s["remaining_references"], 0);
    assert_eq!(s["breakage_rate"], 0.0);

    let s = json(&tern(root, &["rollback", "m", "c01", "--json"]));
    assert_eq!(s["breakage_rate"], 0.0, "asked for, not broken");
    assert_eq!(s["remaining_references"], 1, "c01's reference came back");
    let s = json(&tern(root, &["rollback", "m", "c02", "--broken", "--json"]));
    assert_eq!(s["breakage_rate"], 0.3333, "{s:#}");
    assert_eq!(s["remaining_references"], 2);
    let last = s["burndown"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["remaining"], 2);
}

/// A consumer nothing verifies is unverified: shown and counted as such,
/// never merged by itself under `approval: auto` unless the spec accepts it.
#[test]
fn unverified_consumers_wait_unless_the_spec_says_none() {
    for (verify, merged) in [("{timeout: 30s}", 0), ("{command: none}", 2)] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
        let catalog = fleet(
            root,
            &[
                repo("u1", "insights", &[("job.py", job)], ""),
                repo("u2", "insights", &[("job.py", job)], ""),
            ],
            "",
        );
        import(root, &catalog);
        fs::write(
            root.join("spec.yaml"),
            format!("version: 1\nid: m\ntitle: t\ndataset: {{from: hdfs-plays, to: lake-plays}}\nverify: {verify}\napproval: auto\nrollout: {{waves: ['100%']}}\n"),
        )
        .unwrap();
        let o = tern(root, &["run", "spec.yaml", "--json"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let s = json(&o);
        assert_eq!(s["unverified"], 2, "{verify}");
        assert_eq!(s["counts"]["merged"], merged, "{verify}: {s:#}");
        if merged == 0 {
            assert_eq!(s["counts"]["open"], 2);
            assert!(s["consumers"][0]["waiting"]
                .as_str()
                .unwrap()
                .starts_with("unverified"));
            let o = tern(root, &["status", "m"]);
            assert!(stdout(&o).contains("unverified"), "{}", stdout(&o));
        }
    }
}

/// A second campaign moving the same dataset over the same consumers is
/// refused with the first one's id, until the first is settled or rolled back.
#[test]
fn a_second_migration_of_the_same_dataset_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    setup(root, 2, &[], "owners", "rollout: {waves: [\"100%\"]}\n");
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["counts"]["open"], 2);
    fs::write(
        root.join("again.yaml"),
        spec_with("again", "auto", "rollout: {waves: [\"100%\"]}\n"),
    )
    .unwrap();
    let o = tern(root, &["run", "again.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("migration m already moves this dataset and is running with changes on the same consumers (c01, c02)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&tern(root, &["status", "again"])),
        2,
        "nothing was recorded"
    );
    assert_eq!(code(&tern(root, &["rollback", "m"])), 0);
    let o = tern(root, &["run", "again.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["counts"]["merged"], 2);
}

/// A change verified on a default branch that has moved since is rewritten
/// on the new base and verified again before it merges.
#[test]
fn a_moved_default_branch_is_verified_again_before_the_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let verify: &'static str =
        Box::leak(format!("echo run >> {}/verified", root.display()).into_boxed_str());
    let catalog = fleet(
        &root,
        &[repo(
            "c01",
            "insights",
            &[("job.sql", "select * from legacy.plays\n")],
            verify,
        )],
        "",
    );
    import(&root, &catalog);
    fs::write(
        root.join("spec.yaml"),
        spec_with("m", "owners", "rollout: {waves: [\"100%\"]}\n"),
    )
    .unwrap();
    let s = json(&tern(&root, &["run", "spec.yaml", "--json"]));
    assert_eq!(s["counts"]["open"], 1);
    let repo = root.join("repos/c01");
    // The owners land other work on main, with a new read of the dataset.
    sh(&repo, "printf 'select 1 from legacy.plays\\n' > more.sql && git add more.sql && git commit -qm 'more'");
    let o = tern(&root, &["approve", "m", "c01", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["consumers"][0]["state"], "merged", "{s:#}");
    assert_eq!(
        fs::read_to_string(root.join("verified"))
            .unwrap()
            .lines()
            .count(),
        2,
        "verified on the first base and again on the new one"
    );
    assert_eq!(
        sh(&repo, "git show main:more.sql"),
        "select 1 from lake.plays"
    );
    assert_eq!(
        sh(&repo, "git show main:job.sql"),
        "select * from lake.plays"
    );
    assert_eq!(sh(&repo, "git log --format=%s -1 main~1"), "more");
}
