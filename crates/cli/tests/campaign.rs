//! `tern` end to end on a generated fleet of real git repositories.

mod common;

use std::fs;

use common::*;

/// The state of consumer `id` in a status report.
fn state_of(status: &serde_json::Value, id: &str) -> String {
    status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_string()
}

fn standard_fleet(root: &std::path::Path) -> std::path::PathBuf {
    let repos = vec![
        repo(
            "daily",
            "insights",
            &[("src/Daily.scala", "val p = spark.read.load(\"hdfs://prod-nn:8020/warehouse/plays/date=1/part-0.avro\")\n")],
            "! grep -rq prod-nn src",
        ),
        repo("sql", "insights", &[("q.sql", "SELECT * FROM LEGACY.PLAYS JOIN legacy.tracks USING (id);\n")], "grep -q LAKE.PLAYS q.sql"),
        repo("config", "group:default/bi", &[("app.yaml", "input:\n  path: hdfs://prod-nn:8020/warehouse/plays\n  keep: hdfs://prod-nn:8020/warehouse/plays_archive\n")], ""),
        repo("broken", "insights", &[("job.py", "p = 'hdfs://prod-nn:8020/warehouse/plays'\n")], "echo 'tests: 3 failed'; exit 1"),
        repo("untouched", "insights", &[("job.py", "p = 'hdfs://prod-nn:8020/warehouse/plays_v2'\n")], "true"),
        repo("dirty", "insights", &[("job.sql", "select 1 from legacy.plays\n")], "true"),
    ];
    let extra = format!(
        "{}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: not-a-repo\n  annotations: {{backstage.io/source-location: 'dir:./plain'}}\nspec: {{owner: bi, dependsOn: [resource:hdfs-plays]}}\n",
        component("gone", "insights")
    );
    let catalog = fleet(root, &repos, &extra);
    fs::create_dir_all(root.join("plain")).unwrap();
    catalog
}

