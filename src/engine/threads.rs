//! The checking threads: a pool whose stack fits the deepest walk a check may make, one git
//! handle per thread, and sorting findings on them.

use std::sync::{Mutex, OnceLock, PoisonError};

use rayon::prelude::*;

use super::EngineError;
use crate::checks::Finding;
use crate::git::Repo;
use crate::lang::CHECK_STACK_SIZE;

/// The threads that parse and check: their stack fits [`crate::lang::MAX_DEPTH`] levels of
/// recursion.
pub(super) fn pool() -> Result<&'static rayon::ThreadPool, EngineError> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("gatehouse-check-{i}"))
            .stack_size(CHECK_STACK_SIZE)
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| EngineError::Threads(e.clone()))
}

/// Sorts findings by path, line, column and rule, on the checking threads when they are many.
pub(super) fn sort(findings: &mut [Finding]) -> Result<(), EngineError> {
    let order = |a: &Finding, b: &Finding| {
        (&a.path, a.line, a.column, a.rule).cmp(&(&b.path, b.line, b.column, b.rule))
    };
    if findings.len() < 4096 {
        findings.sort_by(order);
    } else {
        pool()?.install(|| findings.par_sort_by(order));
    }
    Ok(())
}

/// One git handle per pool thread (a handle cannot be shared across threads).
pub(super) struct ThreadRepos {
    slots: Vec<Mutex<git2::Repository>>,
}

impl ThreadRepos {
    pub(super) fn new(repo: &Repo, threads: usize) -> Result<ThreadRepos, EngineError> {
        let slots = (0..threads.max(1))
            .map(|_| repo.reopen().map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(ThreadRepos { slots })
    }

    /// Runs `f` with this thread's handle.
    pub(super) fn with<T>(&self, f: impl FnOnce(&git2::Repository) -> T) -> T {
        let slot = rayon::current_thread_index()
            .and_then(|i| self.slots.get(i))
            .or_else(|| self.slots.first());
        match slot {
            Some(slot) => f(&slot.lock().unwrap_or_else(PoisonError::into_inner)),
            None => unreachable!("ThreadRepos::new opens at least one handle"),
        }
    }
}
