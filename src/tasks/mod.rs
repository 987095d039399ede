//! Agent tasks: task files, the queue, scratch worktrees, running an agent, validating what it
//! did, and turning it into a review branch that a human accepts or rejects.

pub mod spec;

pub use spec::{Accept, Task, Trigger};
