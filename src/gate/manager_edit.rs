//! `gatehouse install --via MANAGER`: the lines that make pre-commit, prek, lefthook or husky run
//! the gate, added to that tool's own config as text (comments and layout kept), and the unified
//! diff shown before anything is written.

use std::path::{Path, PathBuf};

use super::managers::{self, GATING_HOOKS, Manager};
use crate::config::read::UnsafeFile;

/// Errors of planning an edit; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} has no config file gatehouse can edit; add the lines by hand")]
    NoConfig(&'static str),
    #[error(
        "refusing to edit {path}: {reason}; gatehouse edits only regular files inside the repository, up to 1 MiB"
    )]
    Unsafe { path: PathBuf, reason: UnsafeFile },
}

/// One file to write: its text before (`None`: a new file) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: PathBuf,
    pub old: Option<String>,
    pub new: String,
}

/// The edits that make `manager` run every gating hook it does not run yet; empty when it runs
/// them all. `husky_scripts` is where husky's committed hook scripts live (`.husky`).
///
/// Every file to edit is read (and so later written) only as a regular file inside the working
/// tree, below directories inside it: a clone can ship `lefthook.yml` or `.husky` as a symlink
/// to `~/.bashrc` or `~/bin`, and the edit must not land there. husky's scripts outside the
/// working tree (a `core.hooksPath` the user chose) stay within that directory instead.
pub fn plan(
    manager: Manager,
    workdir: &Path,
    husky_scripts: &Path,
) -> Result<Vec<Edit>, EditError> {
    let root = if manager == Manager::Husky && !husky_scripts.starts_with(workdir) {
        husky_scripts
    } else {
        workdir
    };
    let read = |path: &Path| read_file(root, path);
    let mut missing = Vec::new();
    for hook in GATING_HOOKS.iter().copied() {
        let runs = match manager {
            Manager::Husky => {
                read(&husky_scripts.join(hook))?.is_some_and(|t| managers::runs_gate(&t, hook))
            }
            _ => managers::configured(manager, workdir, hook).is_some(),
        };
        if !runs {
            missing.push(hook);
        }
    }
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    match manager {
        Manager::PreCommit | Manager::Prek => {
            let path = config_path(workdir, &Manager::PreCommit.config_files()[..2]);
            let old = read(&path)?;
            let new = add_pre_commit_repo(old.as_deref().unwrap_or(""), &missing);
            Ok(vec![Edit { path, old, new }])
        }
        Manager::Lefthook => {
            let files = Manager::Lefthook.config_files();
            let path = config_path(workdir, &files[..files.len() - 2]);
            let old = read(&path)?;
            let mut text = old.clone().unwrap_or_default();
            for hook in &missing {
                text = add_lefthook_command(&text, hook);
            }
            Ok(vec![Edit {
                path,
                old,
                new: text,
            }])
        }
        Manager::Husky => missing
            .iter()
            .map(|hook| {
                let path = husky_scripts.join(hook);
                let old = read(&path)?;
                let new = add_husky_line(old.as_deref().unwrap_or(""), hook);
                Ok(Edit { path, old, new })
            })
            .collect(),
        Manager::Overcommit => Err(EditError::NoConfig("overcommit")),
    }
}

fn config_path(workdir: &Path, names: &[&str]) -> PathBuf {
    names
        .iter()
        .map(|n| workdir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| workdir.join(names[0]))
}

fn read_file(root: &Path, path: &Path) -> Result<Option<String>, EditError> {
    managers::read_in(root, path).map_err(|reason| match reason {
        UnsafeFile::Io(source) => EditError::Read {
            path: path.to_path_buf(),
            source,
        },
        reason => EditError::Unsafe {
            path: path.to_path_buf(),
            reason,
        },
    })
}

/// The pre-commit hook id for a gating hook.
pub fn pre_commit_id(hook: &str) -> String {
    if hook == "pre-push" {
        "gatehouse".into()
    } else {
        format!("gatehouse-{hook}")
    }
}

