//! The local forge on real temporary git repositories.

use std::fs;
use std::path::Path;
use std::process::Command;

use tern_forge::{Checks, Forge, ForgeError, Proposal};
use tern_local_forge::LocalForge;

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn repo(dir: &Path) -> String {
    fs::create_dir_all(dir).unwrap();
    sh(dir, "git init -q -b main && echo 'path: /w/plays' > job.yaml && echo keep > other.txt && git add -A && git commit -qm init");
    dir.to_str().unwrap().to_string()
}

fn patch(forge: &LocalForge, repo: &str, base: &str) -> String {
    let wt = forge.worktree(repo, base).unwrap();
    fs::write(wt.path().join("job.yaml"), "path: gs://lake/plays\n").unwrap();
    forge
        .commit(
            &wt,
            "Move plays\n\nBody.\n\nTern-Migration: m1",
            &["job.yaml".into()],
        )
        .unwrap()
        .unwrap()
}

#[test]
fn branch_merge_and_revert_leave_the_checkout_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let r = repo(&tmp.path().join("r"));
    // Uncommitted work in the user's checkout, and a file staged.
    fs::write(
        tmp.path().join("r/job.yaml"),
        "path: /w/plays # my local edit\n",
    )
    .unwrap();
    fs::write(tmp.path().join("r/new.txt"), "staged\n").unwrap();
    sh(&tmp.path().join("r"), "git add new.txt");
    let status_before = sh(
        &tmp.path().join("r"),
        "git status --porcelain; git stash list",
    );

    let forge = LocalForge::default();
    let info = forge.open(&r).unwrap();
    assert_eq!(info.default_branch, "main");
    let commit = patch(&forge, &r, &info.head);
    let proposal = Proposal {
        branch: "tern/m1".into(),
        base: "main".into(),
        title: "Move plays".into(),
        body: "Body.".into(),
    };
    assert!(
        forge.propose(&r, &proposal).is_err(),
        "nothing to propose before it is published"
    );
    forge.publish(&r, "tern/m1", &commit).unwrap();
    forge.publish(&r, "tern/m1", &commit).unwrap(); // idempotent
    assert_eq!(
        forge.published(&r, "tern/m1").unwrap().as_deref(),
        Some(commit.as_str())
    );
    assert_eq!(
        forge.propose(&r, &proposal).unwrap(),
        None,
        "the branch is the proposal"
    );
    assert_eq!(forge.checks(&r, "tern/m1", &commit).unwrap(), Checks::None);
    assert_eq!(
        forge
            .find_commit(&r, "tern/m1", "Tern-Migration: m1")
            .unwrap()
            .as_deref(),
        Some(commit.as_str())
    );
    let msg = sh(
        &tmp.path().join("r"),
        &format!("git log -1 --format=%B {commit}"),
    );
    assert_eq!(msg, "Move plays\n\nBody.\n\nTern-Migration: m1");

    // The default branch is checked out there, with uncommitted work: the
    // merge is refused and nothing moves.
    let dir = tmp.path().join("r");
    let main_before = sh(&dir, "git rev-parse main");
    match forge.merge(&r, &commit, "main", None, "Merge") {
        Err(ForgeError::CheckoutDirty { branch, .. }) => assert_eq!(branch, "main"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sh(&dir, "git rev-parse main"), main_before);
    assert_eq!(
        sh(&dir, "git status --porcelain; git stash list"),
        status_before
    );
    // The user goes on on a branch of their own, work and all: now the
    // default branch moves and their checkout does not.
    sh(&dir, "git checkout -q -b wip");

    let tip = forge.merge(&r, &commit, "main", None, "Merge").unwrap();
    assert_eq!(tip, commit, "fast-forward");
    assert_eq!(
        sh(
            &tmp.path().join("r"),
            &format!("git merge-base --is-ancestor {commit} main && echo yes")
        ),
        "yes"
    );
    assert_eq!(
        forge.merge(&r, &commit, "main", None, "Merge").unwrap(),
        commit,
        "merging twice changes nothing"
    );
    assert_eq!(
        sh(&tmp.path().join("r"), "git show main:job.yaml"),
        "path: gs://lake/plays"
    );

    let revert = forge
        .revert(&r, &commit, "main", "Revert\n\nTern-Migration: m1")
        .unwrap();
    assert_eq!(
        sh(
            &tmp.path().join("r"),
            &format!("git rev-parse {revert}^{{tree}}")
        ),
        sh(
            &tmp.path().join("r"),
            &format!("git rev-parse {}^{{tree}}", info.head)
        )
    );
    forge.close(&r, "tern/m1").unwrap();
    forge.close(&r, "tern/m1").unwrap();
    assert!(forge.published(&r, "tern/m1").unwrap().is_none());

    // The user's files, index and stash are as they were; no worktree is left behind.
    assert_eq!(
        fs::read_to_string(tmp.path().join("r/job.yaml")).unwrap(),
        "path: /w/plays # my local edit\n"
    );
    // After merge and revert the default branch's tree is the original one, so
    // the user's status (staged file, local edit) reads exactly as before.
    assert_eq!(
        sh(
            &tmp.path().join("r"),
            "git status --porcelain; git stash list"
        ),
        status_before
    );
    assert_eq!(sh(&tmp.path().join("r"), "git worktree list | wc -l"), "1");
}

