//! The rollout through the library's API, on the local forge over temporary
//! git repositories: waves that settle, the error budget that stops the
//! fleet, and workers sharing a campaign through the store's leases.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tern_catalog::{ChangeState, MigrationState, Store};
use tern_fleet::Fleet;
use tern_local_forge::LocalForge;

use common::git;

/// `n` consumers; `broken` ones fail verification, `odd` ones build their
/// path at run time (a person must look).
fn world(root: &Path, n: usize, broken: &[usize], odd: &[usize], store: &dyn Store) {
    let mut catalog = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: plays, annotations: {tern.dev/paths: /warehouse/plays}}\nspec: {type: dataset, owner: data}\n",
    );
    for i in 1..=n {
        let id = format!("c{i:02}");
        let repo = root.join(&id);
        std::fs::create_dir_all(&repo).unwrap();
        let job = if odd.contains(&i) {
            "import os\np = os.environ['ROOT'] + '/warehouse/plays'\n"
        } else {
            "p = '/warehouse/plays'\n"
        };
        std::fs::write(repo.join("job.py"), job).unwrap();
        let verify = if broken.contains(&i) {
            "exit 1"
        } else {
            "true"
        };
        std::fs::write(repo.join(".tern.yaml"), format!("verify: '{verify}'\n")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "init"]);
        catalog.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {id}, annotations: {{backstage.io/source-location: 'dir:{}'}}}}\nspec: {{type: service, owner: insights, dependsOn: [resource:default/plays]}}\n",
            repo.display()
        ));
    }
    store
        .import(&tern_catalog::backstage::parse(&catalog, &root.join("c.yaml")).unwrap())
        .unwrap();
}

fn spec(rollout: &str) -> (tern_spec::Spec, String) {
    let text = format!(
        "version: 1\nid: m\ntitle: Move plays\ndataset: {{from: plays}}\nreplace:\n  - {{kind: path, old: /warehouse/plays, new: gs://lake/plays}}\napproval: auto\nrollout: {rollout}\n"
    );
    (tern_spec::Spec::parse(&text, "s.yaml").unwrap(), text)
}

#[test]
fn later_waves_open_when_the_earlier_have_settled() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tern_catalog::open("sqlite::memory:").unwrap();
    world(tmp.path(), 12, &[], &[3], store.as_ref());
    let forge = LocalForge::default();
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let (spec, text) = spec("{waves: [1, 4, '100%']}");
    let s = fleet.run(&spec, &text, "s.yaml", &|_| {}).unwrap();
    assert_eq!(s.counts["merged"], 11, "{:?}", s.counts);
    assert_eq!(s.counts["needs_attention"], 1);
    assert_eq!(s.state, MigrationState::Running, "not done while one waits");
    assert_eq!(
        s.waiting.as_deref(),
        Some("needs people: 1 needs attention")
    );
}

#[test]
fn the_error_budget_pauses_and_resume_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tern_catalog::open("sqlite::memory:").unwrap();
    world(tmp.path(), 10, &[2, 3, 4, 8], &[], store.as_ref());
    let forge = LocalForge::default();
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    let (spec, text) = spec(
        "{waves: [1, '100%'], max_in_flight: 1, pause_when: {failed_ratio: 0.1, min_failed: 3}}",
    );
    let s = fleet.run(&spec, &text, "s.yaml", &|_| {}).unwrap();
    assert_eq!(s.state, MigrationState::Paused);
    assert_eq!(s.counts["failed"], 3);
    assert!(s.paused_reason.unwrap().starts_with("error budget: 3 of 4"));
    fleet.resume("m").unwrap();
    let s = fleet.run(&spec, &text, "s.yaml", &|_| {}).unwrap();
    assert_eq!(
        s.state,
        MigrationState::Paused,
        "the fourth failure speaks again"
    );
    fleet.resume("m").unwrap();
    let s = fleet.run(&spec, &text, "s.yaml", &|_| {}).unwrap();
    assert_eq!(
        s.state,
        MigrationState::Running,
        "four failed wait on people"
    );
    assert_eq!(s.waiting.as_deref(), Some("needs people: 4 failed"));
    assert_eq!(s.counts["merged"], 6);
    assert_eq!(s.manual_interventions, 2);
}

#[test]
fn a_worker_and_a_run_share_a_campaign_through_leases() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tern.db");
    let url = format!("sqlite:{}", file.display());
    let store = tern_catalog::open(&url).unwrap();
    world(tmp.path(), 16, &[], &[], store.as_ref());
    let (spec, text) = spec("{waves: ['100%']}");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let store = tern_catalog::open(&url).unwrap();
            let forge = LocalForge::default();
            let fleet = Fleet {
                store: store.as_ref(),
                forge: &forge,
            };
            fleet
                .work_everything(false, Duration::from_millis(20), &stop, &|_| {})
                .unwrap()
        });
        let forge = LocalForge::default();
        let fleet = Fleet {
            store: store.as_ref(),
            forge: &forge,
        };
        let status = fleet.run(&spec, &text, "s.yaml", &|_| {}).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _by_worker = worker.join().unwrap();
        assert_eq!(status.counts["merged"], 16, "{:?}", status.counts);
    });
    // Every change went through its states once, whoever worked it.
    for c in store.changes("m").unwrap() {
        assert_eq!(c.state, ChangeState::Merged);
        let events = store.events("m", Some(&c.consumer)).unwrap();
        let merged = events.iter().filter(|e| e.to.as_str() == "merged").count();
        assert_eq!(merged, 1, "{}: merged once", c.consumer);
    }
}
