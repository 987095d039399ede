//! Finding and killing every process of one agent run, including those that left its process
//! group (`setsid`) or were orphaned.
//!
//! Three nets, because each alone has holes:
//! - the process group (`killpg`), which `setsid`/`setpgid` escape;
//! - the process tree under the agent, polled from `/proc` while it runs and remembered by
//!   (pid, start time). gatehouse makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`, a
//!   process-wide and harmless setting), so an orphaned descendant is reparented to gatehouse
//!   instead of init and stays findable — and must be reaped by us, which `reap` does for the
//!   pids of this run only (never `waitpid(-1)`, which would steal other children's statuses);
//! - a marker variable in the agent's environment (inherited by every descendant that does not
//!   scrub its environment), searched in `/proc/*/environ` at kill time, which catches
//!   descendants that detached before any poll saw them.

use std::collections::HashSet;

/// One process, identified across pid reuse by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Proc {
    pid: i32,
    start: u64,
}

/// The processes of one run.
pub struct Tree {
    root: i32,
    marker: Vec<u8>,
    known: HashSet<Proc>,
    /// Once the root is reaped its pid (= the group id) may be reused as soon as the group is
    /// empty, so the group is no longer addressed by number, only through known processes.
    root_reaped: bool,
}

/// Makes this process the reaper of its orphaned descendants (Linux; elsewhere a no-op).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: prctl with integer arguments only.
            unsafe {
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            }
        });
    }
}

impl Tree {
    /// `root` leads its own process group; `marker` is `NAME=value` as set in its environment.
    pub fn new(root: u32, marker: (&str, &str)) -> Self {
        let root = i32::try_from(root).unwrap_or(i32::MAX);
        Tree {
            root,
            marker: format!("{}={}", marker.0, marker.1).into_bytes(),
            known: HashSet::new(),
            root_reaped: false,
        }
    }

    /// The caller has waited for the root process.
    pub fn root_reaped(&mut self) {
        self.root_reaped = true;
    }

    /// Remembers the current descendants of the root (and of every process already known).
    pub fn poll(&mut self) {
        #[cfg(target_os = "linux")]
        {
            let table = linux::table();
            let mut parents: HashSet<i32> = self.known.iter().map(|p| p.pid).collect();
            parents.insert(self.root);
            // Walk down until no new child appears.
            loop {
                let before = self.known.len();
                for entry in &table {
                    let in_group = !self.root_reaped && entry.pgid == self.root;
                    if in_group || parents.contains(&entry.ppid) {
                        self.known.insert(entry.proc);
                        parents.insert(entry.proc.pid);
                    }
                }
                if self.known.len() == before {
                    break;
                }
            }
        }
    }

    /// Also remembers every process whose environment carries the run's marker.
    pub fn search_marker(&mut self) {
        #[cfg(target_os = "linux")]
        for entry in linux::table() {
            if entry.proc.pid != self.root && linux::has_marker(entry.proc.pid, &self.marker) {
                self.known.insert(entry.proc);
            }
        }
    }

    /// Sends `signal` to the process group and to every known process still alive.
    pub fn signal(&self, signal: i32) {
        if !self.root_reaped {
            // SAFETY: plain signal delivery; the unreaped root keeps the group id from reuse.
            unsafe {
                libc::kill(-self.root, signal);
            }
        }
        for proc in &self.known {
            if self.is_alive(*proc) {
                // SAFETY: the start time was just checked, so the pid is still that process.
                unsafe {
                    libc::kill(proc.pid, signal);
                }
            }
        }
    }

    /// Whether any known process (other than the root, which the caller waits for) still runs.
    pub fn any_alive(&self) -> bool {
        self.known
            .iter()
            .any(|p| p.pid != self.root && self.is_alive(*p))
    }

    /// Pids of known processes still running, for the log.
    pub fn alive_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .known
            .iter()
            .filter(|p| p.pid != self.root && self.is_alive(**p))
            .map(|p| p.pid)
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Reaps the zombies of this run that were reparented to us.
    pub fn reap(&self) {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: getpid has no preconditions.
            let me = unsafe { libc::getpid() };
            for proc in &self.known {
                if proc.pid == self.root {
                    continue;
                }
                if let Some(entry) = linux::stat(proc.pid)
                    && entry.proc == *proc
                    && entry.ppid == me
                    && entry.zombie
                {
                    let mut status = 0;
                    // SAFETY: waits for this one pid only, without blocking.
                    unsafe {
                        libc::waitpid(proc.pid, &raw mut status, libc::WNOHANG);
                    }
                }
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn is_alive(&self, proc: Proc) -> bool {
        linux::stat(proc.pid).is_some_and(|e| e.proc == proc && !e.zombie)
    }

    #[cfg(not(target_os = "linux"))]
    fn is_alive(&self, proc: Proc) -> bool {
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::kill(proc.pid, 0) == 0 }
    }
}

/// SIGKILLs every process whose environment has a variable starting with `prefix`.
pub fn kill_marked(prefix: &str) -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut killed = 0;
        for entry in linux::table() {
            let pid = entry.proc.pid;
            let marked = std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|var| var.starts_with(prefix.as_bytes()))
            });
            if marked && !entry.zombie && pid != std::process::id() as i32 {
                // SAFETY: sends a signal to a process found carrying the run marker.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                killed += 1;
            }
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = prefix;
        0
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Proc;

    pub struct Entry {
        pub proc: Proc,
        pub ppid: i32,
        pub pgid: i32,
        pub zombie: bool,
    }

    /// Every process in /proc.
    pub fn table() -> Vec<Entry> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(stat)
            .collect()
    }

    /// Parses /proc/PID/stat (fields after the parenthesised command name, which may contain
    /// spaces and parentheses itself).
    pub fn stat(pid: i32) -> Option<Entry> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
        // cutime cstime priority nice num_threads itrealvalue starttime
        Some(Entry {
            proc: Proc {
                pid,
                start: fields.get(19)?.parse().ok()?,
            },
            ppid: fields.get(1)?.parse().ok()?,
            pgid: fields.get(2)?.parse().ok()?,
            zombie: matches!(*fields.first()?, "Z" | "X"),
        })
    }

    pub fn has_marker(pid: i32, marker: &[u8]) -> bool {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == marker))
    }
}
