//! Gating ref updates, as pre-push and pre-receive see them: which commits an update brings,
//! the findings on the lines they introduce (evaluated at the pushed tip), agent commits,
//! protected-branch deletions, and the approvals that cover review findings.

use git2::Oid;

use super::Verdict;
use super::approvals::Trust;
use super::approved::Cover;
use crate::checks::Finding;
use crate::config::{self, Level, Scope, Settings};
use crate::engine::{self, Request, Stats, Target};
use crate::git::{Known, NotesAt, Repo};

/// A gate policy finding that is not a check: pushing an agent's commit.
pub const AGENT_COMMIT: &str = "agent-commit";
/// A gate policy finding that is not a check: deleting a protected branch.
pub const PROTECTED_REF: &str = "protected-ref";

/// One ref update: `<local ref> <local sha> <remote ref> <remote sha>` as pre-push reads it.
#[derive(Debug, Clone)]
pub struct RefUpdate {
    pub local_ref: String,
    pub local: Oid,
    pub remote_ref: String,
    pub remote: Oid,
}

impl RefUpdate {
    /// Parses a pre-push stdin line.
    pub fn parse_pre_push(line: &str) -> Option<RefUpdate> {
        let mut words = line.split_whitespace();
        let local_ref = words.next()?.to_string();
        let local = Oid::from_str(words.next()?).ok()?;
        let remote_ref = words.next()?.to_string();
        let remote = Oid::from_str(words.next()?).ok()?;
        Some(RefUpdate {
            local_ref,
            local,
            remote_ref,
            remote,
        })
    }

    /// Parses a pre-receive stdin line: `<old> <new> <ref>`.
    pub fn parse_pre_receive(line: &str) -> Option<RefUpdate> {
        let mut words = line.split_whitespace();
        let remote = Oid::from_str(words.next()?).ok()?;
        let local = Oid::from_str(words.next()?).ok()?;
        let name = words.next()?.to_string();
        Some(RefUpdate {
            local_ref: name.clone(),
            local,
            remote_ref: name,
            remote,
        })
    }

    pub fn is_deletion(&self) -> bool {
        self.local.is_zero()
    }
}

/// What the gate found for one ref update.
#[derive(Debug)]
pub struct Gated {
    pub update: RefUpdate,
    /// How many commits the update brings.
    pub commits: usize,
    /// The commits the update brings (approvals of their changes cover their findings).
    pub brought: Vec<Oid>,
    /// Where their changes start (`None` with commits: a root, everything is new).
    pub base: Option<Oid>,
    pub files_checked: usize,
    /// How many paths the update's changes touch (deleted, links and skipped files included).
    pub files_changed: usize,
    /// Findings that count against the update.
    pub findings: Vec<Finding>,
    /// Review findings an approval covers.
    pub approved: Vec<Finding>,
    /// Why the update could not be evaluated (it is then blocked).
    pub error: Option<String>,
    /// Why the gate does not accept this ref update at all (it is then blocked).
    pub refused: Option<String>,
    /// For a notes ref: how many notes commits it brings (all checked to hold only notes).
    pub notes_commits: Option<usize>,
    /// Why approvals that cover a finding did not count.
    pub remarks: Vec<String>,
}

impl Gated {
    /// Nothing found yet.
    pub fn new(update: RefUpdate) -> Gated {
        Gated {
            update,
            commits: 0,
            brought: Vec::new(),
            base: None,
            files_checked: 0,
            files_changed: 0,
            findings: Vec::new(),
            approved: Vec::new(),
            error: None,
            refused: None,
            notes_commits: None,
            remarks: Vec::new(),
        }
    }

    /// Keeps what an evaluation counted; returns its findings.
    pub(crate) fn take(&mut self, (commits, base, stats, findings): Evaluation) -> Vec<Finding> {
        self.commits = commits.len();
        self.brought = commits;
        self.base = base;
        self.files_checked = stats.files_checked;
        self.files_changed = stats.files_changed;
        findings
    }

    pub fn verdict(&self) -> Verdict {
        if self.error.is_some() || self.refused.is_some() {
            Verdict::Block
        } else {
            Verdict::of(&self.findings)
        }
    }
}

/// What a push of `tip` brings, before approvals: (commits, base, the check's counts, findings).
pub type Evaluation = (Vec<Oid>, Option<Oid>, Stats, Vec<Finding>);

