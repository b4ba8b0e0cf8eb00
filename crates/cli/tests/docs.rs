//! The reference in docs/ stays true: it names every command the binary
//! has, and every link in the README and docs/ points at a file inside the
//! repository that exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root")
        .to_path_buf()
}

/// The subcommands `tern [GROUP] --help` lists, help itself left out.
fn subcommands(group: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(group)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_reference_names_every_command() {
    let doc = std::fs::read_to_string(root().join("docs/cli.md")).unwrap();
    let top = subcommands(&[]);
    assert!(top.len() > 10, "{top:?}");
    for c in &top {
        let groups = subcommands(&[c.as_str()]);
        if groups.is_empty() {
            assert!(
                doc.contains(&format!("`tern {c}")),
                "docs/cli.md lacks tern {c}"
            );
        }
        for s in groups {
            assert!(
                doc.contains(&format!("`tern {c} {s}")),
                "docs/cli.md lacks tern {c} {s}"
            );
        }
    }
}

/// `[text](target)` links of a markdown file.
fn links(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn every_link_points_inside_the_repository() {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for link in links(&text) {
            let target = link.split('#').next().unwrap_or("");
            if target.is_empty() {
                continue;
            }
            assert!(
                !target.contains("://"),
                "{}: {link} points outside the repository",
                file.display()
            );
            let at = file.parent().unwrap().join(target);
            assert!(at.exists(), "{}: {link} names nothing", file.display());
            assert!(
                at.canonicalize()
                    .unwrap()
                    .starts_with(root.canonicalize().unwrap()),
                "{}: {link} leaves the repository",
                file.display()
            );
        }
    }
}
