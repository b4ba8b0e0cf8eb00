//! `tern demo`: a sample catalog and fleet, migrated end to end.

mod fleet;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use tern_catalog::backstage;
use tern_fleet::Fleet;
use tern_local_forge::LocalForge;
use tern_spec::Spec;

use crate::commands::{Bar, DemoArgs};
use crate::{render, BadInput};

use fleet::{REPOS, SPEC, STORAGE, TEAMS};

/// Marks a folder as built by `tern demo`, so a rebuild may delete it.
const MARKER: &str = ".tern-demo";

pub fn run(a: &DemoArgs) -> Result<()> {
    let dir = &a.dir;
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            return Err(BadInput(format!(
                "{} exists and was not made by `tern demo`; remove it or pass --dir",
                dir.display()
            ))
            .into());
        }
        say(
            a,
            &format!("Rebuilding {} (left by an earlier demo)", dir.display()),
        );
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    } else {
        say(a, &format!("Building {}", dir.display()));
    }
    build(dir)?;
    let dir = dir.canonicalize()?;
    let store = tern_catalog::open(&format!("sqlite:{}", dir.join("tern.db").display()))?;
    let catalog_file = dir.join("catalog-info.yaml");
    let batch = backstage::parse(&fs::read_to_string(&catalog_file)?, &catalog_file)?;
    let summary = store.import(&batch)?;
    say(
        a,
        &format!(
            "Imported the catalog: {} datasets, {} consumers in {} repos, {} teams",
            summary.datasets,
            summary.consumers,
            REPOS.len(),
            summary.teams
        ),
    );
    let spec_file = dir.join("plays-to-lakehouse.yaml");
    let spec = Spec::parse(SPEC, &spec_file.display().to_string())?;
    say(
        a,
        "Migrating every consumer of hdfs-plays (approval: auto)...\n",
    );
    let forge = LocalForge::default();
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let bar = Bar::new(a.json);
    let status = fleet.run(&spec, SPEC, &spec_file.display().to_string(), &|p| {
        bar.update(&p)
    });
    bar.finish();
    let status = status?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        let d = dir.display();
        let tern = crate::commands::invocation();
        render::status(&status, &format!("{tern} --catalog {d}/tern.db"));
        outln!(
            "\nLook closer:\n  {tern} --catalog {d}/tern.db status {id}\n  git -C {d}/repos/plays-daily show main\n  {tern} --catalog {d}/tern.db rollback {id}",
            id = spec.id
        );
    }
    if a.no_serve {
        return Ok(());
    }
    // Tokens for two demo people, so the visitor can act in the portal: an
    // owner of the consumer that needs attention, and the migration's owner.
    let ttl = Some(tern_portal::DEFAULT_TTL_SECS);
    let (alice, _) =
        tern_portal::create_token(store.as_ref(), "alice", tern_catalog::Role::User, ttl)?;
    let (dana, _) =
        tern_portal::create_token(store.as_ref(), "dana", tern_catalog::Role::User, ttl)?;
    let json = a.json;
    crate::commands::serve_catalog(store, &a.addr, |url| {
        // Under --json, stdout holds the report alone.
        let lines = format!(
            "\nThe portal is on {url}  (Ctrl-C to stop)\n  sign in at {url}login as\n    alice (insights, may approve plays-backfill): {alice}\n    dana (data-platform, may pause and roll back): {dana}"
        );
        use std::io::Write as _;
        // A closed stdout must not take the server down with it.
        let _ = if json {
            writeln!(std::io::stderr(), "{lines}")
        } else {
            writeln!(std::io::stdout(), "{lines}").and_then(|_| std::io::stdout().flush())
        };
    })
}

fn say(a: &DemoArgs, line: &str) {
    if !a.json {
        outln!("{line}");
    }
}

fn build(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(MARKER), "made by `tern demo`; safe to delete\n")?;
    let storage = dir.join("storage");
    for (path, content) in STORAGE {
        let p = storage.join(path);
        fs::create_dir_all(p.parent().unwrap_or(&storage))?;
        fs::write(&p, content)?;
    }
    let storage = storage.canonicalize()?;
    fs::write(dir.join("plays-to-lakehouse.yaml"), SPEC)?;
    fs::write(dir.join("catalog-info.yaml"), catalog_yaml())?;
    for repo in REPOS {
        let root = dir.join("repos").join(repo.id);
        fs::create_dir_all(root.join("ci"))?;
        fs::write(root.join("ci/check.sh"), include_str!("check.sh"))?;
        fs::write(
            root.join(".tern.yaml"),
            format!(
                "# How tern verifies changes to this repo\nverify: sh ci/check.sh '{}'{}{}\n",
                storage.display(),
                repo.covered,
                repo.verify_extra
            ),
        )?;
        for (path, content) in repo.files {
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap_or(&root))?;
            fs::write(&p, content)?;
        }
        if repo.id == "plays-snapshot" {
            // Pin the config as it is now, as the finance team did.
            let sum = Command::new("sh")
                .arg("-c")
                .arg("cksum < config/export.yaml")
                .current_dir(&root)
                .output()?;
            fs::write(
                root.join("test/golden.sum"),
                String::from_utf8_lossy(&sum.stdout).trim(),
            )?;
        }
        git(&root, &["init", "-q", "-b", "main"])?;
        git(&root, &["add", "-A"])?;
        git(
            &root,
            &[
                "commit",
                "-q",
                "-m",
                &format!("{}: initial import", repo.id),
            ],
        )?;
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Demo Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Demo Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap_or(dir))
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The demo's Backstage catalog: two datasets, the teams, and one component per repo.
fn catalog_yaml() -> String {
    let mut y = String::from(
        "# The demo catalog: the old and new plays datasets, the teams, and their consumers.\n\
apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: hdfs-plays\n  description: Every play, as Avro on HDFS (retiring)\n  annotations:\n    tern.dev/paths: hdfs://prod-nn:8020/warehouse/plays, /warehouse/plays\n    tern.dev/tables: legacy.plays\n    tern.dev/format: avro\n    tern.dev/schema: \"user_id:string, track_id:string, ts:timestamp, date:date\"\nspec: {type: dataset, owner: group:default/data-platform, lifecycle: deprecated}\n---\n\
apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: lake-plays\n  description: Every play, as Parquet in the lakehouse\n  annotations:\n    tern.dev/paths: gs://lakehouse-prod/plays\n    tern.dev/tables: lake.plays\n    tern.dev/format: parquet\n    tern.dev/schema: \"user_id:string, track_id:string, ts:timestamp, date:date\"\nspec: {type: dataset, owner: group:default/data-platform, lifecycle: production}\n",
    );
    for (team, members) in TEAMS {
        let _ = write!(
            y,
            "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {{name: {team}}}\nspec: {{type: team, children: [], members: [{}]}}\n",
            members.join(", ")
        );
    }
    for r in REPOS {
        let _ = write!(
            y,
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {id}\n  description: {kind}\n  annotations:\n    backstage.io/source-location: dir:./repos/{id}\nspec:\n  type: service\n  owner: group:default/{owner}\n  lifecycle: production\n  dependsOn: [resource:default/hdfs-plays]\n",
            id = r.id,
            kind = r.kind,
            owner = r.owner
        );
    }
    y
}