#[test]
fn a_campaign_runs_resumes_and_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = standard_fleet(root);
    // One wave and a generous budget: this test wants every failure recorded.
    let rollout =
        "rollout: {waves: [\"100%\"], pause_when: {failed_ratio: 1.0, min_failed: 100}}\n";
    fs::write(
        root.join("spec.yaml"),
        spec_with("plays-move", "auto", rollout),
    )
    .unwrap();
    let repo = |id: &str| root.join("repos").join(id);
    let original_trees: Vec<(String, String)> =
        ["daily", "sql", "config", "broken", "untouched", "dirty"]
            .iter()
            .map(|id| (id.to_string(), sh(&repo(id), "git rev-parse main^{tree}")))
            .collect();

    // Uncommitted work in one consumer's checkout.
    fs::write(
        repo("dirty").join("job.sql"),
        "select 2 from legacy.plays -- wip\n",
    )
    .unwrap();
    fs::write(repo("dirty").join("notes.txt"), "mine\n").unwrap();
    let dirty_status = sh(&repo("dirty"), "git status --porcelain");

    let o = tern(root, &["catalog", "import", catalog.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(
        code(&o),
        1,
        "failed changes make `tern run` exit 1: {}",
        stderr(&o)
    );
    let status = json(&o);
    let state = |id: &str| state_of(&status, id);
    for id in ["daily", "sql"] {
        assert_eq!(state(id), "merged", "{id}: {status:#}");
    }
    // No verify command anywhere: nothing ran its code, so it is not merged
    // by itself under `approval: auto`.
    assert_eq!(state("config"), "open");
    assert_eq!(status["unverified"], 1);
    assert_eq!(state("broken"), "failed");
    assert_eq!(state("untouched"), "skipped");
    assert_eq!(state("gone"), "failed");
    assert_eq!(state("not-a-repo"), "failed");
    // The default branch is checked out with uncommitted changes there: the
    // merge waits, and says why.
    assert_eq!(state("dirty"), "approved");
    let dirty = status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "dirty")
        .unwrap();
    assert!(
        dirty["waiting"]
            .as_str()
            .unwrap()
            .contains("uncommitted changes"),
        "{dirty:#}"
    );
    assert_eq!(status["state"], "running");
    assert!(
        status["waiting"]
            .as_str()
            .unwrap()
            .starts_with("needs people: 3 failed, 1 waits for approval, 1 approved and waiting; config (open), dirty (approved) wait for a person; config: unverified"),
        "{status:#}"
    );
    assert_eq!(status["counts"]["merged"], 2);
    assert_eq!(
        sh(&repo("dirty"), "git show main:job.sql"),
        "select 1 from legacy.plays",
        "nothing merged under the owner's feet"
    );
    assert_eq!(sh(&repo("dirty"), "git status --porcelain"), dirty_status);
    // A person looks at the unverified change and approves it.
    let o = tern(root, &["approve", "plays-move", "config", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Clean checkouts were brought along with their merge.
    for id in ["daily", "sql", "config"] {
        assert_eq!(sh(&repo(id), "git status --porcelain"), "", "{id}");
    }

    // The owner sets their edit aside (the untracked note stays); the next
    // run merges and brings the checkout along.
    sh(&repo("dirty"), "git stash push -q -- job.sql");
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    let status = json(&o);
    let state = |id: &str| state_of(&status, id);
    assert_eq!(state("dirty"), "merged", "{status:#}");
    // Three failed consumers wait on their owners: not done.
    assert_eq!(status["state"], "running");
    assert_eq!(status["waiting"], "needs people: 3 failed");
    assert_eq!(status["counts"]["merged"], 4);
    assert_eq!(
        fs::read_to_string(repo("dirty").join("job.sql")).unwrap(),
        "select 1 from lake.plays\n"
    );
    assert_eq!(sh(&repo("dirty"), "git status --porcelain"), "?? notes.txt");
    assert_eq!(
        status["breakage_rate"], 0.2,
        "1 failed verification of 5 committed"
    );
    assert!(status["time_to_completion_s"].is_null());
    let errors: Vec<String> = status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["error"].as_str().map(String::from))
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("does not exist")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("is not a git repository")),
        "{errors:?}"
    );
    let broken = status["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "broken")
        .unwrap();
    assert_eq!(broken["verify"]["ok"], false);
    assert!(broken["verify"]["log_tail"]
        .as_str()
        .unwrap()
        .contains("3 failed"));
    assert_eq!(broken["branch"], "tern/plays-move");

    // Merged content, one branch and one tern commit per affected consumer.
    assert_eq!(
        sh(&repo("daily"), "git show main:src/Daily.scala"),
        "val p = spark.read.load(\"gs://lake/plays/date=1/part-0.parquet\")"
    );
    assert_eq!(
        sh(&repo("sql"), "git show main:q.sql"),
        "SELECT * FROM LAKE.PLAYS JOIN legacy.tracks USING (id);"
    );
    assert_eq!(
        sh(&repo("config"), "git show main:app.yaml"),
        "input:\n  path: gs://lake/plays\n  keep: hdfs://prod-nn:8020/warehouse/plays_archive"
    );
    for id in ["daily", "sql", "config", "broken", "dirty"] {
        assert_eq!(
            sh(&repo(id), "git branch --list 'tern/*' | wc -l"),
            "1",
            "{id}"
        );
        assert_eq!(
            sh(
                &repo(id),
                "git log --all --format=%H --grep='^Tern-Migration: plays-move$' | wc -l"
            ),
            "1",
            "{id}"
        );
        assert_eq!(
            sh(&repo(id), "git log -1 --format=%B tern/plays-move"),
            "Move plays to the lake\n\nThe HDFS copy goes away.\n\nTern-Migration: plays-move"
        );
        assert_eq!(
            sh(&repo(id), "git worktree list | wc -l"),
            "1",
            "{id}: a worktree was left behind"
        );
    }
    assert_eq!(
        sh(&repo("untouched"), "git branch --list 'tern/*' | wc -l"),
        "0"
    );

    // The owner's untracked file was never touched; the default branch got the change.
    assert_eq!(
        fs::read_to_string(repo("dirty").join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        sh(&repo("dirty"), "git show main:job.sql"),
        "select 1 from lake.plays"
    );

    // Running again changes nothing at all.
    let before: Vec<String> = ["daily", "sql", "config", "broken", "dirty"]
        .iter()
        .map(|id| refs(&repo(id)))
        .collect();
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["counts"], status["counts"]);
    let after: Vec<String> = ["daily", "sql", "config", "broken", "dirty"]
        .iter()
        .map(|id| refs(&repo(id)))
        .collect();
    assert_eq!(before, after);

    // Roll everything back: default branches are byte-identical to before, branches gone.
    let o = tern(root, &["rollback", "plays-move", "--json"]);
    assert_eq!(
        code(&o),
        0,
        "changes that never had a branch have nothing to undo: {}",
        stderr(&o)
    );
    let o = tern(root, &["status", "plays-move", "--json"]);
    let rolled = json(&o);
    assert_eq!(rolled["state"], "rolled_back");
    for (id, tree) in &original_trees {
        if *id == "untouched" {
            continue;
        }
        assert_eq!(&sh(&repo(id), "git rev-parse main^{tree}"), tree, "{id}");
        assert_eq!(
            sh(&repo(id), "git branch --list 'tern/*' | wc -l"),
            "0",
            "{id}"
        );
    }
    for id in ["daily", "sql", "config"] {
        assert_eq!(
            sh(&repo(id), "git status --porcelain"),
            "",
            "{id}: brought along"
        );
    }
    assert_eq!(sh(&repo("dirty"), "git status --porcelain"), "?? notes.txt");
    assert_eq!(
        rolled["breakage_rate"], 0.2,
        "a rollback asked for of green changes is not breakage: {rolled:#}"
    );
    // The references came back, and the burndown counted them on the default branches.
    let baseline = &rolled["burndown"][0]["remaining"];
    assert!(baseline.as_u64().unwrap() > 0, "{rolled:#}");
    assert_eq!(&rolled["remaining_references"], baseline, "{rolled:#}");
    assert_eq!(
        &rolled["burndown"].as_array().unwrap().last().unwrap()["remaining"],
        baseline
    );
    // Again: nothing more happens.
    let before: Vec<String> = ["daily", "sql", "config"]
        .iter()
        .map(|id| refs(&repo(id)))
        .collect();
    tern(root, &["rollback", "plays-move"]);
    let after: Vec<String> = ["daily", "sql", "config"]
        .iter()
        .map(|id| refs(&repo(id)))
        .collect();
    assert_eq!(before, after);
    let o = tern(root, &["run", "spec.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("rolled back"), "{}", stderr(&o));
}

#[test]
fn owners_approve_and_non_owners_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "daily",
            "insights",
            &[(
                "job.py",
                "p = '/x' if 0 else 'hdfs://prod-nn:8020/warehouse/plays'\n",
            )],
            "true",
        )],
        "",
    );
    fs::write(root.join("spec.yaml"), spec("m2", "owners")).unwrap();
    assert_eq!(
        code(&tern(
            root,
            &["catalog", "import", catalog.to_str().unwrap()]
        )),
        0
    );
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["consumers"][0]["state"], "open");
    assert_eq!(json(&o)["state"], "running");
    let repo = root.join("repos/daily");
    let main_before = sh(&repo, "git rev-parse main");

    let o = tern(root, &["approve", "m2", "daily", "--as", "mallory"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o)
            .contains("mallory may not approve daily: only members of group:default/insights may"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sh(&repo, "git rev-parse main"), main_before);

    let o = tern(root, &["approve", "m2", "daily", "--as", "alice", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["consumers"][0]["state"], "merged");
    assert_eq!(s["consumers"][0]["approved_by"], "user:default/alice");
    assert_eq!(s["state"], "done");
    let o = tern(root, &["approve", "m2", "daily"]);
    assert_eq!(code(&o), 1, "approving a merged change is a state conflict");
    assert_eq!(code(&tern(root, &["approve", "m2", "nobody"])), 2);
    assert_eq!(code(&tern(root, &["status", "no-such-migration"])), 2);
}

#[test]
fn pause_stops_a_campaign_until_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "a",
            "insights",
            &[("a.sql", "from legacy.plays\n")],
            "true",
        )],
        "",
    );
    fs::write(root.join("spec.yaml"), spec("m3", "owners")).unwrap();
    tern(root, &["catalog", "import", catalog.to_str().unwrap()]);
    assert_eq!(code(&tern(root, &["run", "spec.yaml"])), 0);
    let o = tern(
        root,
        &[
            "pause",
            "m3",
            "--reason",
            "waiting for the freeze to end",
            "--json",
        ],
    );
    assert_eq!(json(&o)["state"], "paused");
    assert_eq!(json(&o)["paused_reason"], "waiting for the freeze to end");
    let o = tern(root, &["run", "spec.yaml"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("paused (waiting for the freeze to end)"),
        "{}",
        stderr(&o)
    );
    let o = tern(root, &["resume", "m3", "--json"]);
    assert_eq!(json(&o)["state"], "running");
    assert_eq!(json(&o)["manual_interventions"], 1);
}

