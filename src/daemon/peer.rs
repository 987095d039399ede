//! Who sent a request. A `stop` from a process of an agent run is refused: an agent could
//! otherwise end the daemon, and with it every other run, through the socket — Landlock before
//! ABI 9 does not govern connecting to a pathname socket, so the socket cannot be put out of a
//! confined agent's reach.
//!
//! A process belongs to a run when the daemon is among its ancestors (the daemon is the child
//! subreaper of its runs, so a descendant that double-forks or `setsid`s is reparented to it and
//! stays below it), or when it or an ancestor carries the run marker variable (runs of a
//! foreground `gatehouse task run`). What this does not see: a process the agent has something
//! outside its tree start for it (a `systemd-run --user`, a terminal multiplexer's server): that
//! is outside the sandbox altogether.

/// Why the peer `pid` counts as a process of an agent run, or `None` when it does not. A peer
/// whose process cannot be examined (it already exited) counts as one: a `stop` must come from a
/// process that is still there to read the answer.
pub fn run_process(pid: u32, daemon: u32) -> Option<String> {
    imp::run_process(pid, daemon)
}

#[cfg(target_os = "linux")]
mod imp {
    use crate::agents::RUN_MARKER_VAR;

    /// Deeper process trees than this are not followed (a chain that long is not a user's shell).
    const MAX_DEPTH: usize = 256;

    pub fn run_process(pid: u32, daemon: u32) -> Option<String> {
        if pid == 0 || pid == daemon {
            // In a pid namespace above ours (not one of our runs), or the daemon's own process.
            return None;
        }
        let mut current = pid;
        for _ in 0..MAX_DEPTH {
            if current == daemon {
                return Some(format!(
                    "pid {pid} was started by the daemon (an agent run or what it started)"
                ));
            }
            if current <= 1 {
                return None;
            }
            if carries_marker(current) {
                return Some(format!(
                    "pid {pid} belongs to an agent run (pid {current} has {RUN_MARKER_VAR})"
                ));
            }
            match parent(current) {
                Some(parent) => current = parent,
                None if current == pid => {
                    return Some(format!("pid {pid} cannot be examined (it has exited)"));
                }
                // An ancestor exited meanwhile: its children were reparented; look again.
                None => current = parent(pid)?,
            }
        }
        None
    }

    /// The parent pid from `/proc/<pid>/stat` (the field after the state, after the last `)`).
    fn parent(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        if state.starts_with(['Z', 'X']) {
            return None;
        }
        fields.next()?.parse().ok()
    }

    fn carries_marker(pid: u32) -> bool {
        let prefix = format!("{RUN_MARKER_VAR}=");
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|var| var.starts_with(prefix.as_bytes()))
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// Without `/proc` the ancestry is not examined; there is no Landlock confinement there
    /// either, so an agent is not kept off anything by the socket alone.
    pub fn run_process(_pid: u32, _daemon: u32) -> Option<String> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn descendants_and_marked_processes_are_run_processes() {
        let me = std::process::id();
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let why = run_process(child.id(), me).unwrap();
        assert!(why.contains("started by the daemon"), "{why}");
        let mut marked = std::process::Command::new("sleep")
            .arg("5")
            .env(crate::agents::RUN_MARKER_VAR, "1-x")
            .spawn()
            .unwrap();
        // Until it has exec'd, the child still has this process's environment.
        let started = std::time::Instant::now();
        let why = loop {
            match run_process(marked.id(), u32::MAX) {
                Some(why) => break why,
                None if started.elapsed().as_secs() < 5 => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                None => panic!("the marked process is not seen as a run's"),
            }
        };
        assert!(why.contains(crate::agents::RUN_MARKER_VAR), "{why}");
        assert!(run_process(me, u32::MAX).is_none(), "{me} is nobody's run");
        let mut child = child;
        for c in [&mut child, &mut marked] {
            let _ = c.kill();
            let _ = c.wait();
        }
        let gone = run_process(child.id(), u32::MAX).unwrap();
        assert!(gone.contains("cannot be examined"), "{gone}");
    }
}