#[test]
fn a_clean_checkout_of_the_default_branch_is_brought_along() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let r = repo(&dir);
    let forge = LocalForge::default();
    let base = forge.open(&r).unwrap().head;
    let commit = patch(&forge, &r, &base);
    // An untracked file that the change does not touch is no obstacle.
    fs::write(dir.join("scratch.txt"), "mine\n").unwrap();
    let tip = forge
        .merge(&r, &commit, "main", Some(&base), "Merge")
        .unwrap();
    assert_eq!(tip, commit);
    assert_eq!(
        fs::read_to_string(dir.join("job.yaml")).unwrap(),
        "path: gs://lake/plays\n"
    );
    assert_eq!(sh(&dir, "git status --porcelain"), "?? scratch.txt");
    forge.revert(&r, &commit, "main", "Revert").unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("job.yaml")).unwrap(),
        "path: /w/plays\n"
    );
    assert_eq!(sh(&dir, "git status --porcelain"), "?? scratch.txt");

    // A change that adds a file where the user has an untracked one of that
    // name: refused, the user's file kept.
    let adds = sh(
        &dir,
        "git worktree add -q --detach ../side main && cd ../side && echo x > scratch.txt && git add scratch.txt && git commit -qm add && git rev-parse HEAD && cd ../r && git worktree remove ../side",
    );
    let main_before = sh(&dir, "git rev-parse main");
    match forge.merge(&r, &adds, "main", Some(&main_before), "Merge") {
        Err(ForgeError::CheckoutDirty { detail, .. }) => {
            assert!(detail.contains("scratch.txt"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sh(&dir, "git rev-parse main"), main_before);
    assert_eq!(
        fs::read_to_string(dir.join("scratch.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(sh(&dir, "git status --porcelain"), "?? scratch.txt");
}

#[test]
fn a_move_killed_half_way_is_finished_and_never_mistaken_for_the_users_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let r = repo(&dir);
    let forge = LocalForge::default();
    let base = forge.open(&r).unwrap().head;
    let commit = patch(&forge, &r, &base);
    // As a tern killed between bringing the checkout along and moving the ref leaves it.
    let half_way = |dir: &Path| {
        sh(
            dir,
            &format!("echo '{base} {commit}' > .git/tern-move-main && git read-tree -u -m {base} {commit}"),
        );
    };
    half_way(&dir);
    assert_eq!(sh(&dir, "git rev-parse main"), base);
    forge
        .merge(&r, &commit, "main", Some(&base), "Merge")
        .unwrap();
    assert_eq!(sh(&dir, "git rev-parse main"), commit);
    assert_eq!(sh(&dir, "git status --porcelain"), "");
    assert!(!dir.join(".git/tern-move-main").exists());

    // The same state, then the user edits a file: that is their work.
    let other = tmp.path().join("o");
    let o = repo(&other);
    let base = forge.open(&o).unwrap().head;
    let commit = patch(&forge, &o, &base);
    sh(
        &other,
        &format!("echo '{base} {commit}' > .git/tern-move-main && git read-tree -u -m {base} {commit} && echo mine >> other.txt"),
    );
    assert!(matches!(
        forge.merge(&o, &commit, "main", Some(&base), "Merge"),
        Err(ForgeError::CheckoutDirty { .. })
    ));
    assert_eq!(sh(&other, "git rev-parse main"), base);
    assert_eq!(
        fs::read_to_string(other.join("other.txt")).unwrap(),
        "keep\nmine\n"
    );
}

#[test]
fn merging_after_the_default_branch_moved_makes_a_merge_commit_and_reverts_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let r = repo(&tmp.path().join("r"));
    let forge = LocalForge::default();
    let base = forge.open(&r).unwrap().head;
    let commit = patch(&forge, &r, &base);
    sh(&tmp.path().join("r"), "git checkout -q -b side && git checkout -q main && echo more >> other.txt && git commit -qam 'someone else'");
    let moved = forge.open(&r).unwrap().head;
    let tip = forge
        .merge(&r, &commit, "main", Some(&base), "Merge tern/m1")
        .unwrap();
    assert_ne!(tip, commit);
    assert_eq!(
        sh(&tmp.path().join("r"), "git rev-list --parents -n 1 main")
            .split(' ')
            .count(),
        3
    );
    forge.revert(&r, &tip, "main", "Revert").unwrap();
    let tree = |rev: &str| {
        sh(
            &tmp.path().join("r"),
            &format!("git rev-parse {rev}^{{tree}}"),
        )
    };
    assert_eq!(tree("main"), tree(&moved));
}

#[test]
fn refuses_what_is_not_a_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let forge = LocalForge::default();
    let missing = tmp.path().join("missing");
    assert!(matches!(
        forge.open(missing.to_str().unwrap()),
        Err(ForgeError::NoSuchRepo(_))
    ));
    // A plain folder inside a repository is not that repository.
    let outer = repo(&tmp.path().join("outer"));
    let inner = Path::new(&outer).join("sub");
    fs::create_dir_all(&inner).unwrap();
    assert!(matches!(
        forge.open(inner.to_str().unwrap()),
        Err(ForgeError::NotARepo(_))
    ));
    assert!(matches!(
        forge.open("https://example.com/x.git"),
        Err(ForgeError::Remote(_))
    ));
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    sh(&empty, "git init -q");
    assert!(matches!(
        forge.open(empty.to_str().unwrap()),
        Err(ForgeError::NoDefaultBranch(_))
    ));
}

#[test]
fn reads_the_default_branch_as_git_does_loose_or_packed() {
    let tmp = tempfile::tempdir().unwrap();
    let forge = LocalForge::default();
    let r = repo(&tmp.path().join("r"));
    let dir = Path::new(&r);
    sh(
        dir,
        "mkdir -p sub && printf 'FROM Legacy.Plays\\n' > sub/q.sql && printf 'legacy.plays\\0' > b.bin \
         && ln -s sub/q.sql link.sql && chmod +x sub/q.sql && git add -A && git commit -qm more \
         && git switch -q -c wip && echo 'legacy.plays' > wip.sql && git add -A && git commit -qm wip",
    );
    let needles = ["legacy.plays".to_string(), "/w/plays".to_string()];
    let main = sh(dir, "git rev-parse main");
    let check = |forge: &LocalForge| {
        let info = forge.open(&r).unwrap();
        assert_eq!(
            (info.default_branch.as_str(), info.head.as_str()),
            ("main", main.as_str())
        );
        // Case ignored, binary included, the link and the other branch not.
        let files = forge.grep(&r, &info.head, &needles).unwrap();
        assert_eq!(files, ["b.bin", "job.yaml", "sub/q.sql"]);
        let blobs = forge.read_all(&r, &info.head, &files).unwrap();
        assert_eq!(blobs[0], b"legacy.plays\0");
        assert_eq!(blobs[2], b"FROM Legacy.Plays\n");
        let err = forge
            .read_all(&r, &info.head, &["link.sql".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!("{main}:link.sql is missing")),
            "{err}"
        );
    };
    check(&forge);
    // Packed objects and refs read the same, from a fresh forge.
    sh(
        dir,
        "git gc -q && git pack-refs --all && test ! -e .git/refs/heads/main",
    );
    check(&LocalForge::default());

    // origin's HEAD wins over main; without main or master, the checked-out branch.
    sh(dir, "git branch -q trunk main && git update-ref refs/remotes/origin/trunk main && git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/trunk");
    assert_eq!(
        LocalForge::default().open(&r).unwrap().default_branch,
        "trunk"
    );
    sh(dir, "git symbolic-ref -d refs/remotes/origin/HEAD && git branch -q -D trunk && git branch -q -m main old");
    assert_eq!(
        LocalForge::default().open(&r).unwrap().default_branch,
        "wip"
    );

    // A bare clone is a repository; its folders are not.
    sh(tmp.path(), "git clone -q --bare r bare.git");
    let bare = tmp.path().join("bare.git");
    assert_eq!(
        LocalForge::default()
            .open(bare.to_str().unwrap())
            .unwrap()
            .default_branch,
        "wip"
    );
    assert!(matches!(
        LocalForge::default().open(bare.join("refs").to_str().unwrap()),
        Err(ForgeError::NotARepo(_))
    ));
    assert!(matches!(
        LocalForge::default().open(dir.join(".git").to_str().unwrap()),
        Err(ForgeError::NotARepo(_))
    ));
}

#[test]
fn reads_delta_chains_across_packs_and_loose_objects_in_tree_order() {
    let tmp = tempfile::tempdir().unwrap();
    let forge = LocalForge::default();
    let r = repo(&tmp.path().join("r"));
    let dir = Path::new(&r);
    // Forty near-identical files packed with long delta chains, then edits in
    // a second pack, then loose objects on top: every way a clone ages.
    sh(
        dir,
        "mkdir -p d && for i in $(seq 10 49); do \
           { echo \"-- $i\"; seq 1 200; if [ $((i % 3)) = 0 ]; then echo 'FROM legacy.plays'; fi; } > d/f$i.sql; done \
         && git add -A && git commit -qm many && git repack -adfq --window=250 --depth=50 \
         && for i in 12 24 36; do echo \"-- edit $i\" >> d/f$i.sql; done \
         && git commit -qam edits && git repack -dq \
         && echo 'FROM legacy.plays -- loose' >> d/f40.sql && git commit -qam loose",
    );
    let packs = sh(dir, "ls .git/objects/pack/*.pack | wc -l");
    assert_eq!(packs, "2", "two packs");
    assert_ne!(
        sh(dir, "find .git/objects/?? -type f | wc -l"),
        "0",
        "loose objects"
    );
    let deltas = sh(
        dir,
        "git verify-pack -v .git/objects/pack/*.idx | awk '$2 == \"blob\" && NF == 7' | wc -l",
    );
    assert!(deltas.parse::<u32>().unwrap() > 30, "{deltas} deltas");
    let head = sh(dir, "git rev-parse HEAD");
    reads_as_git(&forge, dir, &head);
    // `keep` picks by content, whatever the order objects were read in.
    let plays = |b: &[u8]| b.windows(12).any(|w| w == b"legacy.plays");
    let kept: Vec<String> = forge
        .read_matching(&r, &head, &["legacy.plays".into()], &plays)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let grep = sh(dir, "git grep -l legacy.plays HEAD -- | sed 's/^HEAD://'");
    assert_eq!(kept, grep.lines().collect::<Vec<_>>());
}

/// Every regular file of `rev`, read with nothing left out, is git's: the
/// same paths in the same order, each with `git cat-file`'s bytes.
fn reads_as_git(forge: &LocalForge, dir: &Path, rev: &str) {
    let r = dir.to_str().unwrap();
    let read = forge
        .read_matching(r, rev, &["x".into()], &|_: &[u8]| true)
        .unwrap();
    let listed = sh(dir, &format!("git ls-tree -r --name-only {rev}"));
    let paths: Vec<&str> = read.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, listed.lines().collect::<Vec<_>>());
    for (path, bytes) in &read {
        let out = Command::new("git")
            .args(["cat-file", "blob", &format!("{rev}:{path}")])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(&out.stdout == bytes, "{path} differs from git's bytes");
    }
}

#[test]
fn reads_what_a_repository_borrows_from_another_through_alternates() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = repo(&tmp.path().join("origin"));
    // A shared clone holds none of the objects it was cloned with: they stay
    // in the origin (`objects/info/alternates`); its own commit is loose here.
    sh(
        tmp.path(),
        "git clone -q --shared origin c && cd c \
         && test -s .git/objects/info/alternates && test -z \"$(find .git/objects/?? -type f 2>/dev/null)\" \
         && echo 'FROM legacy.plays' > q.sql && git add -A && git commit -qm own",
    );
    let c = tmp.path().join("c");
    let head = sh(&c, "git rev-parse HEAD");
    reads_as_git(&LocalForge::default(), &c, &head);
    // Borrowed objects packed in the origin read the same.
    sh(Path::new(&origin), "git gc -q");
    reads_as_git(&LocalForge::default(), &c, &head);
    let kept = LocalForge::default()
        .read_matching(
            c.to_str().unwrap(),
            &head,
            &["plays".into()],
            &|b: &[u8]| b.windows(5).any(|w| w == b"plays"),
        )
        .unwrap();
    let paths: Vec<&str> = kept.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["job.yaml", "q.sql"]);
}

