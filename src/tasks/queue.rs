//! The queue: which tasks a commit or the clock triggers, which queued run may start, and the
//! recovery of runs a dead process left behind.

use std::time::Duration;

use super::spec::{Task, Trigger};
use super::worktree;
use crate::config::Settings;
use crate::git::Repo;
use crate::pathmatch::PatternSet;
use crate::store::runs::{Finish, Run, RunState};
use crate::store::{Store, StoreError};

/// What trusting a task vouches for: its file and the `[agents.NAME]` table it runs (a pulled
/// change to the agent's program, arguments, environment or writable paths needs trust again).
pub fn digest(task: &Task, settings: &Settings) -> String {
    let agent = format!("{:?}", settings.agents.get(&task.agent));
    crate::git::hash_blob(format!("{}\0{agent}", task.hash).as_bytes()).to_string()
}

/// Whether a task runs by itself: its file and agent are trusted as they are now.
pub fn is_trusted(store: &Store, task: &Task, settings: &Settings) -> Result<bool, StoreError> {
    Ok(store.trusted_hash(&task.name)?.as_deref() == Some(digest(task, settings).as_str()))
}

/// The keys of an `[agents.NAME]` table that reach past what a run is otherwise confined to:
/// `base_url` (the user's API key goes to that host; a loopback one stays on this machine),
/// `writable` and `readable` (widen Landlock: `writable = ["~"]`), `env` (passes named variables
/// of the user's environment, or sets any, e.g. a proxy or an endpoint), `program` as a path
/// for a known agent (an executable the repository chose gets the API key the real agent
/// keeps from the commands it runs; a bare name is looked up on the user's PATH), `args` of a
/// known agent (`-c model_provider=…` or `--settings` redirect it like
/// `base_url`; a `command` agent's argv is its own business), `provider`, `region` and
/// `profile` (the user's cloud credentials), and `price` (a lower price than the real one
/// would let runs past the budgets). Only `adapter`, `model`, `max_turns` and `network = "off"`
/// are taken from an untrusted table as they are.
pub fn widening_keys(agent: &crate::agents::AgentConfig) -> Vec<&'static str> {
    let mut keys = Vec::new();
    // A `command` agent gets no API key (only the environment allowlist and `env`), and its
    // program and argv are what it is: they reach nothing the confinement does not allow.
    let known_agent = agent.adapter != crate::agents::AdapterKind::Command;
    if known_agent && agent.program.as_deref().is_some_and(|p| p.contains('/')) {
        keys.push("program");
    }
    if known_agent && !agent.args.is_empty() {
        keys.push("args");
    }
    for (key, set) in [
        ("provider", agent.provider.is_some()),
        ("region", agent.region.is_some()),
        ("profile", agent.profile.is_some()),
        ("price", agent.price.is_some()),
    ] {
        if set {
            keys.push(key);
        }
    }
    if agent
        .base_url
        .as_deref()
        .is_some_and(|url| !is_loopback_url(url))
    {
        keys.push("base_url");
    }
    if !agent.writable.is_empty() {
        keys.push("writable");
    }
    if !agent.readable.is_empty() {
        keys.push("readable");
    }
    let env = match &agent.env {
        crate::agents::EnvSpec::Pass(names) => !names.is_empty(),
        crate::agents::EnvSpec::Set(vars) => !vars.is_empty(),
    };
    if env {
        keys.push("env");
    }
    keys
}

/// Whether `url`'s host is this machine: `localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a run of `task` started by hand (`task run`, `--here`, a requested change) must not
/// start: the task is not trusted and its agent's table, from the repository's own
/// `.gatehouse/config.toml`, sets keys of [`widening_keys`]. A cloned repository must not send
/// the user's API key to its own host, widen the sandbox or take secrets from the user's
/// environment before the user has read those settings; trusting vouches for them (the digest
/// covers the whole agent table, see [`digest`]). gatehouse has no configuration outside the
/// repository today, so every agent table counts as the repository's. `None`: it may start.
pub fn untrusted_widening(
    store: &Store,
    task: &Task,
    settings: &Settings,
) -> Result<Option<String>, StoreError> {
    let Some(agent) = settings.agents.get(&task.agent) else {
        return Ok(None);
    };
    let keys = widening_keys(agent);
    if keys.is_empty() || is_trusted(store, task, settings)? {
        return Ok(None);
    }
    Ok(Some(format!(
        "task {name} is not trusted, and [agents.{agent}] in .gatehouse/config.toml sets {keys}: \
settings that can send your API key to another host, let the agent read or write outside its \
worktree, or hand it variables of your environment. Nothing was run. Review them, then run \
`gatehouse task trust {name}`",
        name = task.name,
        agent = task.agent,
        keys = keys.join(", "),
    )))
}

