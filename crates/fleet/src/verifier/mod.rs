//! Which command verifies a consumer: the repo's own word (`.tern.yaml`), the
//! spec's default, or else what the repository's build files imply; and
//! running it in the change's checkout under a timeout ([`run_verify`]).

use std::path::Path;

mod run;

pub use run::{
    end_orphans, end_running, run_verify, run_verify_in, tail, Jail, VerifyOutcome, TAG,
};

/// The verification command a repository names in `.tern.yaml` (`verify:`).
pub fn from_repo(root: &Path) -> Result<Option<String>, String> {
    let path = root.join(".tern.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let doc = tern_yaml::load_one(&text)
        .map_err(|e| format!(".tern.yaml:{}: not valid YAML: {}", e.line, e.message))?;
    match doc.get("verify") {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| format!(".tern.yaml:{}: `verify` must be a shell command", v.line)),
    }
}

/// The command a repository's build files imply, when nobody named one: a
/// Makefile's `test` target first (the team's own entry point), then the
/// build tool of the ecosystem.
pub fn detect(root: &Path) -> Option<String> {
    let has = |f: &str| root.join(f).is_file();
    if let Ok(makefile) = std::fs::read_to_string(root.join("Makefile")) {
        if makefile
            .lines()
            .any(|l| l.starts_with("test:") || l.starts_with("test :"))
        {
            return Some("make test".into());
        }
    }
    if has("build.sbt") {
        return Some("sbt test".into());
    }
    if has("pom.xml") {
        return Some("mvn -q test".into());
    }
    if has("build.gradle") || has("build.gradle.kts") {
        return Some(
            if has("gradlew") {
                "./gradlew test"
            } else {
                "gradle test"
            }
            .into(),
        );
    }
    if has("dbt_project.yml") {
        return Some("dbt parse".into());
    }
    if has("pyproject.toml") || has("setup.cfg") || has("setup.py") {
        return Some("python3 -m pytest -q".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_files_imply_a_command() {
        type Files = &'static [(&'static str, &'static str)];
        let cases: &[(Files, Option<&str>)] = &[
            (&[("build.sbt", "")], Some("sbt test")),
            (&[("pom.xml", "")], Some("mvn -q test")),
            (&[("build.gradle.kts", "")], Some("gradle test")),
            (
                &[("build.gradle", ""), ("gradlew", "")],
                Some("./gradlew test"),
            ),
            (&[("pyproject.toml", "")], Some("python3 -m pytest -q")),
            (&[("dbt_project.yml", "")], Some("dbt parse")),
            (
                &[
                    ("Makefile", "build:\n\tcc x.c\ntest: build\n\t./t\n"),
                    ("pom.xml", ""),
                ],
                Some("make test"),
            ),
            (&[("Makefile", "build:\n\tcc x.c\n")], None),
            (&[("README.md", "")], None),
        ];
        for (files, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            for (f, content) in *files {
                std::fs::write(dir.path().join(f), content).unwrap();
            }
            assert_eq!(detect(dir.path()).as_deref(), *want, "{files:?}");
        }
    }

    #[test]
    fn tern_yaml_names_the_command() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(from_repo(dir.path()), Ok(None));
        std::fs::write(dir.path().join(".tern.yaml"), "verify: make check\n").unwrap();
        assert_eq!(from_repo(dir.path()), Ok(Some("make check".into())));
        std::fs::write(dir.path().join(".tern.yaml"), "verify: [a, b]\n").unwrap();
        assert_eq!(
            from_repo(dir.path()),
            Err(".tern.yaml:1: `verify` must be a shell command".into())
        );
    }
}
