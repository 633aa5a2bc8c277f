//! The version of a tool a project pins. A linter's rules change between
//! releases (ruff 0.8 sorts `__slots__` another way than 0.5), so findings
//! of another version than the project's are findings its own runs never
//! see: the daemon runs the pinned one (see `daemon::services::pinned`).

use super::Project;

/// A version a project pins, and where it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// An exact version: `0.5.5`.
    pub version: String,
    /// `.pre-commit-config.yaml`, `pyproject.toml [tool.ruff] required-version`…
    pub evidence: String,
}

/// The ruff the project pins, exactly: ruff's own `required-version`
/// (`"0.5.5"` or `"==0.5.5"`; a range is not a pin), then pre-commit's
/// `rev` of ruff's hook, then `ruff==X` in its requirements or dependency
/// lists, then the version its lock file (uv, Poetry, PDM) holds.
pub fn ruff(project: &dyn Project) -> Option<Pin> {
    // ruff's own order: the first of these that exists is its settings.
    let settings = [(".ruff.toml", None), ("ruff.toml", None), ("pyproject.toml", Some("[tool.ruff]"))];
    if let Some((file, section)) = settings.into_iter().find(|(file, section)| {
        project.read(file).is_some_and(|text| section.is_none_or(|section| text.lines().any(|l| l.trim() == section)))
    }) {
        let text = project.read(file).unwrap_or_default();
        if let Some(version) = required_version(&text, section) {
            let evidence = match section {
                Some(section) => format!("{file} {section} required-version"),
                None => format!("{file} required-version"),
            };
            return Some(Pin { version, evidence });
        }
    }
    for file in [".pre-commit-config.yaml", ".pre-commit-config.yml"] {
        let Some(text) = project.read(file) else { continue };
        if let Some(version) = pre_commit_rev(
            &text,
            &["astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit"],
            &["ruff", "ruff-check"],
        ) {
            return Some(Pin { version, evidence: file.to_owned() });
        }
    }
    for file in
        ["requirements-dev.txt", "dev-requirements.txt", "requirements/dev.txt", "requirements.txt", "pyproject.toml"]
    {
        let Some(text) = project.read(file) else { continue };
        if let Some(version) = requirement_pin(&text, "ruff") {
            let evidence = format!("{file} ruff=={version}");
            return Some(Pin { version, evidence });
        }
    }
    // What the project's locked development environment runs (`uv run ruff`,
    // `poetry run ruff`, `pdm run ruff`).
    for file in ["uv.lock", "poetry.lock", "pdm.lock"] {
        let Some(text) = project.read(file) else { continue };
        if let Some(version) = locked(&text, "ruff") {
            return Some(Pin { version, evidence: file.to_owned() });
        }
    }
    None
}

/// The version of package `name` in a lock file of `[[package]]` tables
/// with `name` and `version` (uv's, Poetry's, PDM's).
fn locked(text: &str, name: &str) -> Option<String> {
    let lock: toml::Table = toml::from_str(text).ok()?;
    let packages = lock.get("package")?.as_array()?;
    let package = packages.iter().find(|p| p.get("name").and_then(toml::Value::as_str) == Some(name))?;
    plain_version(package.get("version")?.as_str()?)
}

/// A version that is safe in a URL and a folder name: digits and dots
/// first, then letters, digits, dots (`0.5.5`, `0.1.0rc1`); `v` dropped.
fn plain_version(text: &str) -> Option<String> {
    let version = text.trim().trim_matches(|c| c == '"' || c == '\'').trim_start_matches('v');
    let ok = version.len() <= 32
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.contains('.')
        && !version.contains("..")
        && version.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    ok.then(|| version.to_owned())
}

/// `required-version = "0.5.5"` (or `"==0.5.5"`) at the top of a file
/// (`section` None) or in `section` itself (not its sub-tables, where ruff
/// does not read it).
fn required_version(text: &str, section: Option<&str>) -> Option<String> {
    let mut inside = section.is_none();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = section.is_some_and(|s| line == s);
            continue;
        }
        let Some(value) = line.strip_prefix("required-version").map(str::trim_start) else { continue };
        let Some(value) = value.strip_prefix('=') else { continue };
        if !inside {
            continue;
        }
        let value = value.split('#').next().unwrap_or("").trim().trim_matches(|c| c == '"' || c == '\'');
        return plain_version(value.strip_prefix("==").unwrap_or(value));
    }
    None
}

