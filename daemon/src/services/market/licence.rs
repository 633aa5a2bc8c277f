//! Licences on this machine: the tokens a user added and the licensing keys
//! kept with each installed paid agent, checked before every run. The token
//! format, issuing and verifying are the `market` crate's ([`market::licence`]).

pub use market::licence::*;

/// Where this user's licence tokens and the keys that verify them are kept.
fn dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("market/licences")
}

pub fn save_token(data_dir: &std::path::Path, agent: &str, token: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir(data_dir))?;
    crate::platform::paths::write_private(&dir(data_dir).join(format!("{agent}.token")), token.trim().as_bytes())
        .map_err(|e| std::io::Error::other(format!("{e:#}")))
}

pub fn token(data_dir: &std::path::Path, agent: &str) -> Option<String> {
    std::fs::read_to_string(dir(data_dir).join(format!("{agent}.token"))).ok().map(|t| t.trim().to_owned())
}

/// Keeps the registry's licensing keys with an installed paid agent, so its
/// licence is verified offline before each run.
pub fn save_keys(data_dir: &std::path::Path, agent: &str, keys: &LicensingKeys) -> std::io::Result<()> {
    std::fs::create_dir_all(dir(data_dir))?;
    std::fs::write(dir(data_dir).join(format!("{agent}.keys.json")), serde_json::to_vec(keys)?)
}

/// Before a run of an installed paid agent: the user's licence, verified now.
pub fn check_run(data_dir: &std::path::Path, agent: &str, licensee: Option<&str>) -> Result<Licence, String> {
    let keys: LicensingKeys = std::fs::read(dir(data_dir).join(format!("{agent}.keys.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            format!("{agent} is a paid agent and its registry's licensing keys are missing: reinstall it")
        })?;
    let token = token(data_dir, agent).ok_or_else(|| {
        format!("{agent} is a paid agent with no licence: add one with `paired market license add {agent} TOKEN`")
    })?;
    let licensee = licensee.ok_or_else(|| {
        format!("{agent} is a paid agent: set market.licensee in config.toml to the identity its licence names")
    })?;
    verify(&token, &keys, agent, licensee, crate::platform::clock::expiry_now())
        .map_err(|why| format!("{agent} cannot run: {why}"))
}

/// Whether an agent may run: agents installed from a marketplace as paid
/// need a valid licence; every other agent may.
pub fn may_run(
    data_dir: &std::path::Path,
    source: &str,
    manifest: &protocol::agents::AgentManifest,
    licensee: Option<&str>,
) -> Result<(), String> {
    let store = super::store::Store::new(data_dir);
    let installed = std::path::Path::new(source).starts_with(store.root());
    if installed && manifest.pricing.kind == protocol::agents::PricingKind::Paid {
        check_run(data_dir, &manifest.id, licensee)?;
    }
    Ok(())
}
