//! What a running daemon applies when the user's `config.toml` changes.

use anyhow::Result;

use super::sections::{Config, MarketConfig};

/// The configuration a running daemon applies when the user's `config.toml`
/// changes: the marketplace (`[market]`: registries, policy, limits). The rest
/// is fixed at start (ports, limits, providers, logging…): a change there is
/// logged as needing a restart and kept in `restart_needed`.
#[derive(Debug)]
pub struct Live {
    market: std::sync::RwLock<std::sync::Arc<MarketConfig>>,
    restart_needed: std::sync::Mutex<Vec<String>>,
}

impl Live {
    pub fn new(config: &Config) -> Live {
        Live {
            market: std::sync::RwLock::new(std::sync::Arc::new(config.market.clone())),
            restart_needed: std::sync::Mutex::default(),
        }
    }

    /// The marketplace configuration in force now.
    pub fn market(&self) -> std::sync::Arc<MarketConfig> {
        self.market.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sections of the file that changed since start and apply only after a restart.
    pub fn restart_needed(&self) -> Vec<String> {
        self.restart_needed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies a changed configuration (`loaded`: the user's file and the
    /// environment, as `paired daemon` reads them, or why it could not be
    /// read) against `started`, the one the daemon started with. A bad file
    /// changes nothing. Says what happened, one sentence, for the log.
    pub fn apply(&self, started: &Config, loaded: Result<Config>) -> Reload {
        let config = match loaded {
            Ok(config) => config,
            Err(err) => return Reload::Invalid(format!("{err:#}")),
        };
        let market_changed = {
            let mut market = self.market.write().unwrap_or_else(|p| p.into_inner());
            let changed = **market != config.market;
            if changed {
                *market = std::sync::Arc::new(config.market.clone());
            }
            changed
        };
        let restart = fixed_sections_changed(started, &config);
        *self.restart_needed.lock().unwrap_or_else(|p| p.into_inner()) = restart.clone();
        Reload::Applied { market_changed, restart_needed: restart }
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The file does not load: the configuration in force is kept.
    Invalid(String),
    Applied {
        market_changed: bool,
        /// Sections that differ from the running daemon's and need a restart.
        restart_needed: Vec<String>,
    },
}

/// The top-level sections other than `[market]` in which `new` differs from
/// `started`.
fn fixed_sections_changed(started: &Config, new: &Config) -> Vec<String> {
    let (Ok(toml::Value::Table(old)), Ok(toml::Value::Table(new))) =
        (toml::Value::try_from(started), toml::Value::try_from(new))
    else {
        return vec!["(the configuration could not be compared)".to_owned()];
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).filter(|k| *k != "market").collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| old.get(*k) != new.get(*k)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::config::RegistryConfig;

    /// Issue #15: a registry added to config.toml is used at once; a bad
    /// file keeps the configuration in force; other sections need a restart.
    #[test]
    fn the_market_section_reloads_and_the_rest_needs_a_restart() {
        let started = Config::default();
        let live = Live::new(&started);
        assert!(live.market().registries.is_empty());
        let mut changed = started.clone();
        changed.market.registries.push(RegistryConfig {
            name: "acme".into(),
            url: "https://agents.acme.example".into(),
            root: "/r.json".into(),
            token_env: None,
            team_device_token: false,
        });
        let outcome = live.apply(&started, Ok(changed.clone()));
        assert_eq!(outcome, Reload::Applied { market_changed: true, restart_needed: vec![] });
        assert_eq!(live.market().registries[0].name, "acme");
        let outcome = live.apply(&started, Err(anyhow::anyhow!("config.toml:2: key `market.x`: unknown field")));
        assert!(matches!(outcome, Reload::Invalid(why) if why.contains("unknown field")));
        assert_eq!(live.market().registries.len(), 1, "a bad file keeps what was in force");
        changed.limits.max_running = 3;
        changed.log.filter = "debug".into();
        let outcome = live.apply(&started, Ok(changed));
        assert_eq!(
            outcome,
            Reload::Applied { market_changed: false, restart_needed: vec!["limits".into(), "log".into()] }
        );
        assert_eq!(live.restart_needed(), ["limits", "log"]);
        live.apply(&started, Ok(started.clone()));
        assert!(live.restart_needed().is_empty() && live.market().registries.is_empty(), "reverted");
    }
}
