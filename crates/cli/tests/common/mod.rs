//! Helpers shared by the end-to-end tests: a generated fleet of real git repos.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn tern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .current_dir(dir)
        .env_remove("TERN_CATALOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("tern runs")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

pub fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A consumer repository to generate: files and a verify command.
pub struct Repo {
    pub id: &'static str,
    pub owner: &'static str,
    pub files: Vec<(&'static str, String)>,
    pub verify: &'static str,
}

pub fn repo(
    id: &'static str,
    owner: &'static str,
    files: &[(&'static str, &str)],
    verify: &'static str,
) -> Repo {
    Repo {
        id,
        owner,
        files: files.iter().map(|(p, c)| (*p, c.to_string())).collect(),
        verify,
    }
}

/// Writes repos under `root/repos/`, a catalog-info.yaml naming them (plus
/// `extra` raw components), and returns the catalog file's path.
pub fn fleet(root: &Path, repos: &[Repo], extra: &str) -> PathBuf {
    let mut catalog = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: hdfs-plays\n  annotations:\n    tern.dev/paths: hdfs://prod-nn:8020/warehouse/plays\n    tern.dev/tables: legacy.plays\n    tern.dev/format: avro\nspec: {type: dataset, owner: group:default/data-platform}\n---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: lake-plays\n  annotations:\n    tern.dev/paths: gs://lake/plays\n    tern.dev/tables: lake.plays\n    tern.dev/format: parquet\nspec: {type: dataset, owner: group:default/data-platform}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: insights}\nspec: {type: team, children: [], members: [alice]}\n",
    );
    for r in repos {
        let dir = root.join("repos").join(r.id);
        fs::create_dir_all(&dir).unwrap();
        for (path, content) in &r.files {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        if !r.verify.is_empty() {
            fs::write(
                dir.join(".tern.yaml"),
                format!("verify: '{}'\n", r.verify.replace('\'', "''")),
            )
            .unwrap();
        }
        sh(
            &dir,
            "git init -q -b main && git add -A && git commit -qm init",
        );
        catalog.push_str(&component(r.id, r.owner));
    }
    catalog.push_str(extra);
    let file = root.join("catalog-info.yaml");
    fs::write(&file, catalog).unwrap();
    file
}

/// Imports a catalog file into `dir`'s default catalog; the import must succeed.
pub fn import(dir: &Path, file: &Path) {
    let o = tern(dir, &["catalog", "import", file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "import: {}", stderr(&o));
}

pub fn component(id: &str, owner: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {id}\n  annotations:\n    backstage.io/source-location: dir:./repos/{id}\nspec: {{type: service, owner: {owner}, dependsOn: [resource:default/hdfs-plays]}}\n"
    )
}

pub fn spec(id: &str, approval: &str) -> String {
    spec_with(id, approval, "")
}

/// A spec with extra top-level YAML (a `rollout:` block, say).
pub fn spec_with(id: &str, approval: &str, extra: &str) -> String {
    format!(
        "version: 1\nid: {id}\ntitle: Move plays to the lake\ndescription: |\n  The HDFS copy goes away.\ndataset: {{from: hdfs-plays, to: lake-plays}}\nverify: {{timeout: 30s}}\napproval: {approval}\n{extra}"
    )
}

/// Every ref of a repository with its target, to compare before and after.
pub fn refs(dir: &Path) -> String {
    sh(dir, "git for-each-ref --format='%(refname) %(objectname)'")
}

/// A fresh PostgreSQL database for one test, or `None` (with a note) when
/// `TERN_TEST_POSTGRES` is not set; under CI a missing server fails.
pub fn postgres_db() -> Option<String> {
    let Ok(admin) = std::env::var("TERN_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests: set TERN_TEST_POSTGRES"
        );
        eprintln!("skipped: set TERN_TEST_POSTGRES=postgres://... to run the PostgreSQL tests");
        return None;
    };
    let name = format!(
        "tern_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let out = Command::new("psql")
        .args([
            admin.as_str(),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base, _) = admin.rsplit_once('/').expect("URL names a database");
    Some(format!("{base}/{name}"))
}