#[test]
fn a_broken_loose_object_is_an_error_naming_the_repository_never_a_guess() {
    let tmp = tempfile::tempdir().unwrap();
    let forge = LocalForge::default();
    let r = repo(&tmp.path().join("r"));
    let dir = Path::new(&r);
    let head = sh(dir, "git rev-parse HEAD");
    let needles = ["/w/plays".to_string()];
    let everything = |_: &[u8]| true;
    // An empty blob and a large one (more than one read, more than the
    // first inflate call) read as git has them.
    sh(
        dir,
        ": > empty.txt && seq 1 200000 > big.txt && git add -A && git commit -qm more",
    );
    let head2 = sh(dir, "git rev-parse HEAD");
    let read = forge
        .read_matching(&r, &head2, &needles, &everything)
        .unwrap();
    let big = read.iter().find(|(p, _)| p == "big.txt").unwrap();
    assert_eq!(big.1, fs::read(dir.join("big.txt")).unwrap());
    let empty = read.iter().find(|(p, _)| p == "empty.txt").unwrap();
    assert!(empty.1.is_empty());
    // Cut the job file's loose object short: the read fails and says where.
    let blob = sh(dir, "git rev-parse HEAD:job.yaml");
    let path = dir.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let bytes = fs::read(&path).unwrap();
    sh(dir, &format!("chmod u+w {}", path.display()));
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = LocalForge::default()
        .read_matching(&r, &head, &needles, &everything)
        .unwrap_err();
    assert!(matches!(err, ForgeError::Objects { .. }), "{err:?}");
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{err}");
    // A loose object claiming more bytes than its stream holds is refused too.
    let mut text = format!("blob {}\0", 10_000_000).into_bytes();
    text.extend_from_slice(b"path: /w/plays\n");
    let lie = zlib_stored(&text);
    fs::write(&path, lie).unwrap();
    let err = LocalForge::default()
        .read_matching(&r, &head, &needles, &everything)
        .unwrap_err();
    assert!(matches!(err, ForgeError::Objects { .. }), "{err:?}");
    // So is one whose stream runs past the size its header claims.
    fs::write(&path, zlib_stored(b"blob 5\0path: /w/plays\n")).unwrap();
    let err = LocalForge::default()
        .read_matching(&r, &head, &needles, &everything)
        .unwrap_err();
    assert!(matches!(err, ForgeError::Objects { .. }), "{err:?}");
    // The same object stored uncompressed, as any zlib may write it, reads.
    fs::write(&path, zlib_stored(b"blob 15\0path: /w/plays\n")).unwrap();
    let read = LocalForge::default()
        .read_matching(&r, &head, &needles, &everything)
        .unwrap();
    assert_eq!(
        read[0],
        ("job.yaml".to_string(), b"path: /w/plays\n".to_vec())
    );
}

