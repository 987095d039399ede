//! Any command: `program` and `args` with `{prompt_file}`, `{worktree}` and `{run_dir}` replaced;
//! the prompt also on stdin. Success is exit 0; no usage is known.

use super::config::AgentConfig;
use super::{End, Events, Invocation, PROMPT_FILE, Report, tail_text};
use crate::agents::Usage;

pub struct Command;

impl super::Adapter for Command {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
        let prompt_file = inv.run_dir.join(PROMPT_FILE).display().to_string();
        let worktree = inv.worktree.display().to_string();
        let run_dir = inv.run_dir.display().to_string();
        let args = config
            .args
            .iter()
            .map(|arg| {
                arg.replace("{prompt_file}", &prompt_file)
                    .replace("{worktree}", &worktree)
                    .replace("{run_dir}", &run_dir)
            })
            .collect();
        (config.program_name().unwrap_or_default().to_string(), args)
    }

    fn events(&self, _config: &AgentConfig, _inv: &Invocation) -> Box<dyn Events> {
        Box::new(CommandEvents)
    }
}

struct CommandEvents;

impl Events for CommandEvents {
    fn line(&mut self, _line: &str) {}

    fn finish(self: Box<Self>, end: &End) -> Report {
        let error = (end.exit_code != Some(0)).then(|| format!("the command {}", end.describe()));
        Report {
            success: error.is_none(),
            error,
            usage: Usage::default(),
            final_message: tail_text(end.stdout_tail, 2000),
        }
    }
}
