//! Folders a task keeps between its runs (`keep = [".venv", "node_modules"]`): dependency
//! installs that git ignores and that take long to rebuild. When a run's worktree goes, they are
//! moved (renamed, never copied) into the task's store under [`super::worktree::kept_root`]; the
//! next run of the task moves them into its own worktree before setup.
//!
//! Nothing else crosses from one run to the next: every run still gets a new worktree checked
//! out from its base, so tracked files, other untracked or ignored files and the `.git` file an
//! earlier agent left are gone. Only real directories that git ignores are moved, never through a
//! symlink. Whoever takes the stored folders first has them, so concurrent runs of a task never
//! share them: the others start without; of two runs ending, the later one's folders are stored.
//!
//! The store holds a folder per task (`<task>/`) and a lock file (`.lock`). Every move in or out
//! holds the lock (an `flock`, which the kernel releases when its process dies, even by
//! `kill -9`), so whatever an operation finds there besides the task folders no live process
//! owns: a removal that did not finish (`.trash.*`), or what a process of an earlier version
//! left mid-way (`.claimed-RUN`, `.stash-RUN`, `.old-RUN`). A process killed while moving leaves
//! only consistent states: the task's folder holds what was not moved yet (a restore) or what
//! was (a stash), each folder whole, since a folder moves in one rename. Nothing is deleted
//! under the lock: it is renamed to `.trash.*` there and removed after.

mod moves;

use std::path::{Path, PathBuf};

use git2::Repository;

use crate::git::Repo;
use moves::{LOCK_WAIT, TRASH, Trash, carry, lock, private_dir, real_dirs};

/// Errors moving kept folders; a run goes on without them.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("cannot move {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another gatehouse process has held {} for {} s: gave up waiting",
        path.display(),
        LOCK_WAIT.as_secs()
    )]
    Busy { path: PathBuf },
    #[error("`{0}` is not a task name: use letters, digits, `-` and `_`")]
    Name(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeepError {
    let path = path.to_path_buf();
    move |source| KeepError::Io { path, source }
}

/// What became of the run named by a `.claimed-RUN` or `.stash-RUN` folder, which gatehouse
/// versions before the store's lock left while moving and a process killed then never removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// It is recorded as still running: it may still be moving, so its folder stays.
    Live,
    /// It ended (task named): the task's next move adopts what the folder holds.
    Ended(String),
    /// No run has that id: nobody can use the folder, which goes.
    Unknown,
}

/// The owners of leftovers as `repo`'s state database records them; the database is opened only
/// when there is a leftover to ask about, and a run it cannot tell about counts as live.
fn owners(repo: &Repo) -> impl Fn(&str) -> Owner {
    let state_dir = repo.state_dir();
    let store = std::cell::OnceCell::new();
    move |id: &str| {
        let store = store.get_or_init(|| crate::store::Store::open(&state_dir).ok());
        match store.as_ref().map(|s| s.run(id)) {
            Some(Ok(Some(run))) if run.state.is_active() => Owner::Live,
            Some(Ok(Some(run))) => Owner::Ended(run.task),
            Some(Ok(None)) => Owner::Unknown,
            _ => Owner::Live,
        }
    }
}