#[test]
fn plan_reports_per_consumer_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[
            repo(
                "a",
                "insights",
                &[
                    ("a.sql", "from legacy.plays\n"),
                    (
                        "b.py",
                        "f'/x/{y}'\nq = f\"hdfs://prod-nn:8020/warehouse/plays{s}\"\n",
                    ),
                ],
                "",
            ),
            repo("b", "insights", &[("none.txt", "nothing\n")], ""),
        ],
        "",
    );
    // A consumer the catalog does not link to the dataset, found by scanning.
    let hidden = root.join("repos/hidden");
    fs::create_dir_all(&hidden).unwrap();
    fs::write(hidden.join("x.sql"), "select * from legacy.plays\n").unwrap();
    sh(
        &hidden,
        "git init -q -b main && git add -A && git commit -qm init",
    );
    let mut text = fs::read_to_string(&catalog).unwrap();
    text.push_str("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: hidden\n  annotations: {backstage.io/source-location: 'dir:./repos/hidden'}\nspec: {owner: bi}\n");
    fs::write(&catalog, text).unwrap();
    fs::write(root.join("spec.yaml"), spec("m4", "auto")).unwrap();
    tern(root, &["catalog", "import", catalog.to_str().unwrap()]);
    let before = refs(&root.join("repos/a"));
    let o = tern(root, &["plan", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let plan = json(&o);
    assert_eq!(plan["id"], "m4");
    let ids: Vec<&str> = plan["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["a", "b", "hidden"]);
    let a = &plan["consumers"][0];
    assert_eq!(
        a["files"],
        serde_json::json!(["a.sql"]),
        "b.py holds only a finding"
    );
    assert_eq!(a["edits"], 1);
    assert_eq!(a["unresolved"][0]["path"], "b.py");
    assert_eq!(a["unresolved"][0]["line"], 2);
    assert_eq!(plan["consumers"][2]["via"], "scan");
    assert_eq!(refs(&root.join("repos/a")), before);
    assert_eq!(sh(&root.join("repos/a"), "git worktree list | wc -l"), "1");
    assert_eq!(sh(&root.join("repos/a"), "git status --porcelain"), "");

    let o = tern(root, &["catalog", "consumers", "hdfs-plays", "--json"]);
    let list = json(&o);
    assert_eq!(
        list[0],
        serde_json::json!({"id": "a", "repo": root.join("repos/a").canonicalize().unwrap().to_str().unwrap(), "owner": "group:default/insights", "via": "catalog", "depth": 1})
    );
}

#[test]
fn plan_and_run_read_the_default_branch_not_the_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "c",
            "insights",
            &[
                ("q.sql", "select ts from legacy.plays\n"),
                ("r\u{e9}sum\u{e9} \"x\".sql", "select 1 from legacy.plays\n"),
                ("blob.bin", "legacy.plays\0\x01"),
            ],
            "true",
        )],
        "",
    );
    let dir = root.join("repos/c");
    // A committed symbolic link (never followed), then the user's own work:
    // an unstaged edit, an untracked file, and another branch checked out.
    sh(
        &dir,
        "ln -s q.sql link.sql && git add link.sql && git commit -qm link \
         && git switch -q -c wip && echo 'from legacy.plays' > wip.sql && git add wip.sql \
         && git commit -qm wip && echo 'from legacy.plays' > untracked.sql && echo '-- mine' >> q.sql",
    );
    fs::write(root.join("spec.yaml"), spec("m6", "auto")).unwrap();
    tern(root, &["catalog", "import", catalog.to_str().unwrap()]);
    let o = tern(root, &["plan", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let c = &json(&o)["consumers"][0];
    assert_eq!(
        c["files"],
        serde_json::json!(["q.sql", "r\u{e9}sum\u{e9} \"x\".sql"]),
        "main's files only: not the link, the other branch or the checkout's work"
    );
    // A binary file naming the dataset is a note (docs/json.md), not unresolved.
    assert_eq!(c["notes"][0]["path"], "blob.bin");
    assert_eq!(c["unresolved"].as_array().unwrap().len(), 0);

    let main_before = sh(&dir, "git rev-parse main");
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    let c = &json(&o)["consumers"][0];
    assert_eq!(
        c["files"],
        serde_json::json!(["q.sql", "r\u{e9}sum\u{e9} \"x\".sql"]),
        "{}",
        stdout(&o)
    );
    assert_ne!(
        c["state"], "needs_attention",
        "blob.bin is a note, never a reason for attention"
    );
    assert_eq!(
        sh(&dir, "git show tern/m6:q.sql && git rev-parse tern/m6^"),
        format!("select ts from lake.plays\n{main_before}"),
        "proposed on a branch from main"
    );
    assert_eq!(sh(&dir, "git branch --show-current"), "wip");
    assert_eq!(
        sh(&dir, "tail -n1 q.sql && cat untracked.sql"),
        "-- mine\nfrom legacy.plays"
    );
}

#[test]
fn a_commit_that_git_alters_is_refused_by_the_scope_check() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "filtered",
            "insights",
            &[
                ("q.sql", "select * from legacy.plays\n"),
                (".gitattributes", "*.sql filter=shout\n"),
            ],
            "true",
        )],
        "",
    );
    // A clean filter the team set up after the fact: git rewrites what tern wrote.
    sh(
        &root.join("repos/filtered"),
        "git config filter.shout.clean 'tr a-z A-Z' && git config filter.shout.smudge cat",
    );
    fs::write(root.join("spec.yaml"), spec("m5", "auto")).unwrap();
    tern(root, &["catalog", "import", catalog.to_str().unwrap()]);
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    let c = &json(&o)["consumers"][0];
    assert_eq!(c["state"], "failed");
    assert_eq!(
        c["error"],
        "scope check: q.sql: the committed content differs from the rewrite (a git filter or .gitattributes changed it)"
    );
    assert_eq!(c["branch"], serde_json::Value::Null, "nothing was proposed");
    assert_eq!(
        sh(
            &root.join("repos/filtered"),
            "git branch --list 'tern/*' | wc -l"
        ),
        "0"
    );
}

