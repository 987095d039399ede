//! Integration tests: the real `gatehouse` binary on real git repositories in temp dirs.

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
mod online;
mod review_loop;
mod review_page;
mod sensitive;
mod tasks;
mod tasks_keep;
