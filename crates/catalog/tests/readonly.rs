//! A catalog this process may not write (another user's file, a read-only
//! folder) still answers every read; a write is an error naming the file.
//!
//! As root, permissions bind nobody, so the test runs itself again as the
//! user `nobody` (a copy of this test binary in a folder that user can read).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use tern_catalog::{backstage, open};

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: plays, annotations: {tern.dev/paths: /w/plays}}
spec: {type: dataset, owner: group:default/data-platform}
";

fn reads_and_refuses(file: &Path) {
    let url = format!("sqlite:{}", file.display());
    let store = open(&url).expect("a read-only catalog opens");
    assert_eq!(store.dataset("plays").unwrap().unwrap().paths, ["/w/plays"]);
    assert_eq!(store.migrations().unwrap().len(), 0);
    let batch = backstage::parse(CATALOG, Path::new("/c/catalog-info.yaml")).unwrap();
    let err = store.import(&batch).unwrap_err().to_string();
    assert!(err.contains(&file.display().to_string()), "{err}");
}

#[test]
fn a_catalog_it_may_not_write_still_answers_reads() {
    if let Ok(file) = std::env::var("TERN_READONLY_CHILD") {
        reads_and_refuses(Path::new(&file));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tern.db");
    {
        let store = open(&format!("sqlite:{}", file.display())).unwrap();
        let batch = backstage::parse(CATALOG, Path::new("/c/catalog-info.yaml")).unwrap();
        store.import(&batch).unwrap();
    }
    let _ = std::fs::remove_file(dir.path().join("tern.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("tern.db-shm"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // SAFETY: getuid(2) cannot fail.
    if unsafe { libc::getuid() } != 0 {
        reads_and_refuses(&file);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = bin.path().join("readonly-test");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = 65534;
    let mut child = std::process::Command::new(&copy);
    child
        .args([
            "--exact",
            "a_catalog_it_may_not_write_still_answers_reads",
            "--nocapture",
        ])
        .env("TERN_READONLY_CHILD", &file)
        .env("HOME", "/")
        .current_dir("/");
    // SAFETY: setgid/setuid are async-signal-safe, as pre_exec needs.
    unsafe {
        child.pre_exec(move || {
            if libc::setgid(nobody) != 0 || libc::setuid(nobody) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = child.output().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        out.status.success(),
        "as nobody: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
