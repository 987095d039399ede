//! Integration tests: the real `gatehouse` binary on real git repositories in temp dirs.

mod baseline;
mod check;
mod check_cli;
mod cli;
mod common;
mod config;
mod daemon;
mod engine;
mod hooks;
mod hostile;
mod imports;
mod imports_layouts;
mod managers;
mod merge_upstream;
mod online;
mod review_loop;
mod review_page;
mod sensitive;
mod sensitive_hooks_dir;
mod tasks;
mod tasks_keep;
