//! Agent tasks: task files, the queue, scratch worktrees, running an agent, validating what it
//! did, and turning it into a review branch that a human accepts or rejects.

pub mod acceptance;
pub mod audit;
pub mod commands;
pub mod keep;
mod merge;
pub mod prompt;
pub mod queue;
pub mod review;
pub mod run;
pub mod setup;
pub mod spec;
pub mod validate;
pub mod worktree;

pub use spec::{Accept, Setup, Task, Trigger};