/// The findings a push of `tip` brings, before approvals: the commits no `known` ref has, and
/// the lines they introduce.
///
/// A line of the pushed tip is introduced only if it differs from every known version the new
/// commits grow from: the first-parent base and every other known parent of a new commit (the
/// other side of a `--no-ff` merge of upstream, see [`Repo::known_parents`]), as git's combined
/// diff of a merge shows it ([`Repo::credit_known`]). So merging upstream brings nothing of
/// upstream's, while what a new (unpushed) side brings, and what the merge commit itself adds
/// (an evil merge, a conflict resolution), is gated.
pub fn evaluate(
    repo: &Repo,
    settings: &Settings,
    tip: Oid,
    known: &Known,
) -> anyhow::Result<Evaluation> {
    let Some(tip) = repo.peel_to_commit(tip)? else {
        anyhow::bail!("{}", not_a_commit(repo, tip));
    };
    let commits = repo.new_commits(tip, known)?;
    if commits.is_empty() {
        return Ok((Vec::new(), None, Stats::default(), Vec::new()));
    }
    let base = repo.first_parent_base(tip, &commits)?;
    let also = repo.known_parents(&commits, base)?;
    evaluate_known(repo, settings, tip, &commits, base, &also)
}

/// Why a ref may not point at `id`: it is no commit (a tree, a blob, or a tag of one), so the
/// gate cannot tell what it brings.
pub(crate) fn not_a_commit(repo: &Repo, id: Oid) -> String {
    let kind = repo
        .git2()
        .find_object(id, None)
        .ok()
        .and_then(|o| o.peel(git2::ObjectType::Any).ok().or(Some(o)))
        .and_then(|o| o.kind())
        .map_or("an unknown object", |k| k.str());
    format!(
        "it points at {kind} {} (after peeling tags), not a commit: the gate checks what commits \
         bring, so it refuses a ref to a tree or a blob",
        &id.to_string()[..12]
    )
}

/// Whether a ref update is refused for what it points at: a ref to a tree or a blob (after
/// peeling annotated tags) is, unless the update deletes it.
pub(crate) fn refuse_non_commit(repo: &Repo, gated: &mut Gated) -> bool {
    if gated.update.is_deletion() {
        return false;
    }
    match repo.peel_to_commit(gated.update.local) {
        Ok(Some(_)) => false,
        Ok(None) => {
            gated.refused = Some(not_a_commit(repo, gated.update.local));
            true
        }
        Err(e) => {
            gated.error = Some(e.to_string());
            true
        }
    }
}

/// The findings on the lines `tip` has that `base` has not (everything, without a base), and
/// the agent commits among `commits`.
pub fn evaluate_from(
    repo: &Repo,
    settings: &Settings,
    tip: Oid,
    commits: &[Oid],
    base: Option<Oid>,
) -> anyhow::Result<Evaluation> {
    evaluate_known(repo, settings, tip, commits, base, &[])
}

/// Like [`evaluate_from`], as a combined diff with the `known` commits too: a line of `tip`
/// counts only if `base`'s version and every known commit's version of its file lack it, and a
/// file identical to a known commit's is not changed (see [`Repo::credit_known`]).
pub fn evaluate_known(
    repo: &Repo,
    settings: &Settings,
    tip: Oid,
    commits: &[Oid],
    base: Option<Oid>,
    known: &[Oid],
) -> anyhow::Result<Evaluation> {
    let target = if known.is_empty() {
        Target::Commits { base, tip }
    } else {
        Target::Brought {
            base,
            known: known.to_vec(),
            tip,
        }
    };
    let report = engine::run(repo, settings, &gate_request(settings, &target))?;
    let mut findings = report.findings;
    // A change cannot loosen its own gate: the configuration the base had counts too, and for
    // each finding the stricter level wins.
    let base_settings = base.and_then(|b| config::load_at(repo, b).ok());
    if let Some(base_settings) = base_settings.filter(|b| b.digest != settings.digest) {
        let strict = engine::run(repo, &base_settings, &gate_request(&base_settings, &target))?;
        merge_stricter(&mut findings, strict.findings);
    }
    if settings.agent_commits != Level::Off {
        for commit in commits {
            findings.extend(agent_commit_finding(repo, settings, *commit)?);
        }
    }
    Ok((commits.to_vec(), base, report.stats, findings))
}