/// The rules are fixed when a campaign first runs: a worker that joins after
/// the catalog has learned a different home for the new dataset rewrites as
/// the run it joins.
#[test]
fn a_worker_joining_after_a_catalog_import_rewrites_as_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    // Each verify says it started, then holds until the test lets it go, so
    // the run holds one consumer while a worker takes the other.
    let hold = |id: &str| -> &'static str {
        Box::leak(
            format!(
                "touch {0}/started-{id}; while [ ! -f {0}/go ]; do sleep 0.05; done",
                root.display()
            )
            .into_boxed_str(),
        )
    };
    let catalog = fleet(
        root,
        &[
            repo("c1", "insights", &[("job.py", job)], hold("c1")),
            repo("c2", "insights", &[("job.py", job)], hold("c2")),
        ],
        "",
    );
    import(root, &catalog);
    fs::write(
        root.join("s.yaml"),
        spec_with(
            "fixed",
            "auto",
            "rollout: {waves: ['100%'], max_in_flight: 2}\n",
        ),
    )
    .unwrap();
    // On one core each process works one change at a time.
    let spawn = |args: &[&str]| {
        std::process::Command::new("taskset")
            .args(["-c", "0", env!("CARGO_BIN_EXE_tern")])
            .args(args)
            .current_dir(root)
            .env_remove("TERN_CATALOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for = |what: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !what() {
            assert!(start.elapsed().as_secs() < 60, "timed out");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let started = |id: &str| root.join(format!("started-{id}")).exists();
    let mut run = spawn(&["run", "s.yaml"]);
    wait_for(&|| started("c1") || started("c2"));

    // The catalog now says the lake copy lives elsewhere.
    let moved = fs::read_to_string(&catalog).unwrap().replace(
        "tern.dev/paths: gs://lake/plays",
        "tern.dev/paths: gs://elsewhere/plays",
    );
    fs::write(&catalog, moved).unwrap();
    import(root, &catalog);
    let mut worker = spawn(&["worker", "--once"]);
    wait_for(&|| started("c1") && started("c2"));
    fs::write(root.join("go"), "").unwrap();
    for (name, child) in [("run", &mut run), ("worker", &mut worker)] {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{name}: {err}");
    }
    for id in ["c1", "c2"] {
        let text = sh(&root.join("repos").join(id), "git show main:job.py");
        assert_eq!(text, "p = 'gs://lake/plays'", "{id}");
    }

    // A second run of the same spec keeps the rules too: nothing is left to do.
    let o = tern(root, &["run", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["state"], "done");
}

/// A filter that undoes tern's edit leaves git nothing to commit: the change
/// fails with the reason, never `skipped` with the old locator still there.
#[test]
fn a_filter_that_undoes_the_edit_fails_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "undone",
            "insights",
            &[
                ("q.sql", "select * from legacy.plays\n"),
                (".gitattributes", "*.sql filter=undo\n"),
            ],
            "true",
        )],
        "",
    );
    sh(
        &root.join("repos/undone"),
        "git config filter.undo.clean 'sed s/lake.plays/legacy.plays/' && git config filter.undo.smudge cat",
    );
    fs::write(root.join("spec.yaml"), spec("m6", "auto")).unwrap();
    import(root, &catalog);
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    assert_eq!(code(&o), 1);
    let c = &json(&o)["consumers"][0];
    assert_eq!(c["state"], "failed", "{c:#}");
    assert!(
        c["error"]
            .as_str()
            .unwrap()
            .starts_with("scope check: git committed nothing although tern rewrote q.sql"),
        "{c:#}"
    );
}