/// `f` on the folders of `task` in `repo`'s store, the owners of leftovers as the state database
/// records them.
fn in_repo<T>(repo: &Repo, task: &str, patterns: &[String], f: impl FnOnce(&Kept<'_>) -> T) -> T {
    let store = super::worktree::kept_root(repo);
    let owner = owners(repo);
    f(&Kept {
        store: &store,
        task,
        patterns,
        owner: &owner,
    })
}

/// [`Kept::restore`] for run `run_id` of `task` in `repo`: what it took over, logging what failed.
pub fn restore_run(
    repo: &Repo,
    run_id: &str,
    task: &str,
    patterns: &[String],
    worktree: &Repository,
) -> Vec<String> {
    in_repo(repo, task, patterns, |kept| kept.restore(worktree)).unwrap_or_else(|e| {
        tracing::warn!(run = %run_id, "starting without the kept folders: {e}");
        Vec::new()
    })
}

/// [`Kept::stash`] for run `run_id` of `task` in `repo`, from its worktree as git recorded it (never
/// by following its `.git` file, which the agent could have rewritten).
pub fn stash_run(repo: &Repo, run_id: &str, task: &str, patterns: &[String]) {
    let worktree = repo
        .git2()
        .find_worktree(&super::worktree::worktree_name(run_id))
        .and_then(|w| Repository::open_from_worktree(&w));
    let stored = worktree.map_err(|e| e.to_string()).and_then(|worktree| {
        in_repo(repo, task, patterns, |kept| kept.stash(&worktree)).map_err(|e| e.to_string())
    });
    if let Err(e) = stored {
        tracing::warn!(run = %run_id, "the kept folders are not kept: {e}");
    }
}

/// [`stash_run`] for a run whose process died, with the patterns of its task's file as it is
/// now (none when the file is gone or does not parse).
pub fn stash_orphaned(repo: &Repo, run_id: &str, task: &str) {
    let files = repo.workdir().map(super::spec::load_each);
    if let Some(Ok(files)) = files
        && let Some(task) = files
            .tasks
            .iter()
            .find(|t| t.name == task && !t.keep.is_empty())
    {
        stash_run(repo, run_id, &task.name, &task.keep);
    }
}

/// Removes what `repo`'s store holds for `task` (its folders, and what ended runs of it left);
/// the folder removed, if there was one.
///
/// The spec has no command deleting a task (a task is its file); this is what
/// `gatehouse task forget` calls, for a task whose file is gone or whose folders went bad.
pub fn forget_task(repo: &Repo, task: &str) -> Result<Option<PathBuf>, KeepError> {
    // The name becomes a path in the store: `..` or `/` must not lead out of it.
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if task.is_empty() || !task.chars().all(valid) {
        return Err(KeepError::Name(task.to_string()));
    }
    in_repo(repo, task, &[], |kept| {
        Ok(kept.forget()?.then(|| kept.store.join(task)))
    })
}

/// The tasks `repo`'s store holds folders for.
pub fn stored_tasks(repo: &Repo) -> Vec<String> {
    let store = super::worktree::kept_root(repo);
    let Ok(entries) = std::fs::read_dir(&store) else {
        return Vec::new();
    };
    let mut tasks: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    tasks.sort();
    tasks
}

/// A task's folders in a store: what moves ([`Kept::patterns`]) and who owns leftovers.
pub struct Kept<'a> {
    pub store: &'a Path,
    pub task: &'a str,
    pub patterns: &'a [String],
    pub owner: &'a dyn Fn(&str) -> Owner,
}

impl Kept<'_> {
    /// Moves the stored folders into `worktree` (a fresh checkout); returns them,
    /// repository-relative. What the worktree has already, or does not ignore, is dropped.
    pub fn restore(&self, worktree: &Repository) -> Result<Vec<String>, KeepError> {
        let Some(dir) = worktree.workdir().filter(|_| self.store.is_dir()) else {
            return Ok(Vec::new());
        };
        self.locked(self.patterns, |kept, trash, _| {
            if std::fs::symlink_metadata(kept).is_err() {
                return Ok(Vec::new());
            }
            let mut moved = Vec::new();
            for rel in matches(kept, self.patterns) {
                if !carry(kept, dir, &rel)? {
                    continue;
                }
                if ignored(worktree, &rel) {
                    moved.push(text(&rel));
                } else {
                    // The new base tracks it or stopped ignoring it: a fresh install it is.
                    trash.paths.push(dir.join(&rel));
                }
            }
            trash.put(kept)?;
            Ok(moved)
        })
    }

    /// Moves `worktree`'s folders that git ignores into the store, replacing what it held;
    /// returns them, repository-relative.
    pub fn stash(&self, worktree: &Repository) -> Result<Vec<String>, KeepError> {
        let Some(dir) = worktree.workdir() else {
            return Ok(Vec::new());
        };
        let candidates: Vec<PathBuf> = matches(dir, self.patterns)
            .into_iter()
            .filter(|rel| real_dirs(dir, rel) && ignored(worktree, rel))
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        self.locked(self.patterns, |kept, trash, _| {
            if std::fs::symlink_metadata(kept).is_ok() {
                trash.put(kept)?;
            }
            private_dir(kept)?;
            let mut moved = Vec::new();
            for rel in candidates {
                if carry(dir, kept, &rel)? {
                    moved.push(text(&rel));
                }
            }
            Ok(moved)
        })
    }

    /// Removes the stored folders and what ended runs of the task left; whether there were any.
    pub fn forget(&self) -> Result<bool, KeepError> {
        if !self.store.is_dir() {
            return Ok(false);
        }
        // Without patterns a leftover adopts nothing: it goes whole.
        self.locked(&[], |kept, trash, leftovers| {
            let stored = std::fs::symlink_metadata(kept).is_ok();
            if stored {
                trash.put(kept)?;
            }
            Ok(stored || leftovers > 0)
        })
    }

    /// Runs `f` on the task's folder holding the store's lock, after [`tidy`] with `patterns`
    /// (`f` gets how many leftovers of the task it handled); then removes what they put aside.
    fn locked<T>(
        &self,
        patterns: &[String],
        f: impl FnOnce(&Path, &mut Trash<'_>, usize) -> Result<T, KeepError>,
    ) -> Result<T, KeepError> {
        let mut trash = Trash::new(self.store);
        let result = lock(self.store).and_then(|_lock| {
            let leftovers = tidy(self.store, self.task, patterns, self.owner, &mut trash)?;
            f(&self.store.join(self.task), &mut trash, leftovers)
        });
        trash.empty();
        result
    }
}

