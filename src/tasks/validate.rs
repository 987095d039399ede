//! Validating what an agent did in its worktree: which files changed, whether they are in
//! scope, the acceptance commands, and gatehouse's own gate; then the commit.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git2::{Oid, Repository, Status, StatusOptions};
use serde::Serialize;

/// How much of an acceptance command's output is kept.
pub const OUTPUT_TAIL: u64 = 4096;

/// A changed file of the worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    /// added | modified | deleted | renamed | type-changed
    pub status: &'static str,
}

/// Every file that differs from the base commit (staged or not, untracked included, ignored
/// files excluded), sorted.
pub fn changed_files(worktree: &Repository) -> Result<Vec<Changed>, git2::Error> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false);
    let statuses = worktree.statuses(Some(&mut options))?;
    let mut changed: Vec<Changed> = statuses
        .iter()
        .filter_map(|entry| {
            let path = entry.path().ok()?.to_string();
            let s = entry.status();
            let status = if s.intersects(Status::WT_NEW | Status::INDEX_NEW) {
                "added"
            } else if s.intersects(Status::WT_DELETED | Status::INDEX_DELETED) {
                "deleted"
            } else if s.intersects(Status::WT_TYPECHANGE | Status::INDEX_TYPECHANGE) {
                "type-changed"
            } else if s.intersects(
                Status::WT_MODIFIED
                    | Status::INDEX_MODIFIED
                    | Status::WT_RENAMED
                    | Status::INDEX_RENAMED,
            ) {
                "modified"
            } else {
                return None;
            };
            Some(Changed { path, status })
        })
        .collect();
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changed)
}

/// What one acceptance command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptResult {
    pub command: String,
    /// `None` when it was killed (timeout) or could not start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The last bytes of its combined output.
    pub output_tail: String,
}

impl AcceptResult {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Runs `command` with `sh -c` in `dir`, in its own process group, killed (the whole group)
/// after `timeout` or when `cancel` fires; `env` is added to the environment, `unset` removed
/// from it.
pub fn run_command(
    command: &str,
    dir: &Path,
    timeout: Duration,
    env: &[(String, String)],
    unset: &[&str],
    log: &Path,
    cancel: Option<&crate::agents::CancelToken>,
) -> AcceptResult {
    let started = Instant::now();
    let result = |exit_code, timed_out, output_tail| AcceptResult {
        command: command.to_string(),
        exit_code,
        timed_out,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        output_tail,
    };
    let output = match std::fs::File::create(log) {
        Ok(f) => f,
        Err(e) => return result(None, false, format!("cannot create {}: {e}", log.display())),
    };
    let Ok(errors) = output.try_clone() else {
        return result(None, false, "cannot duplicate the output file".into());
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .process_group(0);
    for name in unset {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return result(None, false, format!("cannot start sh: {e}")),
    };
    let pgid = child.id();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None)
                if started.elapsed() >= timeout
                    || cancel.is_some_and(crate::agents::CancelToken::is_cancelled) =>
            {
                kill_group(pgid);
                timed_out = true;
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    // Whatever the command left running in its group goes too.
    kill_group(pgid);
    let code = if timed_out {
        None
    } else {
        status.and_then(|s| s.code())
    };
    result(code, timed_out, tail(log, OUTPUT_TAIL))
}

/// Kills a process group, ignoring one that is already gone.
pub fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        // SAFETY: killpg only sends a signal; a stale group id fails with ESRCH, which is fine.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// The last `max` bytes of a file, lossily decoded.
pub fn tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Commits everything in the worktree on top of `base` (author and committer "gatehouse",
/// with the task trailers) without moving any reference; returns the commit.
pub fn commit(
    worktree: &Repository,
    base: Oid,
    subject: &str,
    task: &str,
    run_id: &str,
) -> Result<Oid, git2::Error> {
    let mut index = worktree.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.update_all(["*"], None)?;
    index.write()?;
    let tree = worktree.find_tree(index.write_tree()?)?;
    let parent = worktree.find_commit(base)?;
    let signature = git2::Signature::now("gatehouse", "gatehouse@localhost")?;
    let message = format!("{task}: {subject}\n\nGatehouse-Task: {task}\nGatehouse-Run: {run_id}\n");
    worktree.commit(None, &signature, &signature, &message, &tree, &[&parent])
}

/// Insertions and deletions of a commit against its parent, with the number of files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffStat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
}

pub fn diffstat(repo: &Repository, base: Oid, tip: Oid) -> Result<DiffStat, git2::Error> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(tip)?.tree()?;
    let stats = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)?
        .stats()?;
    Ok(DiffStat {
        files: stats.files_changed(),
        insertions: stats.insertions(),
        deletions: stats.deletions(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("out.log");
        let ok = run_command(
            "echo hello; exit 3",
            dir.path(),
            Duration::from_secs(5),
            &[],
            &[],
            &log,
            None,
        );
        assert_eq!((ok.exit_code, ok.timed_out), (Some(3), false));
        assert_eq!(ok.output_tail.trim(), "hello");
        let marker = dir.path().join("child.pid");
        let cmd = format!("sleep 30 & echo $! > {}; wait", marker.display());
        let hung = run_command(
            &cmd,
            dir.path(),
            Duration::from_millis(300),
            &[],
            &[],
            &log,
            None,
        );
        assert!(hung.timed_out && hung.exit_code.is_none() && !hung.passed());
        let pid: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // A killed child may linger as a zombie until its new parent reaps it: that is dead.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with(['Z', 'X']));
        assert!(
            !alive,
            "the background child of a timed-out command must be killed: {state}"
        );
    }

    #[test]
    fn the_tail_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, "x".repeat(10_000) + "END").unwrap();
        let t = tail(&file, 100);
        assert_eq!(t.len(), 100);
        assert!(t.ends_with("END"));
    }
}