/// The commit a run of `task` triggered at `commit` starts from: the tip of the task's `base`
/// branch when it names one (`None` when that branch does not exist), else `commit`.
pub fn start_commit(repo: &Repo, task: &Task, commit: &str) -> Option<String> {
    match &task.base {
        Some(branch) => repo
            .resolve_commit(&format!("refs/heads/{branch}"))
            .ok()
            .map(|c| c.to_string()),
        None => Some(commit.to_string()),
    }
}

/// Queues the trusted commit-triggered tasks that `changed` (paths a new commit on the current
/// branch touched) matches, based on the commit `base_of` gives (that commit, or the tip of the
/// task's `base` branch: see [`start_commit`]). Returns the new run ids.
pub fn on_commit(
    store: &mut Store,
    tasks: &[Task],
    settings: &Settings,
    changed: &[String],
    base_of: &dyn Fn(&Task) -> Option<String>,
) -> Result<Vec<String>, StoreError> {
    let mut queued = Vec::new();
    for task in tasks {
        let Trigger::Commit { paths } = &task.trigger else {
            continue;
        };
        let matches = paths.is_empty()
            || PatternSet::new(paths).is_ok_and(|set| changed.iter().any(|p| set.is_match(p)));
        if matches && is_trusted(store, task, settings)? {
            let Some(base) = base_of(task) else {
                continue;
            };
            let hash = digest(task, settings);
            queued.extend(store.enqueue(
                &task.name,
                &task.kind,
                &task.agent,
                "commit",
                &base,
                &hash,
            )?);
        }
    }
    Ok(queued)
}

/// Queues the trusted `every` tasks whose interval has passed since their last run, on the
/// commit `base_of` gives (HEAD, or the tip of the task's `base` branch).
pub fn on_clock(
    store: &mut Store,
    tasks: &[Task],
    settings: &Settings,
    base_of: &dyn Fn(&Task) -> Option<String>,
    now_secs: u64,
) -> Result<Vec<String>, StoreError> {
    let runs = store.runs(&[])?;
    let mut queued = Vec::new();
    for task in tasks {
        let Trigger::Every(interval) = task.trigger else {
            continue;
        };
        let last = runs
            .iter()
            .rev()
            .find(|r| r.task == task.name)
            .and_then(|r| secs(&r.queued_at));
        let due = last.is_none_or(|l| now_secs >= l + interval.as_secs());
        if due && is_trusted(store, task, settings)? {
            let Some(base) = base_of(task) else {
                continue;
            };
            let hash = digest(task, settings);
            queued.extend(store.enqueue(
                &task.name,
                &task.kind,
                &task.agent,
                "every",
                &base,
                &hash,
            )?);
        }
    }
    Ok(queued)
}

/// How long until the next trusted `every` task is due (for the scheduler's timer); `None`:
/// none is. A task whose last run was on the commit it would start from (`base_of`) waits for a
/// new commit (one run per base), and the wait is at least a second, so a due task that cannot
/// be queued never spins the loop.
pub fn next_due(
    store: &Store,
    tasks: &[Task],
    settings: &Settings,
    base_of: &dyn Fn(&Task) -> Option<String>,
    now_secs: u64,
) -> Option<Duration> {
    let runs = store.runs(&[]).ok()?;
    tasks
        .iter()
        .filter(|task| is_trusted(store, task, settings).unwrap_or(false))
        .filter_map(|task| {
            let Trigger::Every(interval) = task.trigger else {
                return None;
            };
            let last = runs.iter().rev().find(|r| r.task == task.name)?;
            if Some(&last.base) == base_of(task).as_ref() {
                return None;
            }
            let last = secs(&last.queued_at)?;
            Some(Duration::from_secs(
                (last + interval.as_secs()).saturating_sub(now_secs).max(1),
            ))
        })
        .min()
}

/// Seconds until the next UTC midnight, when a daily budget starts afresh.
pub fn until_midnight(now_secs: u64) -> Duration {
    Duration::from_secs(86_400 - now_secs % 86_400 + 1)
}

