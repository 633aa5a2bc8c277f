//! `market/*`: agent packages from signed registries (The Update Framework).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams};

pub struct Search;
impl Method for Search {
    const NAME: &'static str = "market/search";
    const SUMMARY: &'static str = "Packages of the configured registries, ranked by text relevance (BM25), certification, rating and compatibility.";
    type Params = SearchParams;
    type Result = SearchResult;
}

pub struct Recommend;
impl Method for Recommend {
    const NAME: &'static str = "market/recommend";
    const SUMMARY: &'static str = "Packages for the open workspaces: matched to their languages and frameworks, and to what the installed agents do not cover yet.";
    type Params = RecommendParams;
    type Result = Recommendations;
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct RecommendParams {
    /// A workspace folder (path or file URI); default: every open one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Recommendations {
    /// What the recommendation went on: languages, frameworks, test set-up.
    pub context: Vec<String>,
    pub packages: Vec<Recommendation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    pub package: PackageSummary,
    /// Why, one line each ("matches rust", "adds security review, which no installed agent offers").
    pub reasons: Vec<String>,
}

pub struct Info;
impl Method for Info {
    const NAME: &'static str = "market/info";
    const SUMMARY: &'static str = "One package: its versions, what it may do, and whether it is installed.";
    type Params = PackageRef;
    type Result = PackageInfo;
}

pub struct Install;
impl Method for Install {
    const NAME: &'static str = "market/install";
    const SUMMARY: &'static str =
        "Verify, extract and activate a package version. Needs `accept_permissions` when the agent asks for any.";
    type Params = InstallParams;
    type Result = Installed;
}

pub struct Update;
impl Method for Update {
    const NAME: &'static str = "market/update";
    const SUMMARY: &'static str =
        "Install the newest compatible version of an installed package (the current one is kept for rollback).";
    type Params = InstallParams;
    type Result = Installed;
}

pub struct Remove;
impl Method for Remove {
    const NAME: &'static str = "market/remove";
    const SUMMARY: &'static str = "Remove an installed package and its kept versions.";
    type Params = PackageRef;
    type Result = Installed;
}

pub struct Rollback;
impl Method for Rollback {
    const NAME: &'static str = "market/rollback";
    const SUMMARY: &'static str = "Make the previously active version of a package active again.";
    type Params = PackageRef;
    type Result = Installed;
}

pub struct ListInstalled;
impl Method for ListInstalled {
    const NAME: &'static str = "market/installed";
    const SUMMARY: &'static str = "Installed packages, their active and kept versions.";
    type Params = NoParams;
    type Result = Vec<Installed>;
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SearchParams {
    #[serde(default)]
    pub query: String,
    /// Only this registry (by its name in the configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    pub packages: Vec<PackageSummary>,
    /// Registries that could not be refreshed (offline, expired metadata…), and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One version of a package, as its registry signed it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PackageSummary {
    pub name: String,
    pub version: String,
    pub registry: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialization: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// What the agent may do once installed, one line each.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// `free`, `paid`, `subscription`…
    #[serde(default)]
    pub pricing: String,
    #[serde(default)]
    pub publisher: String,
    /// The QA pipeline passed (`paired market check`).
    #[serde(default)]
    pub certified: bool,
    /// The certification record's level: `tested` (the package's own test
    /// cases passed), `validated` (its manifest and permissions checked),
    /// `failed` or `none`.
    #[serde(default)]
    pub certification: String,
    /// A registry maintainer reviewed this version.
    #[serde(default)]
    pub curated: bool,
    #[serde(default)]
    pub rating: Rating,
    #[serde(default)]
    pub downloads: u64,
    #[serde(default)]
    pub yanked: bool,
    /// Semver requirement on the daemon, e.g. `>=2.0.0-alpha`.
    #[serde(default)]
    pub daemon: String,
    /// Whether this daemon satisfies `daemon`.
    #[serde(default)]
    pub compatible: bool,
    /// Archive size in bytes.
    #[serde(default)]
    pub size: u64,
    /// The installed version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    /// Relevance score (search only).
    #[serde(default)]
    pub score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Rating {
    pub average: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PackageRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PackageInfo {
    /// The newest version this daemon can install (else the newest).
    pub latest: PackageSummary,
    /// Every version, newest first.
    pub versions: Vec<PackageSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<Installed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct InstallParams {
    pub name: String,
    /// Default: the newest compatible, non-yanked version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The user saw the package's permissions and grants them. Without it an
    /// agent that asks for any permission is refused with the list (error data).
    #[serde(default)]
    pub accept_permissions: bool,
    /// The permission lines the user was shown and accepted (from the consent
    /// error's data): if the version fetched now asks for others, it is asked
    /// again instead of installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// A licence token for a paid agent (else the one added with `paired
    /// market license add` is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
}

pub struct Usage;
impl Method for Usage {
    const NAME: &'static str = "market/usage";
    const SUMMARY: &'static str = "Runs per installed marketplace agent, for usage-based billing and revenue sharing.";
    type Params = NoParams;
    type Result = Vec<AgentUsage>;
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct AgentUsage {
    pub name: String,
    pub version: String,
    pub registry: String,
    pub publisher: String,
    pub pricing: String,
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Model tokens its runs used.
    pub tokens: u64,
    /// Milliseconds since the Unix epoch of its first and last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<u64>,
    /// The licence's holder and expiry (Unix seconds), for paid agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_expires: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Installed {
    pub name: String,
    /// The active version (empty after `market/remove`).
    pub version: String,
    pub registry: String,
    /// Versions kept for `market/rollback`, newest first.
    #[serde(default)]
    pub kept: Vec<String>,
    /// Folder of the active version.
    #[serde(default)]
    pub path: String,
    /// The permissions granted at install.
    #[serde(default)]
    pub permissions: Vec<String>,
}
