//! What a new user meets first (issue #19): commands that list what there
//! is, counts that read as English.

mod common;

use std::fs;

use common::*;

#[test]
fn migrations_are_listed_and_one_consumer_is_one() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let o = tern(root, &["migrations"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("tern catalog import"), "{}", stderr(&o));
    let file = fleet(
        root,
        &[repo(
            "solo",
            "insights",
            &[("job.yaml", "path: hdfs://prod-nn:8020/warehouse/plays\n")],
            "true",
        )],
        "",
    );
    import(root, &file);
    let o = tern(root, &["migrations"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("No migrations yet"), "{}", stdout(&o));
    fs::write(root.join("s.yaml"), spec("m", "auto")).unwrap();
    let o = tern(root, &["plan", "s.yaml"]);
    assert!(
        stdout(&o).contains("1 consumer") && !stdout(&o).contains("1 consumers"),
        "{}",
        stdout(&o)
    );
    let o = tern(root, &["run", "s.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("1 consumer:"), "{}", stdout(&o));
    let o = tern(root, &["migrations", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = json(&o);
    assert_eq!(list[0]["id"], "m");
    assert_eq!(list[0]["state"], "done");
    assert_eq!(list[0]["counts"]["merged"], 1);
    let text = stdout(&tern(root, &["migrations"]));
    assert!(
        text.contains("ID") && text.contains("1/1") && text.contains("done"),
        "{text}"
    );
}

#[test]
fn under_json_errors_are_json_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    // Bad input tern finds, and a command line clap refuses.
    for args in [
        &["status", "nope", "--json"][..],
        &["plan", "missing.yaml", "--json"][..],
        &["status", "--json", "--no-such-flag"][..],
    ] {
        let o = tern(root, args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
        let err: serde_json::Value = serde_json::from_slice(&o.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&o)));
        assert_eq!(err["exit"], 2, "{err}");
        assert!(!err["error"].as_str().unwrap().is_empty(), "{err}");
    }
    // Without --json, words.
    let o = tern(root, &["status", "nope"]);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

/// A typo in a catalog file is said with its file and line; `--strict`
/// refuses the import and creates no catalog.
#[test]
fn catalog_typos_are_warned_and_refused_under_strict() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let file = root.join("catalog-info.yaml");
    fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: hdfs-plays\n  annotations:\n    tern.dev/path: hdfs://nn/warehouse/plays\nspec: {type: dataset}\n---\napiVersion: backstage.io/v1alpha1\nkind: Componnet\nmetadata:\n  name: plays-daily\n  annotations: {backstage.io/source-location: 'dir:./r'}\nspec: {dependsOn: [resource:default/hdfs-plays]}\n---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: music}\n",
    )
    .unwrap();
    let o = tern(
        root,
        &[
            "--catalog",
            "strict.db",
            "catalog",
            "import",
            "--strict",
            "catalog-info.yaml",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("refused under --strict"), "{err}");
    assert!(
        err.contains("catalog-info.yaml:6: annotation `tern.dev/path`")
            && err.contains("did you mean tern.dev/paths?"),
        "{err}"
    );
    assert!(
        err.contains("catalog-info.yaml:10: kind `Componnet`")
            && err.contains("did you mean Component?"),
        "{err}"
    );
    assert!(
        !err.contains("System"),
        "a kind tern passes over is no typo: {err}"
    );
    assert!(!root.join("strict.db").exists(), "nothing written");

    let o = tern(root, &["catalog", "import", "catalog-info.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: catalog-info.yaml:10: kind"),
        "{}",
        stderr(&o)
    );
    let out = json(&o);
    assert_eq!(out["datasets"], 1);
    assert_eq!(out["consumers"], 0);
    assert_eq!(out["warnings"].as_array().unwrap().len(), 2, "{out}");
}

/// An id that names nothing is exit 2 with the ids it was probably meant to be.
#[test]
fn unknown_ids_suggest_the_closest() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let file = fleet(
        root,
        &[repo(
            "solo",
            "insights",
            &[("job.yaml", "path: hdfs://prod-nn:8020/warehouse/plays\n")],
            "true",
        )],
        "",
    );
    import(root, &file);
    fs::write(
        root.join("typo.yaml"),
        spec("m", "auto").replace("from: hdfs-plays", "from: hdfs-play"),
    )
    .unwrap();
    for cmd in ["plan", "run"] {
        let o = tern(root, &[cmd, "typo.yaml"]);
        assert_eq!(code(&o), 2, "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("`dataset.from`: no dataset \"hdfs-play\" in the catalog (did you mean hdfs-plays?)"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
    // A typo is caught even when `replace` gives every locator.
    fs::write(
        root.join("typo2.yaml"),
        "version: 1\nid: m\ntitle: t\ndataset: {from: hdfs-plays, to: lake-play}\nreplace: [{kind: path, old: /warehouse/plays, new: gs://lake/plays}]\n",
    )
    .unwrap();
    let o = tern(root, &["plan", "typo2.yaml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean lake-plays?"),
        "{}",
        stderr(&o)
    );
    let o = tern(root, &["catalog", "consumers", "plays"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("did you mean hdfs-plays, lake-plays?"),
        "{}",
        stderr(&o)
    );

    fs::write(root.join("s.yaml"), spec("plays-to-lake", "owners")).unwrap();
    assert_eq!(code(&tern(root, &["run", "s.yaml"])), 0);
    let o = tern(root, &["status", "plays-to-lak"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean plays-to-lake?"),
        "{}",
        stderr(&o)
    );
    let o = tern(root, &["approve", "plays-to-lake", "sol", "--as", "alice"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no consumer \"sol\" (did you mean solo?)"),
        "{}",
        stderr(&o)
    );
}

/// A campaign with a failed and a needs-attention consumer is not done: it
/// says it needs people, and every waiting consumer names who and the
/// command, which runs as printed.
#[test]
fn states_say_who_is_blocked_and_what_to_run() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let path = "path: hdfs://prod-nn:8020/warehouse/plays\n";
    let file = fleet(
        root,
        &[
            repo("good", "insights", &[("job.yaml", path)], "true"),
            repo("broken", "insights", &[("job.yaml", path)], "exit 1"),
            repo(
                "built",
                "insights",
                &[
                    ("job.yaml", path),
                    ("jobs/b.py", "base = 'hdfs://prod-nn:8020/warehouse/plays'\nspark.read.parquet(base + day)\n"),
                ],
                "true",
            ),
        ],
        "",
    );
    import(root, &file);
    fs::write(root.join("s.yaml"), spec("m", "auto")).unwrap();
    let o = tern(
        root,
        &["--catalog", "sqlite:./tern.db", "run", "s.yaml", "--json"],
    );
    let s = json(&o);
    let by = |id: &str| {
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by("broken")["state"], "failed", "{s:#}");
    assert_eq!(s["state"], "running", "not done while two wait: {s:#}");
    assert!(s["time_to_completion_s"].is_null());
    assert_eq!(s["needs_people"], "needs people: 1 failed", "{s:#}");
    assert_eq!(by("broken")["waiting_on"], "group:default/insights");
    assert_eq!(by("broken")["next"], "tern retry m broken");
    assert!(by("broken")["waiting"]
        .as_str()
        .unwrap()
        .contains("verification failed"));
    // The canary failed: the next wave waits on whoever can fix it, not on tern.
    for id in ["built", "good"] {
        let c = by(id);
        assert_eq!(c["state"], "planned", "{s:#}");
        assert_eq!(c["waiting_on"], "group:default/insights", "{c:#}");
        assert_eq!(c["next"], "tern retry m broken");
        assert!(
            c["waiting"]
                .as_str()
                .unwrap()
                .starts_with("wave 2 opens once broken (failed) is settled"),
            "{c:#}"
        );
    }

    // The text says the same, and prints the commands to run as printed.
    let o = tern(root, &["--catalog", "other.db", "status", "m"]);
    assert_eq!(code(&o), 2, "other.db holds no migration m");
    let o = tern(root, &["status", "m"]);
    let text = stdout(&o);
    assert!(
        text.contains("[running]") && text.contains("needs people: 1 failed"),
        "{text}"
    );
    assert!(
        text.contains("WAITING ON") && text.contains("next steps:"),
        "{text}"
    );
    let retry = text
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("retry m broken"))
        .unwrap_or_else(|| panic!("no retry command in:\n{text}"));
    assert!(retry.starts_with('/'), "the binary by its path: {retry}");
    // The owner fixes the build, then runs the printed command.
    fs::write(root.join("repos/broken/.tern.yaml"), "verify: 'true'\n").unwrap();
    common::sh(
        &root.join("repos/broken"),
        "git commit -qam 'fix the build'",
    );
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(retry)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let s = json(&tern(root, &["status", "m", "--json"]));
    let state = |id: &str| {
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(state("broken")["state"], "merged", "{s:#}");
    assert_eq!(
        state("good")["state"],
        "merged",
        "the retry ran the campaign on: {s:#}"
    );
    assert!(state("good")["waiting_on"].is_null() && state("good")["next"].is_null());
    let built = state("built");
    assert_eq!(built["state"], "needs_attention", "{s:#}");
    assert_eq!(built["waiting_on"], "group:default/insights");
    assert_eq!(built["next"], "tern approve m built");
    assert_eq!(s["state"], "running");
    assert_eq!(s["needs_people"], "needs people: 1 needs attention");
    // Approved by its owner once finished by hand: done.
    let o = tern(root, &["approve", "m", "built", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["state"], "done", "{s:#}");
    assert!(s["needs_people"].is_null());
    assert!(s["time_to_completion_s"].is_number());
}

/// `approve --all-green` approves what the person may, and leaves another
/// team's green changes, saying whose they are.
#[test]
fn bulk_approval_approves_only_what_the_person_may() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let path = "path: hdfs://prod-nn:8020/warehouse/plays\n";
    let file = fleet(
        root,
        &[
            repo("a", "insights", &[("job.yaml", path)], "true"),
            repo("b", "insights", &[("job.yaml", path)], "true"),
            repo("c", "bi", &[("job.yaml", path)], "true"),
            repo("d", "insights", &[("job.yaml", path)], "exit 1"),
        ],
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: bi}\nspec: {type: team, children: [], members: [bob]}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: alice}\nspec: {memberOf: [insights]}\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {memberOf: [bi]}\n",
    );
    import(root, &file);
    fs::write(root.join("s.yaml"), spec("m", "owners")).unwrap();
    let o = tern(root, &["run", "s.yaml"]);
    assert_eq!(code(&o), 1, "d failed: {}", stderr(&o));
    let o = tern(root, &["approve", "m"]);
    assert_eq!(code(&o), 2, "a consumer or --all-green: {}", stderr(&o));
    let o = tern(
        root,
        &["approve", "m", "--all-green", "--as", "alice", "--json"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bulk = json(&o);
    assert_eq!(bulk["approved"], serde_json::json!(["a", "b"]), "{bulk:#}");
    assert_eq!(bulk["not_theirs"][0]["consumer"], "c", "{bulk:#}");
    assert!(bulk["not_theirs"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("group:default/bi"));
    assert_eq!(
        bulk["not_theirs"].as_array().unwrap().len(),
        1,
        "d failed: not green"
    );
    assert_eq!(bulk["status"]["counts"]["merged"], 2);
    let o = tern(root, &["approve", "m", "--all-green", "--as", "bob"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("approved 1 green change: c"),
        "{}",
        stdout(&o)
    );
    let s = json(&tern(root, &["status", "m", "--json"]));
    assert_eq!(s["counts"]["merged"], 3);
    assert_eq!(s["needs_people"], "needs people: 1 failed");
}
