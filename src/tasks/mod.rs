//! Agent tasks: task files, the queue, scratch worktrees, running an agent, validating what it
//! did, and turning it into a review branch that a human accepts or rejects.

pub mod prompt;
pub mod queue;
pub mod run;
pub mod spec;
pub mod validate;
pub mod worktree;

pub use spec::{Accept, Task, Trigger};
