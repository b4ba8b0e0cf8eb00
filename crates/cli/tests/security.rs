//! The binary against hostile input (issue #15): alias bombs in every YAML
//! tern reads, names that break routes or terminals, files that are not
//! what they claim, tokens that must stop working, and verifications that
//! must not reach past their worktree.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Nine levels of nine aliases: 387 million nodes if expanded.
fn bomb() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_a_finding_for_its_file_and_an_error_for_a_spec_or_catalog() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let bombed = format!(
        "input:\n  path: hdfs://prod-nn:8020/warehouse/plays\n{}",
        bomb()
    );
    let file = fleet(
        root,
        &[
            repo("bombed", "insights", &[("conf/job.yaml", &bombed)], "true"),
            repo(
                "fine",
                "insights",
                &[(
                    "conf/job.yaml",
                    "input:\n  path: hdfs://prod-nn:8020/warehouse/plays\n",
                )],
                "true",
            ),
            repo(
                "own-bomb",
                "insights",
                &[(
                    "conf/job.yaml",
                    "input:\n  path: hdfs://prod-nn:8020/warehouse/plays\n",
                )],
                "",
            ),
        ],
        "",
    );
    // A `.tern.yaml` that is a bomb fails its own consumer, no other.
    let own = root.join("repos/own-bomb");
    fs::write(
        own.join(".tern.yaml"),
        format!("verify: 'true'\n{}", bomb()),
    )
    .unwrap();
    sh(&own, "git add -A && git commit -qm bomb");
    import(root, &file);
    fs::write(
        root.join("s.yaml"),
        spec_with("m", "auto", "rollout: {waves: ['100%']}\n"),
    )
    .unwrap();
    // The rest of the fleet goes on; the bombed file is left whole and said.
    let o = tern(root, &["plan", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let plan = json(&o);
    let by = |id: &str| {
        plan["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by("fine")["files"][0], "conf/job.yaml");
    assert!(by("bombed")["files"].as_array().unwrap().is_empty());
    assert!(
        by("bombed")["unresolved"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{plan:#}"
    );
    let o = tern(root, &["run", "s.yaml", "--json"]);
    let s = json(&o);
    assert_eq!(s["counts"]["merged"], 1, "{s:#}");
    assert_eq!(s["counts"]["needs_attention"], 1, "{s:#}");
    assert_eq!(s["counts"]["failed"], 1, "{s:#}");
    assert!(s.to_string().contains("aliases"), "{s:#}");

    // A spec or a catalog file that is a bomb is bad input, named.
    fs::write(
        root.join("bomb.yaml"),
        format!("version: 1\nid: b\n{}", bomb()),
    )
    .unwrap();
    let o = tern(root, &["plan", "bomb.yaml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("aliases"), "{}", stderr(&o));
    fs::write(root.join("bomb-catalog.yaml"), bomb()).unwrap();
    let o = tern(root, &["catalog", "import", "bomb-catalog.yaml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("bomb-catalog.yaml"), "{}", stderr(&o));
}

#[test]
fn names_that_break_routes_or_terminals_are_refused_and_output_is_escaped() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let entity = |name: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: \"{name}\"\n  annotations: {{backstage.io/source-location: 'dir:./x'}}\nspec: {{owner: insights}}\n"
        )
    };
    for name in ["a/b", "has space", "evil\\e[2Jname", "-dash", "a..b", ""] {
        fs::write(root.join("c.yaml"), entity(name)).unwrap();
        let o = tern(root, &["catalog", "import", "c.yaml"]);
        assert_eq!(code(&o), 2, "{name:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("c.yaml:4"), "{name:?}: {err}");
        assert!(
            !err.contains('\u{1b}'),
            "an escape reached the terminal: {err:?}"
        );
    }
    // Annotations and spec of the wrong shape are refused with line and key,
    // never dropped.
    fs::write(
        root.join("c.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: ds\n  annotations:\n    tern.dev/paths: [1, 2]\nspec: {type: dataset}\n",
    )
    .unwrap();
    let o = tern(root, &["catalog", "import", "c.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("c.yaml:6") && stderr(&o).contains("tern.dev/paths"));
    fs::write(
        root.join("c.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: ds}\nspec: 42\n",
    )
    .unwrap();
    let o = tern(root, &["catalog", "import", "c.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("c.yaml:4") && stderr(&o).contains("`spec`"));

    // Text from a repository reaches the terminal escaped: a file whose name
    // clears the screen is shown, not obeyed.
    let file = fleet(
        root,
        &[repo(
            "esc",
            "insights",
            &[(
                "conf/\u{1b}[2Jjob.yaml",
                "path: hdfs://prod-nn:8020/warehouse/plays\n",
            )],
            "true",
        )],
        "",
    );
    import(root, &file);
    fs::write(root.join("s.yaml"), spec("m", "auto")).unwrap();
    let o = tern(root, &["plan", "s.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!o.stdout.contains(&0x1b), "{:?}", stdout(&o));
    assert!(stdout(&o).contains("\\x1b[2Jjob.yaml"), "{}", stdout(&o));
}

#[test]
fn a_spec_with_a_byte_order_mark_is_read() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let file = fleet(
        root,
        &[repo(
            "a",
            "insights",
            &[("job.yaml", "path: hdfs://prod-nn:8020/warehouse/plays\n")],
            "true",
        )],
        "",
    );
    import(root, &file);
    fs::write(
        root.join("s.yaml"),
        format!("\u{feff}{}", spec("m", "auto")),
    )
    .unwrap();
    let o = tern(root, &["plan", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["consumers"][0]["files"][0], "job.yaml");
}

#[test]
fn someone_elses_sqlite_file_is_refused_untouched() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let other = root.join("app.db");
    foreign_db(&other);
    let before = fs::read(&other).unwrap();
    let url = format!("sqlite:{}", other.display());
    let o = tern(root, &["--catalog", &url, "status", "x"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a tern catalog"), "{}", stderr(&o));
    assert_eq!(fs::read(&other).unwrap(), before, "the file was changed");
    // A file that is not SQLite at all, likewise.
    fs::write(root.join("notes.db"), "just some notes\n").unwrap();
    let url = format!("sqlite:{}", root.join("notes.db").display());
    let o = tern(root, &["--catalog", &url, "status", "x"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(root.join("notes.db")).unwrap(),
        "just some notes\n"
    );
    // A catalog tern made is tern's, the first time and every time after.
    let file = fleet(root, &[], "");
    import(root, &file);
    import(root, &file);
}

/// An SQLite database of another program, made through Python's sqlite3.
fn foreign_db(path: &Path) {
    sh(
        path.parent().unwrap(),
        &format!(
            "python3 -c \"import sqlite3; c = sqlite3.connect('{}'); c.execute('create table invoices (id int)'); c.commit()\"",
            path.display()
        ),
    );
}

#[test]
fn tokens_are_listed_revoked_and_refused_once_revoked() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let file = fleet(root, &[], "");
    import(root, &file);
    let o = tern(root, &["token", "create", "alice", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let made = json(&o);
    assert_eq!(made["role"], "user");
    let expires = made["expires_at"].as_i64().unwrap() - made["created_at"].as_i64().unwrap();
    assert_eq!(expires, 90 * 86_400, "90 days by default");
    let o = tern(
        root,
        &[
            "token",
            "create",
            "airflow",
            "--role",
            "lineage",
            "--expires",
            "never",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["expires_at"].is_null());
    for bad in [
        &["token", "create", "x", "--role", "root"][..],
        &["token", "create", "alice", "--expires", "soon"][..],
        &["token", "create", "mallory"][..],
        &["token", "revoke", "nope"][..],
    ] {
        let o = tern(root, bad);
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
    }
    let list = json(&tern(root, &["token", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(made["token"].as_str().unwrap()));
    let id = made["id"].as_str().unwrap();
    let o = tern(root, &["token", "revoke", id, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["state"], "revoked");
    let list = json(&tern(root, &["token", "list", "--json"]));
    let mut states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(states, ["revoked", "valid"]);
    let text = stdout(&tern(root, &["token", "list"]));
    assert!(
        text.contains("revoked") && text.contains("lineage"),
        "{text}"
    );
}

/// bubblewrap, or `None` with a note (a failure under CI, which installs it).
fn bwrap() -> bool {
    let found = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "bubblewrap is not installed; .ci/run installs it"
        );
        eprintln!("bubblewrap (bwrap) is not installed: the sandbox test is skipped");
    }
    found
}

#[test]
fn a_sandboxed_verification_cannot_write_outside_its_worktree_or_reach_the_network() {
    if !bwrap() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let outside = root.join("outside.txt");
    let writes: &'static str = Box::leak(
        format!(
            "echo pwned > {} && echo mine > inside.txt",
            outside.display()
        )
        .into_boxed_str(),
    );
    let calls: &'static str = Box::leak(
        format!("python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)\"")
            .into_boxed_str(),
    );
    let job = "path: hdfs://prod-nn:8020/warehouse/plays\n";
    let file = fleet(
        &root,
        &[
            repo("writer", "insights", &[("job.yaml", job)], writes),
            repo("caller", "insights", &[("job.yaml", job)], calls),
            repo(
                "honest",
                "insights",
                &[("job.yaml", job)],
                "echo ok > inside.txt && test -f job.yaml",
            ),
        ],
        "",
    );
    import(&root, &file);
    let sandboxed = |sandbox: &str| {
        format!(
            "version: 1\nid: m-{sandbox}\ntitle: Move plays\ndataset: {{from: hdfs-plays, to: lake-plays}}\nverify: {{timeout: 30s, sandbox: {sandbox}}}\napproval: owners\nrollout: {{waves: ['100%']}}\n"
        )
    };
    fs::write(root.join("s.yaml"), sandboxed("bwrap")).unwrap();
    let o = tern(&root, &["run", "s.yaml", "--json"]);
    let s = json(&o);
    let state = |id: &str| {
        s["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(state("writer"), "failed", "{s:#}");
    assert!(
        !outside.exists(),
        "the sandboxed verification wrote outside its worktree"
    );
    assert_eq!(state("caller"), "failed", "{s:#}");
    assert_eq!(state("honest"), "open", "{s:#}");

    // The same commands without the sandbox do reach out: the test proves
    // the sandbox, not a broken command.
    fs::write(root.join("n.yaml"), sandboxed("none")).unwrap();
    let _ = tern(&root, &["rollback", "m-bwrap"]);
    let o = tern(&root, &["run", "n.yaml", "--json"]);
    assert!(outside.exists(), "{}", stdout(&o));
    drop(listener);
}