/// The `rev:` of the first of `repos` in a pre-commit config whose hooks
/// include one of `hooks` (ruff's linter, not only its formatter), read line
/// by line as pre-commit's own files are written (`- repo: URL`, `rev: v0.5.5`,
/// `hooks:` with `- id: ruff`).
fn pre_commit_rev(text: &str, repos: &[&str], hooks: &[&str]) -> Option<String> {
    let (mut in_repo, mut rev, mut hooked) = (false, None, false);
    for line in text.lines().chain(["- repo: end"]) {
        let item = line.trim_start().trim_start_matches('-').trim_start();
        let value = |v: &str| v.split('#').next().unwrap_or("").trim().trim_matches(['"', '\'']).to_owned();
        if let Some(url) = item.strip_prefix("repo:") {
            if in_repo && hooked && rev.is_some() {
                return rev;
            }
            let url = value(url);
            let url = url.trim_end_matches('/').trim_end_matches(".git");
            (in_repo, rev, hooked) = (repos.iter().any(|r| url.ends_with(&format!("/{r}"))), None, false);
        } else if in_repo && let Some(found) = item.strip_prefix("rev:") {
            // `pre-commit autoupdate --freeze` pins a commit and says which
            // tag it is: `rev: 24e02b24…  # frozen: v0.11.9`.
            let (found, comment) = found.split_once('#').unwrap_or((found, ""));
            rev = plain_version(comment.trim().strip_prefix("frozen:").unwrap_or(found));
        } else if in_repo && let Some(id) = item.strip_prefix("id:") {
            hooked |= hooks.contains(&value(id).as_str());
        }
    }
    None
}