/// Under the lock: finishes what dead or failed moves left in the store. Removals that did not
/// end are done; a leftover of an ended run of `task` gives the task's folder what it lacks and
/// goes (the folder stored now came later or is whole, so it wins: a leftover may be half
/// moved); a leftover of an unknown run goes; those of live runs or other tasks stay. Returns
/// how many leftovers of `task` it handled.
fn tidy(
    store: &Path,
    task: &str,
    patterns: &[String],
    owner: &dyn Fn(&str) -> Owner,
    trash: &mut Trash<'_>,
) -> Result<usize, KeepError> {
    let Ok(entries) = std::fs::read_dir(store) else {
        return Ok(0);
    };
    let mut handled = 0;
    for name in entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
    {
        let path = store.join(&name);
        if name.starts_with(TRASH) {
            trash.paths.push(path);
        } else if name.starts_with(".old-") {
            trash.put(&path)?;
        } else if let Some(run) = name
            .strip_prefix(".claimed-")
            .or_else(|| name.strip_prefix(".stash-"))
        {
            match owner(run) {
                Owner::Ended(of) if of == task => {
                    adopt(store, task, &path, patterns)?;
                    trash.put(&path)?;
                    handled += 1;
                }
                Owner::Unknown => trash.put(&path)?,
                Owner::Live | Owner::Ended(_) => {}
            }
        }
    }
    Ok(handled)
}

/// Moves the folders of `leftover` matching `patterns` that the task's folder lacks into it.
fn adopt(store: &Path, task: &str, leftover: &Path, patterns: &[String]) -> Result<(), KeepError> {
    let found = matches(leftover, patterns);
    if found.is_empty() {
        return Ok(());
    }
    let kept = store.join(task);
    private_dir(&kept)?;
    for rel in found {
        carry(leftover, &kept, &rel)?;
    }
    Ok(())
}

/// The paths under `root` matching `patterns`, repository-relative, each once.
fn matches(root: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = patterns
        .iter()
        .flat_map(|p| super::setup::expand(root, &p.split('/').collect::<Vec<_>>()))
        .collect();
    found.sort();
    found.dedup();
    // A folder inside another kept one moves with it.
    let all = found.clone();
    found.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    found
}

fn ignored(worktree: &Repository, rel: &Path) -> bool {
    worktree.is_path_ignored(rel).unwrap_or(false)
}