/// The `- repo: local` item that runs `hooks`, each line prefixed with `indent`.
pub fn pre_commit_item(indent: &str, hooks: &[&str]) -> String {
    let mut item = format!("{indent}- repo: local\n{indent}  hooks:\n");
    for hook in hooks {
        item.push_str(&format!(
            "{indent}    - id: {}\n{indent}      name: gatehouse gate ({hook})\n{indent}      entry: gatehouse hook {hook}\n{indent}      language: system\n{indent}      pass_filenames: false\n{indent}      always_run: true\n{indent}      stages: [{hook}]\n",
            pre_commit_id(hook)
        ));
    }
    item
}

/// Adds a local repo with the gate's hooks at the end of the `repos:` list.
fn add_pre_commit_repo(text: &str, hooks: &[&str]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("repos:")) else {
        let mut out = ensure_newline(text);
        out.push_str("repos:\n");
        out.push_str(&pre_commit_item("  ", hooks));
        return out;
    };
    if lines[start].trim_end().ends_with("[]") {
        lines[start] = "repos:".into();
    }
    let end = block_end(&lines, start, |l| l.starts_with('-'));
    let indent = lines[start + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or("  ".to_string(), |l| {
            l[..l.len() - l.trim_start().len()].to_string()
        });
    let at = last_content(&lines, start, end);
    let item = pre_commit_item(&indent, hooks);
    lines.splice(at + 1..at + 1, item.lines().map(str::to_string));
    join(&lines)
}

/// The lefthook command that runs the gate for `hook`, at `indent` (the command's name line).
pub fn lefthook_command(indent: &str, hook: &str) -> String {
    // `{0}` is every argument git passed (the remote and its URL for pre-push); lefthook skips a
    // command whose file templates match nothing, which `{1}`/`{2}` would trigger on a push
    // without file changes. `use_stdin` hands the ref lines to the gate.
    let args = if hook == "pre-push" { " {0}" } else { "" };
    let stdin = if hook == "pre-push" {
        format!("{indent}  use_stdin: true\n")
    } else {
        String::new()
    };
    format!("{indent}gatehouse:\n{indent}  run: gatehouse hook {hook}{args}\n{stdin}")
}

fn add_lefthook_command(text: &str, hook: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = format!("{hook}:");
    let Some(start) = lines.iter().position(|l| l.trim_end() == header) else {
        let mut out = ensure_newline(text);
        out.push_str(&format!(
            "{header}\n  commands:\n{}",
            lefthook_command("    ", hook)
        ));
        return out;
    };
    let end = block_end(&lines, start, |_| false);
    let commands = (start + 1..end).find(|&i| lines[i].trim() == "commands:");
    let (at, item) = match commands {
        Some(i) => {
            let own = lines[i].len() - lines[i].trim_start().len();
            let child = lines[i + 1..end]
                .iter()
                .find(|l| !l.trim().is_empty())
                .map_or(own + 2, |l| l.len() - l.trim_start().len());
            (i, lefthook_command(&" ".repeat(child.max(own + 1)), hook))
        }
        None => (
            last_content(&lines, start, end),
            format!("  commands:\n{}", lefthook_command("    ", hook)),
        ),
    };
    lines.splice(at + 1..at + 1, item.lines().map(str::to_string));
    join(&lines)
}

/// The line a husky script needs; it comes first so that it reads git's stdin itself.
pub fn husky_line(hook: &str) -> String {
    format!("gatehouse hook {hook} \"$@\"")
}

fn add_husky_line(text: &str, hook: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // After a shebang and husky v4–8's `. "$(dirname -- "$0")/_/husky.sh"`.
    let at = lines
        .iter()
        .take_while(|l| l.starts_with("#!") || l.contains("husky.sh"))
        .count();
    lines.insert(at, husky_line(hook));
    join(&lines)
}

/// The first line after `start` that starts another top-level key (one not indented, not a
/// comment, not blank, and not `continues`).
fn block_end(lines: &[String], start: usize, continues: impl Fn(&str) -> bool) -> usize {
    (start + 1..lines.len())
        .find(|&i| {
            let l = &lines[i];
            !l.is_empty() && !l.starts_with([' ', '\t', '#']) && !continues(l)
        })
        .unwrap_or(lines.len())
}

