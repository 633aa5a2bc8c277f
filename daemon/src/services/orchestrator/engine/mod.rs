//! Running a session. The driver starts every step whose needs are met (so
//! independent steps run in parallel and a step with several needs joins
//! them), skips a step whose condition is false or whose need failed, repeats a
//! loop's steps until its condition holds or its rounds run out, and records
//! every result — step, board entry, conflict — as it happens.
//!
//! - `preflight`: what is checked before a session starts; who may take a step.
//! - `driver`: the DAG of steps, loops, and the session's outcome.
//! - `step`: one step — a merge, a run, or a fan-out over items.
//! - `attempts`: a run with retries, budgets, timeouts and re-assignment.
//! - `delegate`: the coordinator's plan of subtasks.
//! - `merge`: Alex's merge of the reports.
//! - `record`: what a step is given and leaves (records, board entries, prompts, conditions).
//!
//! Files use each other downwards only: `driver` → `step` → `attempts`,
//! `delegate`, `merge` → `record`, `preflight`.

mod attempts;
mod delegate;
mod driver;
mod merge;
mod preflight;
mod record;
mod step;

pub use driver::drive;
pub use preflight::preflight;