/// Commit messages of any length go to git by file, and a `tern/ID` branch
/// that someone else made is never overwritten, and says so.
#[test]
fn long_descriptions_commit_and_a_taken_branch_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let job = "p = 'hdfs://prod-nn:8020/warehouse/plays'\n";
    let catalog = fleet(
        root,
        &[
            repo("long", "insights", &[("job.py", job)], "true"),
            repo("taken", "insights", &[("job.py", job)], "true"),
        ],
        "",
    );
    import(root, &catalog);
    sh(
        &root.join("repos/taken"),
        "git checkout -q -b tern/m7 && echo mine > mine.txt && git add mine.txt && git commit -qm 'my own work' && git checkout -q main",
    );
    // A description of some 300 KB: far over what one argument may hold.
    let line = "The HDFS copy goes away; read the lakehouse table instead. ";
    let description: String = std::iter::repeat_n(line, 5_000)
        .map(|l| format!("  {l}\n"))
        .collect();
    assert!(description.len() > 280_000);
    fs::write(
        root.join("spec.yaml"),
        format!(
            "version: 1\nid: m7\ntitle: Move plays\ndescription: |\n{description}dataset: {{from: hdfs-plays, to: lake-plays}}\napproval: auto\nrollout: {{waves: ['100%']}}\n"
        ),
    )
    .unwrap();
    let o = tern(root, &["run", "spec.yaml", "--json"]);
    let s = json(&o);
    let of = |id: &str| {
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("long")["state"], "merged", "{s:#}");
    let body = sh(&root.join("repos/long"), "git log -1 --format=%B tern/m7");
    assert!(body.len() > 280_000 && body.ends_with("Tern-Migration: m7"));
    let taken = of("taken");
    assert_eq!(taken["state"], "failed");
    let error = taken["error"].as_str().unwrap();
    assert!(
        error.contains("branch tern/m7 already exists with commits that are not tern's"),
        "{error}"
    );
    assert_eq!(
        sh(&root.join("repos/taken"), "git log -1 --format=%s tern/m7"),
        "my own work",
        "the branch is as its owner left it"
    );
}