fn gate_request(settings: &Settings, target: &Target) -> Request {
    Request {
        target: target.clone(),
        scope: settings.scope.unwrap_or(Scope::ChangedLines),
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    }
}

/// Adds `other` to `findings`; a finding both have keeps the stricter level.
fn merge_stricter(findings: &mut Vec<Finding>, other: Vec<Finding>) {
    let key = |f: &Finding| (f.rule, f.code.clone(), f.path.clone(), f.line, f.column);
    for finding in other {
        match findings.iter_mut().find(|f| key(f) == key(&finding)) {
            Some(existing) => existing.level = existing.level.max(finding.level),
            None => findings.push(finding),
        }
    }
    findings.retain(|f| f.level != Level::Off);
}

pub(crate) fn agent_commit_finding(
    repo: &Repo,
    settings: &Settings,
    commit: Oid,
) -> anyhow::Result<Option<Finding>> {
    let trailers = repo.trailers(commit)?;
    let value = |key: &str| {
        trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let Some(task) = value("Gatehouse-Task") else {
        return Ok(None);
    };
    let run = value("Gatehouse-Run").unwrap_or_else(|| "?".into());
    let short = &commit.to_string()[..12];
    Ok(Some(Finding {
        rule: AGENT_COMMIT,
        code: "unapproved".into(),
        level: settings.agent_commits,
        path: commit.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: format!("commit {short} was made by an agent (task {task}, run {run})"),
        symbol: Some(task),
        help: Some(
            "review it, then `gatehouse approve` the pushed tip (or `gatehouse review accept`)"
                .into(),
        ),
        owners: Vec::new(),
    }))
}

/// Gates one ref update.
pub fn gate_update(
    repo: &Repo,
    settings: &Settings,
    update: RefUpdate,
    known: &Known,
    notes: NotesAt<'_>,
) -> Gated {
    let mut gated = Gated::new(update);
    if refuse_non_commit(repo, &mut gated) {
        return gated;
    }
    let result = if gated.update.is_deletion() {
        Ok(deletion_finding(settings, &gated.update)
            .into_iter()
            .collect())
    } else {
        evaluate(repo, settings, gated.update.local, known).map(|e| gated.take(e))
    };
    settle(repo, gated, result, notes, Trust::Recorded)
}

/// Sorts the findings of an update into those that count and those approvals cover.
pub(crate) fn settle(
    repo: &Repo,
    mut gated: Gated,
    result: anyhow::Result<Vec<Finding>>,
    notes: NotesAt<'_>,
    trust: Trust<'_>,
) -> Gated {
    let findings = match result {
        Ok(findings) => findings,
        Err(e) => {
            gated.error = Some(crate::plain_error(e.as_ref()));
            return gated;
        }
    };
    // A deletion's approval sits on the commit the remote ref pointed at.
    let approved_on = if gated.update.is_deletion() {
        gated.update.remote
    } else {
        gated.update.local
    };
    let brought = gated.brought.clone();
    let mut cover = Cover::new(repo, notes, trust, vec![approved_on], brought);
    for finding in findings {
        let decision = match cover.decide(&finding) {
            Ok(decision) => decision,
            Err(e) => {
                gated.error = Some(format!("reading approvals: {e}"));
                return gated;
            }
        };
        if decision.covered {
            gated.approved.push(finding);
        } else {
            for why in decision.why_not {
                if !gated.remarks.contains(&why) {
                    gated.remarks.push(why);
                }
            }
            gated.findings.push(finding);
        }
    }
    gated
}

/// The finding a deletion brings: deleting a protected branch needs review.
pub(crate) fn deletion_finding(settings: &Settings, update: &RefUpdate) -> Option<Finding> {
    let branch = update.remote_ref.strip_prefix("refs/heads/")?;
    if !settings.protected_set.is_match_whole(branch) {
        return None;
    }
    Some(Finding {
        rule: PROTECTED_REF,
        code: "deleted".into(),
        level: Level::Review,
        path: update.remote_ref.clone(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: format!("deleting the protected branch `{branch}`"),
        symbol: Some(branch.to_string()),
        help: Some(format!(
            "if this is intended, approve the deletion with `gatehouse approve --delete {} {}`",
            update.remote_ref, update.remote
        )),
        owners: Vec::new(),
    })
}
