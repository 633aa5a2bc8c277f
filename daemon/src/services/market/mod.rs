//! The agent marketplace: registries any static host can serve, secured with
//! The Update Framework (`tough`), and installs the daemon verifies before
//! anything runs.
//!
//! A registry is a TUF repository: `metadata/` (root, targets, snapshot,
//! timestamp, each signed and expiring) and `targets/` (the packages, named by
//! their hash). Each package version is one target, `<name>-<version>.tgz`,
//! whose signed custom metadata ([`PackageMeta`]) says what the package is and
//! what it may do; the archive's own `agent.toml` must agree with it, so a
//! signed artifact of one package cannot be passed off as another.
//!
//! | module | what |
//! |---|---|
//! | `market` (crate) | archives, [`PackageMeta`], certification and the publisher side (`paired market init/pack/check/publish/yank/curate`), licence tokens |
//! | [`remote`] | reading registries: transport with tokens, TUF refresh, the cached index |
//! | [`store`] | installed packages on disk, atomic activation and rollback |
//! | [`search`] | BM25 ranking |
//! | [`service`] | the `market/*` methods |
//! | [`licence`] | licences for paid agents: issued by a registry, verified offline |
//! | [`generate`] | `agents/generate`: a generated agent, checked, installed or written as a package |

pub mod error;
pub mod generate;
pub mod licence;
pub mod policy;
pub mod remote;
pub mod search;
pub mod service;
pub mod store;
pub mod usage;

pub use market::{
    META_KEY, PackageMeta, SignedRating, archive, check_name, compatible, is_bidi_control, permission_lines, registry,
    shown, skeleton, target_name,
};
