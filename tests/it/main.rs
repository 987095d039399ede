//! Integration tests: the real `gatehouse` binary on real git repositories in temp dirs.

mod check;
mod common;
mod config;
mod daemon;
mod hooks;
mod hostile;
mod imports;
mod sensitive;
mod tasks;
