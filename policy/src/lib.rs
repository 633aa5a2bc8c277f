//! A team's policy, sans IO (docs/team.md, "Policy"): `rules` (what a policy
//! says and how an action is decided: widest source first, deny wins) and
//! `signed` (the hub's Ed25519 signature over a member's policy, verified by
//! their daemon against the key it pinned when joining). The hub and the
//! daemon both use it, so they cannot disagree on what a rule means.

pub mod rules;
pub mod signed;

pub use rules::{Action, Decision, Rules, decide};
pub use signed::{Envelope, Policy, Source, VerifyError};