/// `data` as a zlib stream of one stored (uncompressed) block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

#[test]
fn a_tree_that_names_itself_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let r = repo(&tmp.path().join("r"));
    let objects = Path::new(&r).join(".git/objects");
    // An object store whose files do not match their names: a tree at `t`
    // holding a folder `d` that is `t` again, and a commit of it at `c`.
    let (t, c) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    let write = |id: &str, kind: &str, body: &[u8]| {
        let mut text = format!("{kind} {}\0", body.len()).into_bytes();
        text.extend_from_slice(body);
        fs::create_dir_all(objects.join(&id[..2])).unwrap();
        fs::write(objects.join(&id[..2]).join(&id[2..]), zlib_stored(&text)).unwrap();
    };
    let mut tree = b"40000 d\0".to_vec();
    tree.extend_from_slice(&[0x11; 20]);
    write(t, "tree", &tree);
    write(
        c,
        "commit",
        format!("tree {t}\nauthor a <a@a> 0 +0000\ncommitter a <a@a> 0 +0000\n\nloop\n").as_bytes(),
    );
    let err = LocalForge::default()
        .read_matching(&r, c, &["x".into()], &|_: &[u8]| true)
        .unwrap_err();
    assert!(
        err.to_string().contains("nested deeper than 4096 folders"),
        "{err}"
    );
}