fn text(rel: &Path) -> String {
    rel.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    use super::moves::LOCK;
    use super::*;

    /// A repository ignoring `.venv/` and `web/node_modules/`, with a commit.
    fn repo(dir: &Path) -> Repository {
        let repo = Repository::init(dir).unwrap();
        std::fs::write(dir.join(".gitignore"), ".venv/\nnode_modules/\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(".gitignore")).unwrap();
        {
            let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
            let sig = git2::Signature::now("t", "t@example.com").unwrap();
            repo.commit(Some("HEAD"), &sig, &sig, "base", &tree, &[])
                .unwrap();
        }
        repo
    }

    fn install(dir: &Path, rel: &str) {
        std::fs::create_dir_all(dir.join(rel)).unwrap();
        std::fs::write(dir.join(rel).join("installed"), rel).unwrap();
    }

    /// `N` temporary directories, and a store path in another.
    fn dirs<const N: usize>() -> ([tempfile::TempDir; N], tempfile::TempDir, PathBuf) {
        let base = tempfile::tempdir().unwrap();
        let store = base.path().join("kept");
        (
            std::array::from_fn(|_| tempfile::tempdir().unwrap()),
            base,
            store,
        )
    }

    fn kept<'a>(
        store: &'a Path,
        task: &'a str,
        patterns: &'a [String],
        owner: &'a dyn Fn(&str) -> Owner,
    ) -> Kept<'a> {
        Kept {
            store,
            task,
            patterns,
            owner,
        }
    }

    fn patterns(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    /// No leftovers of earlier versions: every run counts as ended, of task `t`.
    fn ended(_: &str) -> Owner {
        Owner::Ended("t".into())
    }

    /// The store's entries besides its lock.
    fn entries(store: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(store)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != LOCK)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn kept_folders_move_to_the_next_worktree_and_only_one_run_claims_them() {
        let ([a, b, c], _base, store) = dirs();
        let keep = patterns(&[".venv", "web/node_modules"]);
        let t = kept(&store, "t", &keep, &ended);
        let first = repo(a.path());
        install(a.path(), ".venv/lib");
        install(a.path(), "web/node_modules");
        std::fs::write(a.path().join("litter.txt"), "not kept").unwrap();
        let moved = t.stash(&first).unwrap();
        assert_eq!(moved, [".venv", "web/node_modules"]);
        assert!(!a.path().join(".venv").exists() && a.path().join("litter.txt").exists());
        let second = repo(b.path());
        let third = repo(c.path());
        let got = t.restore(&second).unwrap();
        assert_eq!(got, [".venv", "web/node_modules"]);
        assert!(b.path().join(".venv/lib/installed").is_file());
        assert!(b.path().join("web/node_modules/installed").is_file());
        assert!(!b.path().join("litter.txt").exists());
        // A run of the same task starting meanwhile finds nothing to share.
        assert!(t.restore(&third).unwrap().is_empty());
        assert!(!c.path().join(".venv").exists());
        assert!(entries(&store).is_empty(), "no leftovers");
    }

    #[test]
    fn symlinks_and_folders_git_does_not_ignore_are_never_carried() {
        let ([a, b, outside], _base, store) = dirs();
        let keep = patterns(&[".venv", "vendor", "web/*"]);
        let t = kept(&store, "t", &keep, &ended);
        let first = repo(a.path());
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), a.path().join(".venv")).unwrap();
        std::os::unix::fs::symlink(outside.path(), a.path().join("web")).unwrap();
        install(a.path(), "vendor");
        assert!(t.stash(&first).unwrap().is_empty());
        assert!(outside.path().join("secret").is_file(), "not moved through");
        assert!(
            a.path().join("vendor/installed").is_file(),
            "not ignored: stays"
        );
        // A stored folder the next base tracks a file in stays out of the way.
        std::fs::remove_file(a.path().join(".venv")).unwrap();
        install(a.path(), ".venv");
        assert_eq!(t.stash(&first).unwrap(), [".venv"]);
        let second = repo(b.path());
        std::fs::create_dir_all(b.path().join(".venv")).unwrap();
        std::fs::write(b.path().join(".venv/tracked"), "t").unwrap();
        assert!(t.restore(&second).unwrap().is_empty());
        assert!(!b.path().join(".venv/installed").exists());
        assert!(entries(&store).is_empty(), "dropped, not left over");
    }

    /// What a process of an earlier version killed mid-move left: its claim of the task's
    /// folders, its staging and the old folders it was replacing; and an unfinished removal.
    fn plant_leftovers(store: &Path) {
        install(store, ".claimed-r1/.venv");
        install(store, ".claimed-r1/web/node_modules");
        install(store, ".stash-r2/web/node_modules");
        install(store, ".old-r2/.venv");
        install(store, ".claimed-live/.venv");
        install(store, ".claimed-other/.venv");
        install(store, ".stash-gone/.venv");
        install(store, ".trash.1-0/.venv");
        std::fs::write(store.join(".claimed-r1/web/node_modules/installed"), "r1").unwrap();
    }

    fn owner(id: &str) -> Owner {
        match id {
            "r1" | "r2" => Owner::Ended("t".into()),
            "live" => Owner::Live,
            "other" => Owner::Ended("u".into()),
            _ => Owner::Unknown,
        }
    }

    #[test]
    fn leftovers_of_dead_moves_are_adopted_or_removed_and_those_of_live_runs_stay() {
        let ([a], _base, store) = dirs();
        let keep = patterns(&[".venv", "web/node_modules"]);
        plant_leftovers(&store);
        let worktree = repo(a.path());
        let got = kept(&store, "t", &keep, &owner).restore(&worktree).unwrap();
        assert_eq!(got, [".venv", "web/node_modules"]);
        assert_eq!(
            std::fs::read_to_string(a.path().join(".venv/installed")).unwrap(),
            ".claimed-r1/.venv"
        );
        // Two leftovers hold the folder: the first adopted stays (both may be half moved).
        assert!(a.path().join("web/node_modules/installed").is_file());
        assert_eq!(entries(&store), [".claimed-live", ".claimed-other"]);
        // Forgetting task u removes what its ended run left; the live run's stays.
        assert!(kept(&store, "u", &[], &owner).forget().unwrap());
        assert_eq!(entries(&store), [".claimed-live"]);
        assert!(
            !kept(&store, "u", &[], &owner).forget().unwrap(),
            "nothing left to forget"
        );
    }

    #[test]
    fn a_stash_replaces_the_stored_folders_and_forget_removes_them() {
        let ([a, b], _base, store) = dirs();
        let keep = patterns(&[".venv", "web/node_modules"]);
        let t = kept(&store, "t", &keep, &ended);
        let (first, second) = (repo(a.path()), repo(b.path()));
        install(a.path(), ".venv");
        install(a.path(), "web/node_modules");
        t.stash(&first).unwrap();
        install(b.path(), ".venv");
        std::fs::write(b.path().join(".venv/installed"), "newer").unwrap();
        assert_eq!(t.stash(&second).unwrap(), [".venv"]);
        assert_eq!(
            std::fs::read_to_string(store.join("t/.venv/installed")).unwrap(),
            "newer"
        );
        assert!(!store.join("t/web").exists(), "the whole set is replaced");
        assert!(kept(&store, "t", &[], &ended).forget().unwrap());
        assert!(entries(&store).is_empty());
    }

    #[test]
    fn a_move_waits_for_the_lock_another_holds() {
        let ([a], _base, store) = dirs();
        let keep = patterns(&[".venv"]);
        let t = kept(&store, "t", &keep, &ended);
        let first = repo(a.path());
        install(a.path(), ".venv");
        t.stash(&first).unwrap();
        let held = lock(&store).unwrap();
        let path = a.path().to_path_buf();
        let (store2, keep2) = (store.clone(), keep.clone());
        let waiting = std::thread::spawn(move || {
            let worktree = Repository::open(&path).unwrap();
            kept(&store2, "t", &keep2, &ended)
                .restore(&worktree)
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(!waiting.is_finished(), "it waits");
        assert!(store.join("t/.venv").is_dir(), "and moved nothing");
        drop(held);
        assert_eq!(waiting.join().unwrap(), [".venv"]);
    }

    /// Permissions do not bind root: run as a user, this test fails unless removals open up
    /// what an agent closed (`chmod 000`); as root it passes either way.
    #[test]
    fn folders_an_agent_made_unreadable_are_still_removed() {
        let ([a], _base, store) = dirs();
        let keep = patterns(&[".venv"]);
        let t = kept(&store, "t", &keep, &ended);
        let first = repo(a.path());
        install(a.path(), ".venv/locked/deep");
        let locked = a.path().join(".venv/locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        t.stash(&first).unwrap();
        assert!(kept(&store, "t", &[], &ended).forget().unwrap());
        assert!(entries(&store).is_empty(), "no trash stays behind");
    }

    /// An agent's process that outlived its run swaps `web` between a real directory and a
    /// symlink to a folder outside while the run's folders are stored: the check that `web` is
    /// real and the move must be one, or the folder outside is moved away.
    #[test]
    fn hostile_a_parent_swapped_for_a_symlink_mid_stash_never_moves_what_is_outside() {
        let ([a, outside], _base, store) = dirs();
        let keep = patterns(&["web/node_modules"]);
        let t = kept(&store, "t", &keep, &ended);
        let first = repo(a.path());
        install(outside.path(), "node_modules");
        let (web, real, link) = (
            a.path().join("web"),
            a.path().join("web.real"),
            a.path().join("web.link"),
        );
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::fs::create_dir_all(real.join("node_modules")).unwrap();
                    std::fs::rename(&real, &web).unwrap();
                    std::fs::rename(&web, &real).unwrap();
                    std::fs::rename(&link, &web).unwrap();
                    std::fs::rename(&web, &link).unwrap();
                }
            })
        };
        let victim = outside.path().join("node_modules/installed");
        let started = Instant::now();
        while victim.exists() && started.elapsed() < Duration::from_secs(3) {
            let _ = t.stash(&first);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        assert!(
            victim.is_file(),
            "the folder outside the worktree was moved"
        );
    }
}
