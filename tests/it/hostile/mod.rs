//! The hostile suite: each test is one attack on a trust boundary (a hostile agent inside a run,
//! a hostile repository, a hostile pusher to a server) that once got through, and must not again.
//! README "Security model" lists the classes and the test that covers each.

mod agent_files;
mod checks;
mod daemon;
mod manager_files;
mod page;
mod sandbox;
mod server;
mod tag_objects;