#[test]
fn changed_paths_are_the_paths_git_diff_names() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("r");
    let r = repo(&d);
    // A history of awkward changes, each compared with git's own answer:
    // edits deep and shallow, a file that becomes a folder and back, a mode
    // change, a symbolic link retargeted, a submodule moved, a folder
    // deleted whole, renames (listed as two paths, as --no-renames does),
    // and names git sorts differently from bytes (`a.b` before `a/`).
    let steps = [
        "mkdir -p a/b/c && echo 1 > a/b/c/x && echo 2 > a/y && echo 3 > a.b && git add -A",
        "echo 9 > a/b/c/x && git add -A",
        "rm other.txt && mkdir other.txt && echo in > other.txt/f && git add -A",
        "rm -r other.txt && echo back > other.txt && git add -A",
        "chmod +x a/y && git add -A",
        "ln -s a/y link && git add -A",
        "rm link && ln -s a.b link && git add -A",
        "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub",
        "git update-index --cacheinfo 160000,2222222222222222222222222222222222222222,sub",
        "git rm -rq a && git add -A",
        "git mv job.yaml moved.yaml",
        "echo same > other.txt && git add -A",
    ];
    let forge = LocalForge::default();
    let mut commits = vec![sh(&d, "git rev-parse HEAD")];
    for step in steps {
        sh(&d, step);
        sh(&d, "git commit -qm step --allow-empty");
        commits.push(sh(&d, "git rev-parse HEAD"));
    }
    for (i, from) in commits.iter().enumerate() {
        for to in &commits[i..] {
            let mut git: Vec<String> = sh(
                &d,
                &format!("git diff --name-only --no-renames -z {from} {to} | tr '\\0' '\\n'"),
            )
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
            git.sort();
            let mut ours = forge.changed_paths(&r, from, to).unwrap();
            ours.sort();
            assert_eq!(ours, git, "{from}..{to}");
            let mut back = forge.changed_paths(&r, to, from).unwrap();
            back.sort();
            assert_eq!(back, git, "{to}..{from}");
        }
    }
}

