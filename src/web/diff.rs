//! The diff of a review, file by file, with the gate's findings placed at the lines they are
//! about (a finding on a line the diff does not show stays at the top of its file).

use git2::{DiffOptions, Oid, Patch, Repository};
use serde::{Deserialize, Serialize};

/// Lines of diff shown at most; the rest is left to `gatehouse review show --diff`.
const MAX_LINES: usize = 5000;

/// A finding as the review summary stores it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FindingView {
    pub rule: String,
    pub code: String,
    pub level: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Line {
    /// `add`, `del` or `ctx`.
    pub kind: &'static str,
    pub old: Option<u32>,
    pub new: Option<u32>,
    pub text: String,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Serialize)]
pub struct Hunk {
    pub header: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub status: String,
    pub binary: bool,
    pub hunks: Vec<Hunk>,
    /// Findings of this file at no line the diff shows.
    pub findings: Vec<FindingView>,
    pub finding_count: usize,
}

/// The whole review diff.
#[derive(Debug, Default, Serialize)]
pub struct Diffed {
    pub files: Vec<FileDiff>,
    /// Findings on paths the diff does not touch.
    pub elsewhere: Vec<FindingView>,
    pub truncated: bool,
}

/// The diff `base..tip` with `findings` placed.
pub fn review_diff(
    repo: &Repository,
    base: Oid,
    tip: Oid,
    mut findings: Vec<FindingView>,
) -> Result<Diffed, git2::Error> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(tip)?.tree()?;
    let mut options = DiffOptions::new();
    options.context_lines(3);
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    let mut out = Diffed::default();
    let mut budget = MAX_LINES;
    for index in 0..diff.deltas().len() {
        let Some(patch) = Patch::from_diff(&diff, index)? else {
            continue;
        };
        let delta = patch.delta();
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (mine, rest): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.path == path);
        findings = rest;
        let mut file = FileDiff {
            status: format!("{:?}", delta.status()).to_lowercase(),
            binary: delta.flags().is_binary(),
            finding_count: mine.len(),
            path,
            hunks: Vec::new(),
            findings: Vec::new(),
        };
        let mut unplaced = mine;
        for h in 0..patch.num_hunks() {
            if budget == 0 {
                out.truncated = true;
                break;
            }
            let (hunk, count) = patch.hunk(h)?;
            let mut lines = Vec::new();
            for l in 0..count.min(budget) {
                let line = patch.line_in_hunk(h, l)?;
                lines.push(place(line, &mut unplaced));
            }
            out.truncated |= count > budget;
            budget -= count.min(budget);
            file.hunks.push(Hunk {
                header: String::from_utf8_lossy(hunk.header())
                    .trim_end()
                    .to_string(),
                lines,
            });
        }
        file.findings = unplaced;
        out.files.push(file);
    }
    out.elsewhere = findings;
    Ok(out)
}

/// One diff line, taking the findings at its new line number out of `unplaced`.
fn place(line: git2::DiffLine<'_>, unplaced: &mut Vec<FindingView>) -> Line {
    let kind = match line.origin() {
        '+' | '>' => "add",
        '-' | '<' => "del",
        _ => "ctx",
    };
    let new = line.new_lineno();
    let (here, rest): (Vec<_>, Vec<_>) = std::mem::take(unplaced)
        .into_iter()
        .partition(|f| kind != "del" && new == Some(f.line));
    *unplaced = rest;
    Line {
        kind,
        old: line.old_lineno(),
        new,
        text: String::from_utf8_lossy(line.content())
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        findings: here,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)], parent: Option<Oid>) -> Oid {
        let mut builder = repo.treebuilder(None).unwrap();
        for (name, text) in files {
            let blob = repo.blob(text.as_bytes()).unwrap();
            builder.insert(name, blob, 0o100_644).unwrap();
        }
        let tree = repo.find_tree(builder.write().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<_> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let refs: Vec<_> = parents.iter().collect();
        repo.commit(None, &sig, &sig, "m", &tree, &refs).unwrap()
    }

    fn finding(path: &str, line: u32, code: &str) -> FindingView {
        FindingView {
            rule: "untyped-function".into(),
            code: code.into(),
            level: "review".into(),
            path: path.into(),
            line,
            ..FindingView::default()
        }
    }

    #[test]
    fn findings_sit_at_their_lines_or_at_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let base = commit(&repo, &[("a.py", "x = 1\n"), ("b.txt", "b\n")], None);
        let tip = commit(
            &repo,
            &[
                ("a.py", "x = 1\ndef f(a):\n    return a\n"),
                ("b.txt", "b\n"),
            ],
            Some(base),
        );
        let findings = vec![
            finding("a.py", 2, "ANN001"),
            finding("a.py", 2, "ANN201"),
            finding("a.py", 40, "ANN202"),
            finding("c.py", 1, "ANN001"),
        ];
        let d = review_diff(&repo, base, tip, findings).unwrap();
        assert_eq!(d.files.len(), 1, "only a.py changed");
        let file = &d.files[0];
        assert_eq!(
            (file.path.as_str(), file.status.as_str()),
            ("a.py", "modified")
        );
        assert_eq!(file.finding_count, 3);
        let lines = &file.hunks[0].lines;
        let added: Vec<_> = lines.iter().filter(|l| l.kind == "add").collect();
        assert_eq!(added.len(), 2);
        assert_eq!(added[0].new, Some(2));
        assert_eq!(added[0].text, "def f(a):");
        let codes: Vec<_> = added[0].findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["ANN001", "ANN201"]);
        assert!(added[1].findings.is_empty());
        assert_eq!(file.findings.len(), 1, "line 40 is not in the diff");
        assert_eq!(d.elsewhere.len(), 1, "c.py is not in the diff");
        assert!(!d.truncated);
    }
}
