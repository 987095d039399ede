//! The process runner: starts the agent in its own process group, confined by Landlock, with an
//! allowlisted environment and the prompt on stdin; streams its output to the adapter and to the
//! bounded log; and kills its whole process tree at the timeout, on cancellation, and after it
//! exits (whatever it left running in the background).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::landlock::{Confinement, spawn_confined};
use super::log::BoundedLog;
use super::procs::{Tree, become_subreaper};
use super::{AgentError, CancelToken, Events, Limits, human};

/// The longest line handed to an adapter; longer lines are logged (cut) but not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;
/// How much of stdout is kept for adapters whose final message is the output's end.
const TAIL: usize = 8 * 1024;
/// How often the process tree is walked while the agent runs.
const POLL: Duration = Duration::from_millis(200);
/// How long output is still read after the agent and its descendants are gone.
const DRAIN: Duration = Duration::from_secs(2);

/// What to run.
pub struct Spec<'a> {
    pub agent: &'a str,
    pub program: PathBuf,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub env: Vec<(OsString, OsString)>,
    /// Written to stdin, which is then closed; `None`: stdin is /dev/null.
    pub stdin: Option<&'a [u8]>,
    pub log: &'a Path,
    pub timeout: Duration,
    pub writable: Vec<PathBuf>,
    /// Where it may read (files and directories beneath); everything else is hidden.
    pub readable: Vec<PathBuf>,
    /// `Off`: a network namespace of its own with no interface up.
    pub network: super::Network,
    /// The variable (name, value) that marks every process of this run.
    pub marker: (&'a str, &'a str),
    /// Stop the agent once the usage it reports goes over this.
    pub budget: super::Budget,
    pub price: Option<super::Price>,
}

/// How the process ended.
pub struct Finished {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    /// Why it was stopped for its budget, if it was.
    pub over_budget: Option<String>,
    pub confinement: Confinement,
    pub stdout_tail: String,
    /// The last few KB of stderr (agents such as gemini and aider say why they failed there).
    pub stderr_tail: String,
    pub duration: Duration,
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
    Closed,
}

/// Runs `spec` to its end, feeding stdout lines to `events`.
pub fn execute(
    spec: &Spec,
    events: &mut dyn Events,
    cancel: &CancelToken,
    limits: &Limits,
) -> Result<Finished, AgentError> {
    become_subreaper();
    let mut log = BoundedLog::create(spec.log, limits.log_cap)
        .map_err(|e| AgentError::io("create the agent log", spec.log, e))?;
    let mut command = Command::new(&spec.program);
    command
        .args(spec.args)
        .current_dir(spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (spawned, confinement, namespaced) =
        spawn_confined(&mut command, &spec.writable, &spec.readable, spec.network);
    log.note(&format!(
        "{} {}",
        spec.program.display(),
        shell_words(spec.args)
    ));
    log.note(&confinement.describe());
    log.note(if namespaced {
        "own PID namespace: everything the agent starts ends with it"
    } else {
        "no PID namespace (needs CAP_SYS_ADMIN): the process group, the subreaper and the run \
         marker end the agent's tree; a child that leaves all three can outlive the run"
    });
    let mut child = spawned.map_err(|source| AgentError::Spawn {
        agent: spec.agent.to_string(),
        program: spec.program.display().to_string(),
        source,
    })?;
    let started = Instant::now();
    if let (Some(stdin), Some(prompt)) = (child.stdin.take(), spec.stdin) {
        feed(stdin, prompt.to_vec());
    }
    let (sender, receiver) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        read_lines(out, sender.clone(), Chunk::Out);
    }
    if let Some(err) = child.stderr.take() {
        read_lines(err, sender.clone(), Chunk::Err);
    }
    drop(sender);

    let tree = Tree::new(child.id(), spec.marker);
    let mut run = Supervisor {
        spec,
        child,
        tree,
        log,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        open_streams: 2,
        over_budget: None,
    };
    let ended = run.supervise(&receiver, events, cancel, limits, started)?;
    let Supervisor {
        log,
        stdout_tail,
        stderr_tail,
        over_budget,
        ..
    } = run;
    if let Err(e) = log.finish() {
        tracing::warn!("agent log {}: {e}", spec.log.display());
    }
    Ok(Finished {
        exit_code: ended.status.code(),
        signal: ended.status.signal(),
        timed_out: ended.timed_out,
        cancelled: ended.cancelled,
        over_budget,
        confinement,
        stdout_tail,
        stderr_tail,
        duration: started.elapsed(),
    })
}

