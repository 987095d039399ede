//! Hostile: daemon.