/// Why the queue is held, if it is: the daily budget is spent.
pub fn held(store: &Store, daily_budget_usd: Option<f64>) -> Result<Option<String>, StoreError> {
    let Some(budget) = daily_budget_usd else {
        return Ok(None);
    };
    let spent = store.spent_today()?;
    Ok((spent >= budget)
        .then(|| format!("today's runs cost ${spent:.2}, the daily budget is ${budget:.2}")))
}

/// Whether a run's trigger is automatic (a commit, the clock): those wait for quiet and run only
/// what was trusted. Hand-started runs (`task run`, `--here`, a reviewer's request for changes)
/// start at once.
pub fn is_automatic(trigger: &str) -> bool {
    !matches!(trigger, "manual" | "here" | "changes")
}

/// The next queued run that may start: fewer than `max_parallel` are working, its kind is not
/// paused, and, unless the repository is `quiet`, it was started by hand. Runs of a paused kind
/// stay queued.
pub fn next(store: &Store, max_parallel: usize, quiet: bool) -> Result<Option<Run>, StoreError> {
    let runs = store.runs(&[])?;
    if runs.iter().filter(|r| r.state.is_active()).count() >= max_parallel.max(1) {
        return Ok(None);
    }
    for run in runs.into_iter().filter(|r| r.state == RunState::Queued) {
        if (quiet || !is_automatic(&run.trigger)) && store.paused(&run.kind)?.is_none() {
            return Ok(Some(run));
        }
    }
    Ok(None)
}

/// Why queued run `id` has not started yet, in words (for whoever waits for it).
pub fn waiting_for(
    store: &Store,
    id: &str,
    max_parallel: usize,
    daily_budget_usd: Option<f64>,
) -> Result<String, StoreError> {
    let runs = store.runs(&[])?;
    let Some(run) = runs.iter().find(|r| r.id == id) else {
        return Ok("the run is gone".into());
    };
    if let Some(reason) = store.paused(&run.kind)? {
        return Ok(format!(
            "task kind {} is paused ({reason}): `gatehouse task resume {}`",
            run.kind, run.kind
        ));
    }
    if let Some(reason) = held(store, daily_budget_usd)? {
        return Ok(format!("the queue is held: {reason}"));
    }
    let active: Vec<&str> = runs
        .iter()
        .filter(|r| r.state.is_active())
        .map(|r| r.id.as_str())
        .collect();
    if active.len() >= max_parallel.max(1) {
        return Ok(format!(
            "{} already running ({}; [tasks] max_parallel = {max_parallel})",
            if active.len() == 1 {
                "a run is"
            } else {
                "runs are"
            },
            active.join(", ")
        ));
    }
    let ahead: Vec<&str> = runs
        .iter()
        .take_while(|r| r.id != id)
        .filter(|r| r.state == RunState::Queued && !is_automatic(&r.trigger))
        .map(|r| r.id.as_str())
        .collect();
    if !ahead.is_empty() {
        return Ok(format!("queued behind {}", ahead.join(", ")));
    }
    if is_automatic(&run.trigger) {
        return Ok("the repository is not quiet yet (automatic runs wait for quiet)".into());
    }
    Ok("the daemon has not taken it yet".into())
}

/// Whether process `pid` is alive (a zombie is not).
pub fn alive(pid: i64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    match stat {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with(['Z', 'X'])),
        // SAFETY: signal 0 only asks whether the process exists (platforms without /proc).
        Err(_) => i32::try_from(pid).is_ok_and(|p| p > 0 && unsafe { libc::kill(p, 0) } == 0),
    }
}

