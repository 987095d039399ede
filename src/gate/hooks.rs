//! The hook entry points: pre-push, pre-merge-commit, pre-commit (while a merge is being
//! concluded) and post-merge (the server's pre-receive is in `receive`). Each prints a short
//! human report to stderr and returns the exit status git acts on.

use std::io::BufRead;
use std::path::Path;

use git2::Oid;

use super::Verdict;
use super::approvals::Trust;
use super::approved::Cover;
use super::notes_sync;
use super::push::{self, Gated, RefUpdate};
use super::refs::{self, Kind};
use crate::ExitStatus;
use crate::checks::Finding;
use crate::config::{NOTES_REF, PreCommit, Scope, Settings};
use crate::engine::{self, Request, Target};
use crate::git::{Known, MAX_KNOWN, NotesAt, Repo};
use crate::output::Human;

/// Reads the ref lines a hook gets on stdin; a hook run without stdin gets none.
pub fn read_lines(input: impl BufRead) -> Vec<String> {
    input
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// pre-push: gates every ref line; the commits are those no ref of `remote` has.
pub fn pre_push(repo: &Repo, settings: &Settings, remote: &str, lines: &[String]) -> ExitStatus {
    let known = if repo.is_remote(remote) {
        Known::Remote(remote.to_string())
    } else {
        Known::AllRemotes
    };
    // Teammates' approvals, as last fetched, count too (and the notes push stays a fast-forward).
    let _ = notes_sync::merge_fetched(repo, &repo_identity(repo));
    let mut results = Vec::new();
    for line in lines {
        let Some(update) = RefUpdate::parse_pre_push(line) else {
            // An error, not findings: exit 2, which fails the hook (closed) all the same.
            eprintln!("gatehouse: cannot read the pre-push line {line:?}; refusing the push");
            return ExitStatus::Error;
        };
        results.push(match Kind::of(&update.remote_ref) {
            Kind::Notes => refs::gate_notes(repo, update),
            Kind::Replace => refs::gate_replace(update),
            Kind::Code => {
                push::gate_update(repo, settings, update, &known, NotesAt::Ref(NOTES_REF))
            }
        });
    }
    let status = report_refs(repo, &format!("push to {remote}"), &results);
    let approved = results.iter().any(|g| !g.approved.is_empty());
    let pushing_notes = results.iter().any(|g| g.update.remote_ref == NOTES_REF);
    if status == ExitStatus::Success
        && approved
        && notes_sync::remote_has_approvals(repo, remote, pushing_notes) == Some(false)
    {
        eprintln!(
            "gatehouse: the approvals this push relies on may not be on {remote} yet; share them with `git push {remote} {NOTES_REF}`"
        );
    }
    status
}

/// Who merges fetched approvals: the repository's git identity, else gatehouse.
fn repo_identity(repo: &Repo) -> crate::git::Identity {
    let signature = repo.git2().signature().ok();
    let name = signature
        .as_ref()
        .and_then(|s| s.name().ok().map(str::to_string));
    let email = signature
        .as_ref()
        .and_then(|s| s.email().ok().map(str::to_string));
    crate::git::Identity {
        name: name.unwrap_or_else(|| "gatehouse".into()),
        email: email.unwrap_or_else(|| "gatehouse@localhost".into()),
    }
}

/// Prints what the gate found for each ref update; the exit status of the worst. A ref the gate
/// could not evaluate (an unknown object, an unreadable range) is an error, exit 2, over any
/// verdict of the others: the spec's code for errors, and a hook fails closed on it.
pub(super) fn report_refs(repo: &Repo, what: &str, results: &[Gated]) -> ExitStatus {
    let human = Human::for_stderr();
    let mut worst = Verdict::Pass;
    let mut failed = false;
    for gated in results {
        let name = &gated.update.remote_ref;
        if let Some(error) = &gated.error {
            eprintln!(
                "gatehouse: {name}: cannot compute what this {what} brings: {error}\ngatehouse: {name}: BLOCKED"
            );
            worst = Verdict::Block;
            failed = true;
            continue;
        }
        if let Some(why) = &gated.refused {
            eprintln!("gatehouse: {name}: REFUSED: {why}");
            worst = Verdict::Block;
            continue;
        }
        if gated.update.is_deletion() {
            eprintln!("gatehouse: {name}: deletion (nothing to check)");
        } else if let Some(count) = gated.notes_commits {
            eprintln!(
                "gatehouse: {name}: notes ({count} new notes commit{}, each holding only notes)",
                if count == 1 { "" } else { "s" }
            );
        } else if gated.commits == 0 && gated.base.is_none() {
            eprintln!("gatehouse: {name}: no new commits");
        } else {
            let base = gated.base.map_or("the empty tree".to_string(), |b| {
                b.to_string()[..12].to_string()
            });
            let (changed, checked) = files_changed(gated.files_changed, gated.files_checked);
            eprintln!(
                "gatehouse: {name}: {} new commit{}, {changed} since {base}{checked}",
                gated.commits,
                if gated.commits == 1 { "" } else { "s" },
            );
        }
        let tip = gated.update.local;
        let target = Target::Commits {
            base: gated.base,
            tip,
        };
        let mut sources = engine::Sources {
            repo,
            target: &target,
        };
        eprint!("{}", human.render_findings(&gated.findings, &mut sources));
        if !gated.approved.is_empty() {
            eprintln!(
                "gatehouse: {name}: {} review finding(s) covered by approvals",
                gated.approved.len()
            );
        }
        for remark in &gated.remarks {
            eprintln!("gatehouse: {name}: {remark}");
        }
        let verdict = gated.verdict();
        let approve = if gated.update.is_deletion() {
            format!("--delete {name} {}", short(gated.update.remote))
        } else {
            short(tip)
        };
        eprintln!(
            "gatehouse: {name}: {}",
            verdict_line(verdict, &gated.findings, &approve, "push again")
        );
        worst = worst.max(verdict);
    }
    if failed {
        return ExitStatus::Error;
    }
    worst.exit_status()
}

/// A commit's first 12 hex digits; nothing for the zero id.
fn short(id: Oid) -> String {
    if id.is_zero() {
        String::new()
    } else {
        id.to_string()[..12].to_string()
    }
}

/// The last line for one ref or merge; `approve` is what `gatehouse approve` needs to approve it,
/// `again` what to do then (`push again`, `merge again`).
fn verdict_line(verdict: Verdict, findings: &[Finding], approve: &str, again: &str) -> String {
    match verdict {
        Verdict::Pass => "passed".into(),
        Verdict::Warn => format!("passed with {} warning(s)", findings.len()),
        Verdict::Block => "BLOCKED: fix the findings above (or suppress one with a `gatehouse: ignore[rule]` comment)".into(),
        Verdict::Review => {
            let owners: Vec<&String> = findings.iter().flat_map(|f| &f.owners).collect();
            let who = if owners.is_empty() { String::new() } else { format!(" (by one of: {})", join(&owners)) };
            format!("HELD FOR REVIEW: after a human has reviewed it, run `gatehouse approve {approve}`{who} and {again}")
        }
    }
}

fn join(owners: &[&String]) -> String {
    let mut unique: Vec<&str> = owners.iter().map(|s| s.as_str()).collect();
    unique.sort_unstable();
    unique.dedup();
    unique.join(", ")
}

/// pre-merge-commit, and pre-commit while `MERGE_HEAD` exists: gates what the merge brings into
/// the current branch (the index against HEAD, and against the known sides: see
/// [`known_sides`]); approvals sit on the merged commit.
/// `reflog_action` is git's `GIT_REFLOG_ACTION`: during pre-merge-commit git has not written
/// `MERGE_HEAD` yet, and it names what is being merged (`merge feature`, `pull`).
pub fn merge_gate(
    repo: &Repo,
    settings: &Settings,
    hook: &str,
    reflog_action: Option<&str>,
) -> anyhow::Result<ExitStatus> {
    let mut merge_heads = read_merge_heads(repo.git_dir());
    if hook == "pre-merge-commit" {
        if merge_heads.is_empty() {
            merge_heads = merge_heads_from_action(repo, reflog_action.unwrap_or(""));
        }
        return staged_gate(repo, settings, "merge", &merge_heads);
    }
    if !merge_heads.is_empty() {
        return staged_gate(repo, settings, "merge", &merge_heads);
    }
    if settings.pre_commit == PreCommit::Always {
        return staged_gate(repo, settings, "commit", &[]);
    }
    Ok(ExitStatus::Success)
}

/// The commits `git merge A B` or `git pull` is merging, from git's reflog action.
fn merge_heads_from_action(repo: &Repo, action: &str) -> Vec<Oid> {
    let mut words = action.split_whitespace();
    match words.next() {
        Some("merge") => words
            .filter(|w| !w.starts_with('-'))
            .filter_map(|w| repo.resolve_commit(w).ok())
            .collect(),
        Some("pull") => std::fs::read_to_string(repo.git_dir().join("FETCH_HEAD"))
            .map(|text| {
                text.lines()
                    .filter(|l| !l.contains("not-for-merge"))
                    .filter_map(|l| {
                        l.split_whitespace()
                            .next()
                            .and_then(|id| Oid::from_str(id).ok())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn staged_gate(
    repo: &Repo,
    settings: &Settings,
    what: &str,
    merge_heads: &[Oid],
) -> anyhow::Result<ExitStatus> {
    let head = repo.git2().head().ok().and_then(|h| h.target());
    let known = known_sides(repo, merge_heads, head)?;
    let target = if known.is_empty() {
        Target::Staged
    } else {
        Target::StagedMerge { known }
    };
    let request = Request {
        target,
        scope: settings.scope.unwrap_or(Scope::ChangedLines),
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    };
    let report = engine::run(repo, settings, &request)?;
    let mut findings = report.findings;
    let mut merged_commits = Vec::new();
    for merged in merge_heads {
        let known: Vec<Oid> = head.into_iter().collect();
        for commit in new_commits_since(repo, *merged, &known)? {
            if !merged_commits.contains(&commit) {
                findings.extend(push::agent_commit_finding(repo, settings, commit)?);
                merged_commits.push(commit);
            }
        }
    }
    let (approved, findings) =
        split_approved(repo, findings, merge_heads.to_vec(), merged_commits)?;
    let mut sources = engine::Sources {
        repo,
        target: &Target::Staged,
    };
    let (changed, checked) = files_changed(report.stats.files_changed, report.stats.files_checked);
    eprintln!("gatehouse: {what}: {changed}{checked}");
    eprint!(
        "{}",
        Human::for_stderr().render_findings(&findings, &mut sources)
    );
    if !approved.is_empty() {
        eprintln!(
            "gatehouse: {what}: {} review finding(s) covered by approvals",
            approved.len()
        );
    }
    let verdict = Verdict::of(&findings);
    let tip = merge_heads.first().copied().unwrap_or(Oid::ZERO_SHA1);
    let again = if merge_heads.is_empty() {
        "commit again"
    } else {
        "merge again (or finish it with `git commit`)"
    };
    eprintln!(
        "gatehouse: {what}: {}",
        verdict_line(verdict, &findings, &short(tip), again)
    );
    Ok(verdict.exit_status())
}

/// The known versions a merge's sides grow from, as a push of each merged commit would see them
/// ([`push::evaluate`]): a merged commit that a remote-tracking ref reaches (merging upstream),
/// else the known parents of its commits that none reaches (a local branch started from
/// upstream). A line of the merge result counts only if it differs from HEAD's version and from
/// each of these (a combined diff); what an unpushed side brings, and a conflict resolution
/// that adds something, still count. HEAD itself is the base, not one of these.
fn known_sides(repo: &Repo, merge_heads: &[Oid], head: Option<Oid>) -> anyhow::Result<Vec<Oid>> {
    let mut known = Vec::new();
    if merge_heads.is_empty() || !repo.has_remote_refs()? {
        // Nothing is known without a remote-tracking ref: no need to walk the merged history.
        return Ok(known);
    }
    for merged in merge_heads {
        let new = repo.new_commits(*merged, &Known::AllRemotes)?;
        let sides = if new.is_empty() {
            vec![*merged]
        } else {
            repo.known_parents(&new, head)?
        };
        for side in sides {
            if Some(side) != head && !known.contains(&side) && known.len() < MAX_KNOWN {
                known.push(side);
            }
        }
    }
    Ok(known)
}

/// Splits `findings` into those approvals cover and those that count: approvals of the commits
/// that brought them, or older ones on `tips` as a whole.
fn split_approved(
    repo: &Repo,
    findings: Vec<Finding>,
    tips: Vec<Oid>,
    commits: Vec<Oid>,
) -> anyhow::Result<(Vec<Finding>, Vec<Finding>)> {
    let mut cover = Cover::new(
        repo,
        NotesAt::Ref(NOTES_REF),
        Trust::Recorded,
        tips,
        commits,
    );
    let mut approved = Vec::new();
    let mut counting = Vec::new();
    for finding in findings {
        if cover.decide(&finding)?.covered {
            approved.push(finding);
        } else {
            counting.push(finding);
        }
    }
    Ok((approved, counting))
}

fn new_commits_since(repo: &Repo, tip: Oid, known: &[Oid]) -> anyhow::Result<Vec<Oid>> {
    let mut walk = repo.git2().revwalk()?;
    walk.push(tip)?;
    for k in known {
        walk.hide(*k)?;
    }
    Ok(walk.collect::<Result<Vec<_>, _>>()?)
}

/// The commits being merged, from `MERGE_HEAD` (several for an octopus merge).
fn read_merge_heads(git_dir: &Path) -> Vec<Oid> {
    std::fs::read_to_string(git_dir.join("MERGE_HEAD"))
        .map(|text| {
            text.lines()
                .filter_map(|l| Oid::from_str(l.trim()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// post-merge: a fast-forward merge has no pre-merge hook, so report what it brought that no
/// approval covers. It cannot block; the pre-push gate catches the findings. A merge that made a
/// merge commit was gated by pre-merge-commit already: nothing to say.
pub fn post_merge(repo: &Repo, settings: &Settings) -> anyhow::Result<ExitStatus> {
    let orig = std::fs::read_to_string(repo.git_dir().join("ORIG_HEAD"))
        .ok()
        .and_then(|t| Oid::from_str(t.trim()).ok());
    let head = repo.git2().head().ok().and_then(|h| h.target());
    let (Some(orig), Some(head)) = (orig, head) else {
        return Ok(ExitStatus::Success);
    };
    if orig == head || made_merge_commit(repo, orig, head) {
        return Ok(ExitStatus::Success);
    }
    let target = Target::Commits {
        base: Some(orig),
        tip: head,
    };
    let request = Request {
        target: target.clone(),
        scope: settings.scope.unwrap_or(Scope::ChangedLines),
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    };
    let report = engine::run(repo, settings, &request)?;
    let commits = new_commits_since(repo, head, &[orig])?;
    let (_, findings) = split_approved(repo, report.findings, vec![head], commits)?;
    if !findings.is_empty() {
        let mut sources = engine::Sources {
            repo,
            target: &target,
        };
        eprintln!(
            "gatehouse: this fast-forward brought findings (git runs no hook that could refuse one; pushing it will be gated):"
        );
        eprint!(
            "{}",
            Human::for_stderr().render_findings(&findings, &mut sources)
        );
    }
    Ok(ExitStatus::Success)
}

/// Whether `head` is the merge commit a merge into `orig` just made (not a fast-forward).
fn made_merge_commit(repo: &Repo, orig: Oid, head: Oid) -> bool {
    repo.git2()
        .find_commit(head)
        .is_ok_and(|c| c.parent_count() > 1 && c.parent_id(0).ok() == Some(orig))
}

/// "N files changed" (the paths the changes touch), and " (M checked)" when not all of them
/// were (deleted files, links, binary and too-large files are not).
fn files_changed(changed: usize, checked: usize) -> (String, String) {
    let s = if changed == 1 { "" } else { "s" };
    let part = (changed != checked).then(|| format!(" ({checked} checked)"));
    (
        format!("{changed} file{s} changed"),
        part.unwrap_or_default(),
    )
}
