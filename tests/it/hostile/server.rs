//! Hostile: server.
