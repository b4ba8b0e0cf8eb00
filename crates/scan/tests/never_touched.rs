//! docs/rules.md rule 10 on a real directory tree.

use std::fs;
use std::os::unix::fs::symlink;

use tern_rewrite::{Engine, RuleInput, Rules};
use tern_spec::LocatorKind;

fn engine() -> Engine {
    Engine::new(
        Rules::new(RuleInput {
            replace: vec![(
                LocatorKind::Path,
                vec!["/warehouse/plays".into()],
                "gs://lake/plays".into(),
            )],
            ..Default::default()
        })
        .unwrap(),
    )
}

#[test]
fn only_repository_text_files_change() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let outside = tmp.path().join("outside.txt");
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::create_dir_all(root.join(".github/workflows")).unwrap();
    fs::create_dir_all(root.join("build")).unwrap();
    fs::create_dir_all(root.join("src")).unwrap();
    let line = "read /warehouse/plays\n";
    fs::write(root.join(".git/config"), line).unwrap();
    fs::write(root.join(".github/workflows/ci.yml"), line).unwrap();
    fs::write(root.join(".gitignore"), "build/\n*.log\n").unwrap();
    fs::write(root.join("build/out.txt"), line).unwrap();
    fs::write(root.join("run.log"), line).unwrap();
    // Python that stays Python after the rewrite (the grammar reads it again).
    fs::write(root.join("src/job.py"), "p = \"/warehouse/plays\"\n").unwrap();
    fs::write(
        root.join("src/blob.bin"),
        b"\x00\x00read /warehouse/plays\x00",
    )
    .unwrap();
    let mut big = vec![b'x'; tern_rewrite::MAX_FILE_BYTES + 1];
    big.extend_from_slice(line.as_bytes());
    fs::write(root.join("src/huge.txt"), &big).unwrap();
    fs::write(&outside, line).unwrap();
    symlink(&outside, root.join("src/link.txt")).unwrap();
    symlink(tmp.path(), root.join("src/up")).unwrap();

    let report = tern_scan::scan_tree(&engine(), &root, &|_| {}).unwrap();
    let changed: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(changed, vec![".github/workflows/ci.yml", "src/job.py"]);
    assert!(report.findings.is_empty());
    let noted: Vec<&str> = report.notes.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(noted, vec!["src/blob.bin", "src/huge.txt"]);

    tern_scan::write_changes(&root, &report).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("src/job.py")).unwrap(),
        "p = \"gs://lake/plays\"\n"
    );
    for untouched in [".git/config", "build/out.txt", "run.log"] {
        assert_eq!(
            fs::read_to_string(root.join(untouched)).unwrap(),
            line,
            "{untouched}"
        );
    }
    assert_eq!(fs::read_to_string(&outside).unwrap(), line);
    assert_eq!(fs::read(root.join("src/huge.txt")).unwrap(), big);
    assert!(fs::symlink_metadata(root.join("src/link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());

    // A second pass finds nothing left to do.
    let again = tern_scan::scan_tree(&engine(), &root, &|_| {}).unwrap();
    assert!(again.files.is_empty());
}

#[test]
fn permissions_survive_a_rewrite() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("run.sh");
    fs::write(&f, "ls /warehouse/plays\n").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
    let report = tern_scan::scan_tree(&engine(), tmp.path(), &|_| {}).unwrap();
    tern_scan::write_changes(tmp.path(), &report).unwrap();
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let diff = tern_scan::unified_diff(&report.files[0]);
    assert!(
        diff.contains("-ls /warehouse/plays") && diff.contains("+ls gs://lake/plays"),
        "{diff}"
    );
}

#[test]
fn a_link_at_the_temporary_name_is_not_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim.txt");
    fs::write(&target, "keep\n").unwrap();
    let f = tmp.path().join("job.sh");
    fs::write(&f, "ls /warehouse/plays\n").unwrap();
    // Planted where tern writes its temporary copy.
    let planted = tmp
        .path()
        .join(format!(".job.sh.tern-{}", std::process::id()));
    symlink(&target, &planted).unwrap();
    tern_scan::write_atomic(&f, b"ls gs://lake/plays\n").unwrap();
    assert_eq!(fs::read_to_string(&f).unwrap(), "ls gs://lake/plays\n");
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
    assert!(fs::symlink_metadata(&planted).is_err(), "the link is gone");
}

#[test]
fn many_files_are_written_and_a_failure_names_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..50 {
        fs::write(tmp.path().join(format!("f{i}.sh")), "ls /warehouse/plays\n").unwrap();
    }
    let report = tern_scan::scan_tree(&engine(), tmp.path(), &|_| {}).unwrap();
    assert_eq!(report.files.len(), 50);
    tern_scan::write_changes(tmp.path(), &report).unwrap();
    for i in 0..50 {
        let text = fs::read_to_string(tmp.path().join(format!("f{i}.sh"))).unwrap();
        assert_eq!(text, "ls gs://lake/plays\n");
    }
    // A file that vanished since the scan fails with its path.
    fs::remove_file(tmp.path().join("f7.sh")).unwrap();
    let err = tern_scan::write_changes(tmp.path(), &report)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f7.sh: could not write"), "{err}");
}

#[test]
fn files_around_the_first_read_size_are_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The locator as the last bytes of files just under, at and over the
    // 64 KiB first read, and of an empty file's neighbour.
    let tail = b"\nread /warehouse/plays\n";
    let mut expect = Vec::new();
    for (name, size) in [
        ("under.txt", 65535),
        ("at.txt", 65536),
        ("over.txt", 200_000),
    ] {
        let mut text = vec![b'x'; size - tail.len()];
        text.extend_from_slice(tail);
        fs::write(root.join(name), &text).unwrap();
        let mut after = vec![b'x'; size - tail.len()];
        after.extend_from_slice(b"\nread gs://lake/plays\n");
        expect.push((name, after));
    }
    fs::write(root.join("empty.txt"), b"").unwrap();
    let report = tern_scan::scan_tree(&engine(), root, &|_| {}).unwrap();
    let changed: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(changed, ["at.txt", "over.txt", "under.txt"]);
    assert_eq!(report.files_scanned, 4);
    tern_scan::write_changes(root, &report).unwrap();
    for (name, after) in expect {
        assert!(fs::read(root.join(name)).unwrap() == after, "{name}");
    }
}
