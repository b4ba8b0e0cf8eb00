//! A campaign reads consumers from their commits' blobs, picking files by
//! their bytes, never from a checkout; a tree walk reads every file. Both
//! must see the same thing: over every fixture of the rewrite engine, the
//! plan of a consumer holding the fixture's `before/` tree lists exactly the
//! files, edits and findings that `tern_scan::scan_tree` finds in that tree.

mod common;

use std::path::Path;

use tern_fleet::Fleet;
use tern_local_forge::LocalForge;

use common::git;

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy(&src, &dst);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn a_plan_from_blobs_sees_what_a_tree_walk_sees() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rewrite/tests/fixtures");
    let mut cases: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("before").is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() > 100, "the fixtures are where they were");
    let tmp = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut differ = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(case.join("spec.yaml")).unwrap();
        let spec = tern_spec::Spec::parse(&text, "spec.yaml").unwrap();
        let repo = tmp.path().join(&name);
        copy(&case.join("before"), &repo);
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A", "-f"]);
        git(&repo, &["commit", "-q", "--allow-empty", "-m", "before"]);

        let store = tern_catalog::open("sqlite::memory:").unwrap();
        let catalog = format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: c, annotations: {{backstage.io/source-location: 'dir:{}'}}}}\nspec: {{type: service, owner: insights}}\n",
            repo.display()
        );
        // The datasets the spec names are in the catalog, as `plan` requires.
        let named = [&spec.dataset.from, &spec.dataset.to];
        let catalog = named.into_iter().flatten().fold(catalog, |text, id| {
            format!("{text}---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {{name: {id}}}\nspec: {{type: dataset}}\n")
        });
        store
            .import(&tern_catalog::backstage::parse(&catalog, &tmp.path().join("c.yaml")).unwrap())
            .unwrap();
        let fleet = Fleet {
            store: store.as_ref(),
            forge: &LocalForge::default(),
        };
        let plan = fleet.plan(&spec, "spec.yaml", &|_| {}).unwrap();
        let engine = tern_rewrite::Engine::new(
            tern_fleet::resolve(&spec, store.as_ref(), "spec.yaml")
                .unwrap()
                .rules,
        );
        let walk = tern_scan::scan_tree(&engine, &repo, &|_| {}).unwrap();

        let mut walked_files: Vec<String> = walk.files.iter().map(|f| f.path.clone()).collect();
        walked_files.sort();
        let walked_edits: usize = walk.files.iter().map(|f| f.edits).sum();
        let mut walked_findings: Vec<(String, usize, String)> = walk
            .findings
            .iter()
            .map(|f| (f.path.clone(), f.line, f.reason.clone()))
            .collect();
        walked_findings.sort();
        let (files, edits, findings) = match plan.consumers.first() {
            Some(c) => {
                let mut files = c.files.clone();
                files.sort();
                let mut findings: Vec<(String, usize, String)> = c
                    .unresolved
                    .iter()
                    .map(|u| (u.path.clone(), u.line, u.reason.clone()))
                    .collect();
                findings.sort();
                (files, c.edits, findings)
            }
            None => (vec![], 0, vec![]),
        };
        compared += 1;
        if (&files, edits, &findings) != (&walked_files, walked_edits, &walked_findings) {
            differ.push(format!(
                "{name}:\n  plan {files:?} {edits} edits {findings:?}\n  walk {walked_files:?} {walked_edits} edits {walked_findings:?}"
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {compared} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}
