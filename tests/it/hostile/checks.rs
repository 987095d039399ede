//! Hostile: checks.
