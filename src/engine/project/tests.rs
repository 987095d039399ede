//! A commit's tree read one directory at a time answers what its whole file list answers.

use git2::{Oid, Repository};

use super::Revision;
use crate::git::Repo;

/// Builds a tree from (path, mode) entries; blobs hold their path, submodules a made-up commit.
fn tree(git: &Repository, entries: &[(&str, i32)]) -> Oid {
    let mut here = git.treebuilder(None).unwrap();
    let mut subdirs: Vec<(&str, Vec<(&str, i32)>)> = Vec::new();
    for (path, mode) in entries {
        match path.split_once('/') {
            None => {
                let id = if *mode == 0o160000 {
                    Oid::from_str("1234567890123456789012345678901234567890").unwrap()
                } else {
                    git.blob(path.as_bytes()).unwrap()
                };
                here.insert(path, id, *mode).unwrap();
            }
            Some((dir, rest)) => match subdirs.iter_mut().find(|(d, _)| *d == dir) {
                Some((_, list)) => list.push((rest, *mode)),
                None => subdirs.push((dir, vec![(rest, *mode)])),
            },
        }
    }
    for (dir, list) in subdirs {
        here.insert(dir, tree(git, &list), 0o040000).unwrap();
    }
    here.write().unwrap()
}

#[test]
fn directory_reads_answer_like_the_file_list() {
    let dir = tempfile::tempdir().unwrap();
    let git = Repository::init_bare(dir.path()).unwrap();
    let root = tree(
        &git,
        &[
            ("setup.py", 0o100644),
            ("pkg/__init__.py", 0o100644),
            ("pkg/mod.py", 0o100755),
            ("pkg/link.py", 0o120000),
            ("pkg/sub/__init__.py", 0o100644),
            ("vendored/lib", 0o160000),
            ("deep/a/b/c/d/leaf.py", 0o100644),
            ("deep/a/only_sub/module", 0o160000),
        ],
    );
    let repo = Repo::open(dir.path()).unwrap();
    let lazy = Revision::tree(&repo, root).unwrap();
    let listed = Revision::tree(&repo, root).unwrap();
    let paths = listed.paths().to_vec();
    assert_eq!(
        paths,
        [
            "deep/a/b/c/d/leaf.py",
            "pkg/__init__.py",
            "pkg/link.py",
            "pkg/mod.py",
            "pkg/sub/__init__.py",
            "setup.py",
        ]
    );
    let probes = [
        "setup.py",
        "pkg",
        "pkg/",
        "pkg/__init__.py",
        "pkg/link.py",
        "pkg/sub",
        "pkg/sub/__init__.py",
        "pkg/missing.py",
        "pkg/mod.py/x",
        "vendored",
        "vendored/lib",
        "deep",
        "deep/a",
        "deep/a/b/c",
        "deep/a/only_sub",
        "deep/a/b/c/d/leaf.py",
        "",
        "/setup.py",
        "pkg//mod.py",
        "nothing/here",
    ];
    for probe in probes {
        let in_list = paths.iter().any(|p| p == probe);
        let prefix = format!("{}/", probe.trim_end_matches('/'));
        let dir_in_list = paths.iter().any(|p| p.starts_with(&prefix));
        assert_eq!(lazy.exists(probe), in_list, "exists({probe:?})");
        assert_eq!(lazy.is_dir(probe), dir_in_list, "is_dir({probe:?})");
        let id = in_list.then(|| {
            git.revparse_single(&format!("{root}:{probe}"))
                .unwrap()
                .id()
        });
        assert_eq!(lazy.blob_id(probe), id, "blob_id({probe:?})");
    }
    assert_eq!(
        lazy.read("pkg/sub/__init__.py").as_deref(),
        Some("__init__.py")
    );
    assert_eq!(lazy.read("pkg/sub").as_deref(), None);
    // Answering those never listed the whole tree.
    assert!(lazy.paths.get().is_none());
}