/// Every run left preparing, running or validating by a process that is gone (a daemon killed
/// with -9, a crashed `task run`) becomes `interrupted`; its worktree and branch are removed.
///
/// At the daemon's start (`at_start`) that includes runs recorded with this very pid (a pid
/// reused after a crash); later passes leave this process's own runs alone.
pub fn recover(store: &Store, repo: &Repo, at_start: bool) -> Result<Vec<String>, StoreError> {
    let mut recovered = Vec::new();
    for run in store.runs(&[RunState::Preparing, RunState::Running, RunState::Validating])? {
        let own = run.runner_pid == Some(i64::from(std::process::id()));
        if (own && !at_start) || (!own && run.runner_pid.is_some_and(alive)) {
            continue;
        }
        // Its agent (a process group of its own) outlived the runner: kill it and its children.
        if let Some(pid) = run
            .runner_pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|_| !own)
        {
            crate::agents::kill_leftovers(pid);
        }
        let finish = Finish {
            error: Some("interrupted: the process running it ended".into()),
            ..Finish::default()
        };
        // Its setup ended (it got past preparing): its kept folders are fit for the next run,
        // as a run that ends keeps them, rather than lost with the worktree.
        if run.state != RunState::Preparing {
            super::keep::stash_orphaned(repo, &run.id, &run.task);
        }
        // A follow-up round works on its review's branch: that stays, and the round before
        // it waits for a decision again.
        let _ = worktree::remove(
            repo.git2(),
            &worktree::root(repo),
            &run.task,
            &run.id,
            run.parent.is_some(),
        );
        store.finish(&run.id, RunState::Interrupted, &finish)?;
        if let Some(parent) = &run.parent {
            store.reopen(parent)?;
        }
        recovered.push(run.id);
    }
    if !at_start {
        return Ok(recovered);
    }
    // Worktree directories no run owns any more (a crash between creating and recording).
    let root = worktree::root(repo);
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let run = store.run(&id)?;
            if !run.as_ref().is_some_and(|r| r.state.is_active()) {
                let task = run.as_ref().map(|r| r.task.clone()).unwrap_or_default();
                let review = run
                    .as_ref()
                    .is_some_and(|r| r.state == RunState::Ready || r.parent.is_some());
                let _ = worktree::remove(repo.git2(), &root, &task, &id, review);
            }
        }
    }
    Ok(recovered)
}