struct Ended {
    status: ExitStatus,
    timed_out: bool,
    cancelled: bool,
}

struct Supervisor<'a> {
    spec: &'a Spec<'a>,
    child: Child,
    tree: Tree,
    log: BoundedLog,
    stdout_tail: String,
    stderr_tail: String,
    open_streams: u32,
    over_budget: Option<String>,
}

impl Supervisor<'_> {
    fn supervise(
        &mut self,
        receiver: &Receiver<Chunk>,
        events: &mut dyn Events,
        cancel: &CancelToken,
        limits: &Limits,
        started: Instant,
    ) -> Result<Ended, AgentError> {
        let deadline = started + self.spec.timeout;
        let mut last_poll = started;
        let mut ended: Option<(Ended, Instant)> = None;
        loop {
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => {
                    self.handle(chunk, events);
                    while let Ok(chunk) = receiver.try_recv() {
                        self.handle(chunk, events);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.open_streams = 0,
            }
            if let Some((_, at)) = &ended {
                if self.open_streams > 0 && at.elapsed() > DRAIN {
                    self.log.note(
                        "output still open after the agent's processes ended; stopped reading",
                    );
                }
                if (self.open_streams == 0 || at.elapsed() > DRAIN)
                    && let Some((end, _)) = ended
                {
                    return Ok(end);
                }
                continue;
            }
            let now = Instant::now();
            if let Some(status) = self.try_wait()? {
                self.log.note(&format!("agent {}", describe(status)));
                self.kill_leftovers(limits);
                ended = Some((
                    Ended {
                        status,
                        timed_out: false,
                        cancelled: false,
                    },
                    Instant::now(),
                ));
            } else if self.over_budget.is_none()
                && let Some(reason) = self
                    .spec
                    .budget
                    .exceeded(&events.usage(), self.spec.price.as_ref())
            {
                self.log
                    .note(&format!("over budget ({reason}); stopping the agent"));
                self.over_budget = Some(reason);
                cancel.cancel();
            } else if now >= deadline || cancel.is_cancelled() {
                let timed_out = now >= deadline;
                self.log.note(&if timed_out {
                    format!(
                        "timed out after {}; killing the agent",
                        human(self.spec.timeout)
                    )
                } else {
                    "cancelled; killing the agent".to_string()
                });
                let status = self.kill_all(limits)?;
                ended = Some((
                    Ended {
                        status,
                        timed_out,
                        cancelled: !timed_out,
                    },
                    Instant::now(),
                ));
            } else if now.duration_since(last_poll) >= POLL {
                self.tree.poll();
                self.tree.reap();
                last_poll = now;
            }
        }
    }

    fn handle(&mut self, chunk: Chunk, events: &mut dyn Events) {
        match chunk {
            Chunk::Out(line) => {
                self.log.line(&line);
                if line.len() <= MAX_LINE {
                    let text = String::from_utf8_lossy(&line);
                    events.line(&text);
                    keep_tail(&mut self.stdout_tail, &text);
                }
            }
            Chunk::Err(line) => {
                self.log.line(&line);
                if line.len() <= MAX_LINE {
                    keep_tail(&mut self.stderr_tail, &String::from_utf8_lossy(&line));
                }
            }
            Chunk::Closed => self.open_streams = self.open_streams.saturating_sub(1),
        }
    }

    fn try_wait(&mut self) -> Result<Option<ExitStatus>, AgentError> {
        let status = self.child.try_wait().map_err(|source| AgentError::Wait {
            agent: self.spec.agent.to_string(),
            source,
        })?;
        if status.is_some() {
            self.tree.root_reaped();
        }
        Ok(status)
    }

    /// SIGTERM to the whole tree, SIGKILL after the grace period; returns the agent's status.
    fn kill_all(&mut self, limits: &Limits) -> Result<ExitStatus, AgentError> {
        self.tree.poll();
        self.tree.search_marker();
        self.tree.signal(libc::SIGTERM);
        let until = Instant::now() + limits.kill_grace;
        let mut status = None;
        while Instant::now() < until {
            if status.is_none() {
                status = self.try_wait()?;
            }
            self.tree.poll();
            if status.is_some() && !self.tree.any_alive() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_hard();
        let status = match status {
            Some(status) => status,
            None => {
                let status = self.child.wait().map_err(|source| AgentError::Wait {
                    agent: self.spec.agent.to_string(),
                    source,
                })?;
                self.tree.root_reaped();
                status
            }
        };
        Ok(status)
    }

    /// After a normal exit: whatever the agent left running goes too.
    fn kill_leftovers(&mut self, limits: &Limits) {
        self.tree.poll();
        self.tree.search_marker();
        if !self.tree.any_alive() {
            self.tree.reap();
            return;
        }
        self.log.note(&format!(
            "killing processes the agent left running: {:?}",
            self.tree.alive_pids()
        ));
        self.tree.signal(libc::SIGTERM);
        let until = Instant::now() + limits.kill_grace;
        while Instant::now() < until && self.tree.any_alive() {
            std::thread::sleep(Duration::from_millis(20));
            self.tree.poll();
        }
        self.kill_hard();
    }

    /// SIGKILL until nothing of the run is left (a few rounds, for processes forked meanwhile).
    fn kill_hard(&mut self) {
        for _ in 0..5 {
            self.tree.poll();
            self.tree.search_marker();
            self.tree.signal(libc::SIGKILL);
            std::thread::sleep(Duration::from_millis(20));
            self.tree.reap();
            if !self.tree.any_alive() {
                break;
            }
        }
        let left = self.tree.alive_pids();
        if !left.is_empty() {
            self.log
                .note(&format!("could not kill processes {left:?} of the agent"));
        }
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "ended".into(),
    }
}

/// Writes the prompt on a thread of its own (the agent may read it slowly, or never).
fn feed(mut stdin: ChildStdin, prompt: Vec<u8>) {
    std::thread::spawn(move || {
        // A broken pipe means the agent does not want the rest.
        let _ = stdin.write_all(&prompt);
    });
}

/// Forwards one stream line by line; lines longer than `MAX_LINE` are passed on in pieces.
fn read_lines<R: Read + Send + 'static>(
    stream: R,
    sender: Sender<Chunk>,
    wrap: fn(Vec<u8>) -> Chunk,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = Vec::new();
            match read_line_capped(&mut reader, &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if sender.send(wrap(line)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = sender.send(Chunk::Closed);
    });
}

/// `read_until(b'\n')` that stops after `MAX_LINE + 1` bytes.
fn read_line_capped(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let used = used.min(MAX_LINE + 1 - line.len().min(MAX_LINE));
        line.extend_from_slice(&buf[..used]);
        reader.consume(used);
        total += used;
        if done || line.len() > MAX_LINE {
            return Ok(total);
        }
    }
}

/// The arguments as one might type them, for the log (long ones shortened).
fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            let arg = if arg.chars().count() > 80 {
                format!("{}…", arg.chars().take(77).collect::<String>())
            } else {
                arg.clone()
            };
            if !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Appends `line` to `tail`, keeping roughly the last `TAIL` bytes.
fn keep_tail(tail: &mut String, line: &str) {
    tail.push_str(line);
    tail.push('\n');
    if tail.len() > 2 * TAIL {
        let mut cut = tail.len() - TAIL;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail.drain(..cut);
    }
}