/// `name==1.2.3` in a requirements file or a dependency list (`"ruff==0.5.5",`,
/// `dev = ["ruff == 0.5.5"]`), not `ruff>=…` nor another package whose name
/// ends in it (`flake8-ruff==…`).
fn requirement_pin(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        line.match_indices(name).find_map(|(at, _)| {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| !(c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ','))) {
                return None;
            }
            let version = line[at + name.len()..].trim_start().strip_prefix("==")?.trim_start();
            let end = version.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(version.len());
            plain_version(&version[..end])
        })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Files(HashMap<&'static str, &'static str>);

    impl Project for Files {
        fn has(&self, path: &str) -> bool {
            self.0.contains_key(path)
        }
        fn read(&self, path: &str) -> Option<String> {
            self.0.get(path).map(|t| (*t).to_owned())
        }
        fn installed(&self, _: &str) -> bool {
            true
        }
    }

    fn pin(files: &[(&'static str, &'static str)]) -> Option<(String, String)> {
        ruff(&Files(files.iter().copied().collect())).map(|p| (p.version, p.evidence))
    }

    #[test]
    fn pre_commits_rev_of_ruffs_hook_is_the_pin() {
        // attrs' config of 2024-08, abridged: black's rev comes first.
        let config = "repos:\n  - repo: https://github.com/psf/black\n    rev: 24.4.2\n    hooks:\n      - id: black\n\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.5.5\n    hooks:\n      - id: ruff\n";
        assert_eq!(
            pin(&[(".pre-commit-config.yaml", config)]),
            Some(("0.5.5".into(), ".pre-commit-config.yaml".into()))
        );
        let old = "repos:\n- repo: 'https://github.com/charliermarsh/ruff-pre-commit'\n  rev: 'v0.0.261'  # keep in step\n  hooks:\n  - id: ruff\n    args: [--fix]\n";
        assert_eq!(pin(&[(".pre-commit-config.yaml", old)]).map(|p| p.0), Some("0.0.261".into()));
        // flask's, frozen by `pre-commit autoupdate --freeze`.
        let frozen = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: 24e02b24b8ab2b7c76225602d13fa60e12d114e6  # frozen: v0.11.9\n    hooks:\n      - id: ruff-check\n";
        assert_eq!(pin(&[(".pre-commit-config.yaml", frozen)]).map(|p| p.0), Some("0.11.9".into()));
        let commit = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: 24e02b24b8ab2b7c76225602d13fa60e12d114e6\n    hooks:\n      - id: ruff\n";
        assert_eq!(pin(&[(".pre-commit-config.yaml", commit)]), None, "a commit alone names no version");
        let other = "repos:\n  - repo: https://github.com/psf/black\n    rev: 24.4.2\n";
        let format_only = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.5.5\n    hooks:\n      - id: ruff-format\n";
        assert_eq!(pin(&[(".pre-commit-config.yaml", format_only)]), None, "only its formatter: no linter pinned");
        assert_eq!(pin(&[(".pre-commit-config.yaml", other)]), None);
    }

    #[test]
    fn ruffs_required_version_wins_and_a_range_is_no_pin() {
        let pyproject = "[project]\nname = \"x\"\n\n[tool.ruff]\nrequired-version = \"==0.6.1\"\n\n[tool.ruff.lint]\nselect = [\"ALL\"]\n";
        let config = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.5.5\n    hooks:\n      - id: ruff\n";
        assert_eq!(
            pin(&[("pyproject.toml", pyproject), (".pre-commit-config.yaml", config)]),
            Some(("0.6.1".into(), "pyproject.toml [tool.ruff] required-version".into()))
        );
        let range = "[tool.ruff]\nrequired-version = \">=0.5\"\n";
        assert_eq!(pin(&[("pyproject.toml", range)]), None);
        // Another tool's required-version is not ruff's.
        let other = "[tool.other]\nrequired-version = \"1.0.0\"\n[tool.ruff]\nline-length = 100\n";
        assert_eq!(pin(&[("pyproject.toml", other)]), None);
        assert_eq!(pin(&[("ruff.toml", "required-version = \"0.4.10\"\n")]).map(|p| p.0), Some("0.4.10".into()));
        // With a ruff.toml, ruff reads no pyproject.toml settings.
        let both =
            [("ruff.toml", "line-length = 100\n"), ("pyproject.toml", "[tool.ruff]\nrequired-version = \"0.6.1\"\n")];
        assert_eq!(pin(&both), None);
    }

    #[test]
    fn requirements_pin_exactly_or_not_at_all() {
        assert_eq!(
            pin(&[("requirements-dev.txt", "pytest>=7\nruff==0.3.4 ; python_version >= '3.8'\n")]),
            Some(("0.3.4".into(), "requirements-dev.txt ruff==0.3.4".into()))
        );
        let deps = "[project.optional-dependencies]\ndev = [\n  \"ruff==0.4.2\",\n]\n";
        assert_eq!(pin(&[("pyproject.toml", deps)]).map(|p| p.0), Some("0.4.2".into()));
        assert_eq!(pin(&[("requirements-dev.txt", "ruff>=0.3\nflake8-ruff==1.0\n")]), None);
        let one_line = "[dependency-groups]\ndev = [\"pytest>=8\", \"ruff == 0.6.9\"]\n";
        assert_eq!(pin(&[("pyproject.toml", one_line)]).map(|p| p.0), Some("0.6.9".into()));
    }

    #[test]
    fn a_lock_files_ruff_is_the_pin_when_nothing_says_more() {
        let uv = "version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"pytest\"\nversion = \"8.3.4\"\n\n[[package]]\nname = \"ruff\"\nversion = \"0.9.3\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        assert_eq!(pin(&[("uv.lock", uv)]), Some(("0.9.3".into(), "uv.lock".into())));
        let poetry = "[[package]]\nname = \"ruff\"\nversion = \"0.4.10\"\ndescription = \"An extremely fast Python linter\"\noptional = false\n";
        assert_eq!(pin(&[("poetry.lock", poetry)]).map(|p| p.0), Some("0.4.10".into()));
        // pre-commit's pin says what CI enforces: it comes first.
        let config = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.5.5\n    hooks:\n      - id: ruff\n";
        assert_eq!(pin(&[("uv.lock", uv), (".pre-commit-config.yaml", config)]).map(|p| p.0), Some("0.5.5".into()));
        assert_eq!(pin(&[("uv.lock", "[[package]]\nname = \"ruff-lsp\"\nversion = \"0.0.1\"\n")]), None);
        assert_eq!(pin(&[("uv.lock", "not toml [[")]), None);
    }

    #[test]
    fn a_version_that_could_leave_its_folder_is_refused() {
        for rev in ["v0.5.5/../../x", "../0.5", "0.5.5?x=1", "main", "0.5 5", ""] {
            let config = format!(
                "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: {rev}\n    hooks:\n      - id: ruff\n"
            );
            let config: &'static str = Box::leak(config.into_boxed_str());
            assert_eq!(pin(&[(".pre-commit-config.yaml", config)]), None, "{rev}");
        }
    }
}