#[test]
fn refs_move_as_git_moves_them_and_a_race_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let r = repo(&dir);
    let forge = LocalForge::default();
    let base = forge.open(&r).unwrap().head;
    let commit = patch(&forge, &r, &base);
    // A lock a tern killed mid-write left on its own branch does not stop
    // the next one.
    fs::create_dir_all(dir.join(".git/refs/heads/tern")).unwrap();
    fs::write(dir.join(".git/refs/heads/tern/m1.lock"), "").unwrap();
    forge.publish(&r, "tern/m1", &commit).unwrap();
    assert!(!dir.join(".git/refs/heads/tern/m1.lock").exists());
    // The reflog git keeps, and nothing git itself would object to.
    assert_eq!(
        sh(&dir, "git reflog show --format='%gs %H' tern/m1"),
        format!("tern {commit}")
    );
    sh(&dir, "git fsck --no-progress --strict");
    assert_eq!(sh(&dir, "git rev-parse tern/m1"), commit);

    // The branch taken by another commit: publishing is refused, it stays.
    let wt = forge.worktree(&r, &base).unwrap();
    fs::write(wt.path().join("job.yaml"), "someone else's\n").unwrap();
    let other = forge
        .commit(&wt, "Theirs", &["job.yaml".into()])
        .unwrap()
        .unwrap();
    drop(wt);
    assert!(matches!(
        forge.publish(&r, "tern/m1", &other),
        Err(ForgeError::Raced { .. })
    ));
    assert_eq!(sh(&dir, "git rev-parse tern/m1"), commit);

    // A packed default branch is moved like a loose one; one someone holds
    // the lock of (a push in progress) is a race, not a failure, and is
    // left exactly as it was, checkout included: a branch people use is
    // never unlocked by tern.
    sh(&dir, "git pack-refs --all");
    fs::write(dir.join(".git/refs/heads/main.lock"), "").unwrap();
    assert!(matches!(
        forge.merge(&r, &commit, "main", Some(&base), "Merge"),
        Err(ForgeError::Raced { .. })
    ));
    assert_eq!(sh(&dir, "git rev-parse main"), base);
    assert_eq!(sh(&dir, "git status --porcelain"), "");
    fs::remove_file(dir.join(".git/refs/heads/main.lock")).unwrap();
    assert_eq!(
        forge
            .merge(&r, &commit, "main", Some(&base), "Merge")
            .unwrap(),
        commit
    );
    assert_eq!(sh(&dir, "git rev-parse main"), commit);
    assert_eq!(sh(&dir, "git status --porcelain"), "");
    sh(&dir, "git fsck --no-progress --strict");
}
