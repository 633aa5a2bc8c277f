//! What the daemon does, without a transport: each service takes the handles
//! it needs (not the whole daemon), speaks `protocol` types, and reports its
//! own errors; the server converts them at its edge.

pub mod analytics;
pub mod chat;
pub mod checks;
pub mod codebase;
pub mod completion;
pub mod documents;
pub mod events;
pub mod market;
pub mod orchestrator;
pub mod pinned;
pub mod provider;
pub mod roster;
pub mod runs;
pub mod scheduler;
pub mod team;
pub mod testgen;
pub mod workspace;