/// Seconds since the epoch of an RFC 3339 time as the store writes it.
fn secs(time: &str) -> Option<u64> {
    crate::store::runs::seconds_between("1970-01-01T00:00:00Z", time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_table_may_set_only_what_reaches_nothing_further() {
        let keys = |table: &str| {
            let agent: crate::agents::AgentConfig = toml::from_str(table).unwrap();
            widening_keys(&agent)
        };
        let none: Vec<&str> = Vec::new();
        assert_eq!(
            keys(
                "adapter = \"codex\"\nmodel = \"m\"\nmax_turns = 3\nnetwork = \"off\"\nprogram = \"codex\"\nbase_url = \"http://127.0.0.1:8000/v1\""
            ),
            none
        );
        assert_eq!(
            keys("adapter = \"command\"\nprogram = \"./agent.py\"\nargs = [\"{prompt_file}\"]"),
            none,
            "a command agent's program and argv: it gets no API key"
        );
        assert_eq!(
            keys(
                "adapter = \"codex\"\nprogram = \"./tools/codex\"\nargs = [\"-c\", \"model_provider=x\"]\nprovider = \"amazon-bedrock\"\nregion = \"us-east-1\"\nprofile = \"p\"\nprice = { input = 0.0, output = 0.0 }"
            ),
            ["program", "args", "provider", "region", "profile", "price"]
        );
    }

    #[test]
    fn only_this_machine_is_a_loopback_endpoint() {
        for url in [
            "http://localhost:11434/v1",
            "http://127.0.0.1/v1",
            "https://127.1.2.3:8443",
            "http://[::1]:8080/v1",
            "http://LOCALHOST",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://collector.example/v1",
            "http://localhost.evil.example/v1",
            "http://127.0.0.1@evil.example/",
            "http://[::2]/",
            "http://10.0.0.1/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    fn task(name: &str, trigger: &str) -> Task {
        let text =
            format!("kind = \"k\"\ngoal = \"g\"\nscope = [\"a\"]\nagent = \"x\"\n{trigger}\n");
        super::super::spec::parse(&format!(".gatehouse/tasks/{name}.toml"), &text).unwrap()
    }

    #[test]
    fn only_trusted_tasks_matching_the_commit_are_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let settings = crate::config::defaults();
        let tasks = [
            task("api", "trigger = { on = \"commit\", paths = [\"api/**\"] }"),
            task("any", "trigger = { on = \"commit\" }"),
            task("hand", ""),
        ];
        let api = ["api/x.py".to_string()];
        let same = |_: &Task| Some("c1".to_string());
        let docs = ["docs/x.md".to_string()];
        assert!(
            on_commit(&mut store, &tasks, &settings, &api, &same)
                .unwrap()
                .is_empty(),
            "untrusted"
        );
        for t in &tasks {
            store.trust(&t.name, &digest(t, &settings), "me").unwrap();
        }
        assert_eq!(
            on_commit(&mut store, &tasks, &settings, &docs, &same)
                .unwrap()
                .len(),
            1
        );
        let again = on_commit(&mut store, &tasks, &settings, &api, &same).unwrap();
        assert_eq!(again.len(), 1, "`any` is already queued for c1");
        let edited = task(
            "api",
            "trigger = { on = \"commit\", paths = [\"api/**\", \"lib/\"] }",
        );
        assert!(
            !is_trusted(&store, &edited, &settings).unwrap(),
            "an edited file is untrusted again"
        );
        let text = "[agents.x]\nadapter = \"command\"\nprogram = \"/bin/true\"\n";
        let config = crate::config::ConfigText {
            file: "c".into(),
            text: text.into(),
        };
        let with_agent = crate::config::load(&[], Some(&config)).unwrap();
        assert!(
            !is_trusted(&store, &tasks[0], &with_agent).unwrap(),
            "a changed agent table is untrusted again"
        );
        assert!(
            next(&store, 1, false).unwrap().is_none(),
            "automatic runs wait for quiet"
        );
        let first = next(&store, 1, true).unwrap().unwrap();
        assert_eq!(first.task, "any");
        let hand = store
            .enqueue("hand", "k", "x", "manual", "c1", "h")
            .unwrap()
            .unwrap();
        assert_eq!(
            next(&store, 1, false).unwrap().map(|r| r.id),
            Some(hand.clone()),
            "a hand-started run does not wait for quiet"
        );
        assert!(
            waiting_for(&store, &first.id, 1, None)
                .unwrap()
                .contains("quiet")
        );
        assert!(
            waiting_for(&store, &hand, 1, None)
                .unwrap()
                .contains("daemon")
        );
        store.pause_kind("k", "test").unwrap();
        assert!(
            next(&store, 1, true).unwrap().is_none(),
            "a paused kind stays queued"
        );
        assert!(
            waiting_for(&store, &hand, 1, None)
                .unwrap()
                .contains("paused")
        );
    }

    #[test]
    fn the_daily_budget_holds_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(held(&store, Some(1.0)).unwrap(), None);
        let id = store
            .enqueue("t", "k", "a", "manual", "b", "h")
            .unwrap()
            .unwrap();
        store
            .transition(&id, RunState::Queued, RunState::Preparing)
            .unwrap();
        let finish = Finish {
            cost_usd: Some(1.25),
            ..Finish::default()
        };
        store.finish(&id, RunState::Ready, &finish).unwrap();
        assert!(
            held(&store, Some(1.0))
                .unwrap()
                .is_some_and(|r| r.contains("$1.25"))
        );
        assert_eq!(held(&store, Some(2.0)).unwrap(), None);
        assert_eq!(held(&store, None).unwrap(), None);
        assert_eq!(
            until_midnight(86_400 * 5 + 3600),
            Duration::from_secs(82_801)
        );
    }

    #[test]
    fn every_tasks_are_due_after_their_interval_and_never_spin() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let settings = crate::config::defaults();
        let tasks = [task("daily", "trigger = { every = \"24h\" }")];
        let at = |head: &'static str| move |_: &Task| Some(head.to_string());
        store
            .trust("daily", &digest(&tasks[0], &settings), "me")
            .unwrap();
        let now = secs(&crate::store::now()).unwrap();
        assert_eq!(
            on_clock(&mut store, &tasks, &settings, &at("h1"), now)
                .unwrap()
                .len(),
            1
        );
        assert!(
            on_clock(&mut store, &tasks, &settings, &at("h2"), now + 60)
                .unwrap()
                .is_empty()
        );
        let wait = next_due(&store, &tasks, &settings, &at("h2"), now + 60).unwrap();
        assert!(wait <= Duration::from_secs(86_400 - 60), "{wait:?}");
        // Due, but HEAD has not moved since the last run: only a commit can make it run again.
        assert_eq!(
            next_due(&store, &tasks, &settings, &at("h1"), now + 90_000),
            None
        );
        let overdue = next_due(&store, &tasks, &settings, &at("h2"), now + 90_000);
        assert_eq!(overdue, Some(Duration::from_secs(1)));
        assert_eq!(
            on_clock(&mut store, &tasks, &settings, &at("h3"), now + 86_401)
                .unwrap()
                .len(),
            1
        );
    }
}
