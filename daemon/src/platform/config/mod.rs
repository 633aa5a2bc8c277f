//! Configuration: built-in defaults, then the user's `config.toml`, then the
//! project's `.paired/config.toml`, then `PAIRED_*` environment variables, each
//! overriding the one before.
//!
//! Every layer is checked on its own, so an error names the file (or variable), the
//! key and the line. Unknown keys are errors, not silently ignored.
//!
//! - `sections`: the keys, section by section, and their defaults.
//! - `provider`: a model provider's section (`[providers.NAME]`).
//! - `layers`: reading and merging the layers, errors blamed on the layer that set the key.
//! - `env`: the `PAIRED_*` variables (the environment's layer, [`Environment`]).
//! - `validate`: the rules serde cannot express.
//! - `live`: what a running daemon applies when the user's file changes.

mod env;
mod layers;
mod live;
mod provider;
mod sections;
mod validate;

pub use env::Environment;
pub use layers::{Loaded, Source, check_text, find_project_root, load, read_layer};
pub use live::{Live, Reload};
pub use provider::{ProviderConfig, ProviderKind};
pub use sections::{
    AgentsConfig, BRIDGE_1X_PORT, BridgeConfig, CompatConfig, CompletionApi, CompletionConfig, Config, ContextConfig,
    DEFAULT_PORT, DaemonConfig, LimitsConfig, LogConfig, MarketConfig, MarketPolicy, PERMISSION_KINDS, RegistryConfig,
    SandboxConfig, SandboxRequirement, ServerConfig,
};
pub use validate::{KeyError, validate};