/// The last line of a block that is neither blank nor a comment (or `start`).
fn last_content(lines: &[String], start: usize, end: usize) -> usize {
    (start..end)
        .rev()
        .find(|&i| !lines[i].trim().is_empty() && !lines[i].trim_start().starts_with('#'))
        .unwrap_or(start)
}

fn ensure_newline(text: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn join(lines: &[String]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A unified diff of `old` → `new` for `label` (one hunk around the changed lines).
pub fn diff(label: &str, old: Option<&str>, new: &str) -> String {
    let a: Vec<&str> = old.unwrap_or("").lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let from = prefix.saturating_sub(3);
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let (a_to, b_to) = ((a_end + 3).min(a.len()), (b_end + 3).min(b.len()));
    let old_label = if old.is_some() {
        format!("a/{label}")
    } else {
        "/dev/null".into()
    };
    let mut out = format!("--- {old_label}\n+++ b/{label}\n");
    let start = |n: usize, len: usize| if len == 0 { n } else { n + 1 };
    out.push_str(&format!(
        "@@ -{},{} +{},{} @@\n",
        start(from, a_to - from),
        a_to - from,
        start(from, b_to - from),
        b_to - from
    ));
    for line in &a[from..prefix] {
        out.push_str(&format!(" {line}\n"));
    }
    for line in &a[prefix..a_end] {
        out.push_str(&format!("-{line}\n"));
    }
    for line in &b[prefix..b_end] {
        out.push_str(&format!("+{line}\n"));
    }
    for line in &b[b_end..b_to] {
        out.push_str(&format!(" {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_repo_goes_at_the_end_of_repos_keeping_the_rest() {
        let text = "# top\nrepos:\n-   repo: https://example.com/hooks\n    rev: v1\n    hooks:\n    -   id: x\n\n# trailing\nci:\n  autofix: false\n";
        let out = add_pre_commit_repo(text, &["pre-push"]);
        assert!(
            out.starts_with("# top\nrepos:\n-   repo: https://example.com/hooks\n"),
            "{out}"
        );
        assert!(
            out.contains("    -   id: x\n- repo: local\n  hooks:\n    - id: gatehouse\n"),
            "{out}"
        );
        assert!(
            out.ends_with("\n# trailing\nci:\n  autofix: false\n"),
            "{out}"
        );
        assert!(managers::runs_gate(&out, "pre-push"));
        let empty = add_pre_commit_repo("repos: []\n", &["pre-push"]);
        assert!(empty.starts_with("repos:\n  - repo: local\n"), "{empty}");
    }

    #[test]
    fn lefthook_commands_join_an_existing_hook() {
        let text = "pre-push:\n  parallel: true\n  commands:\n    test:\n      run: make test\npre-commit:\n  commands:\n    lint:\n      run: make lint\n";
        let out = add_lefthook_command(text, "pre-push");
        assert!(out.contains("  commands:\n    gatehouse:\n      run: gatehouse hook pre-push {0}\n      use_stdin: true\n    test:\n"), "{out}");
        let out = add_lefthook_command(&out, "pre-merge-commit");
        assert!(out.ends_with("pre-merge-commit:\n  commands:\n    gatehouse:\n      run: gatehouse hook pre-merge-commit\n"), "{out}");
    }

    #[test]
    fn husky_lines_come_first_and_diffs_show_them() {
        assert_eq!(
            add_husky_line("npm test\n", "pre-push"),
            "gatehouse hook pre-push \"$@\"\nnpm test\n"
        );
        let d = diff(
            ".husky/pre-push",
            Some("npm test\n"),
            "gatehouse hook pre-push \"$@\"\nnpm test\n",
        );
        assert_eq!(
            d,
            "--- a/.husky/pre-push\n+++ b/.husky/pre-push\n@@ -1,1 +1,2 @@\n+gatehouse hook pre-push \"$@\"\n npm test\n"
        );
        let d = diff("x", None, "a\n");
        assert_eq!(d, "--- /dev/null\n+++ b/x\n@@ -0,0 +1,1 @@\n+a\n");
    }
}
