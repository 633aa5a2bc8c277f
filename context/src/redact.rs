//! Secret detection and redaction, before any context leaves the machine.
//!
//! Rules live in `rules/secrets.toml` (gitleaks-style: regex, keywords, entropy)
//! and are compiled once. A redaction replaces the secret with
//! `[REDACTED:<rule>]` and is reported by rule and line — never with the secret.

use std::sync::OnceLock;

use regex::Regex;

const RULES_TOML: &str = include_str!("../rules/secrets.toml");

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: String,
    regex: Regex,
    keywords: Vec<String>,
    entropy: Option<f64>,
    env_files_only: bool,
    require_digit_or_symbol: bool,
}

/// One secret removed: which rule, on which (zero-based) line of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub rule: String,
    pub line: u32,
}

pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| parse_rules(RULES_TOML))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rule: Vec<RuleSpec>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    description: String,
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    entropy: Option<f64>,
    #[serde(default)]
    env_files_only: bool,
    #[serde(default)]
    require_digit_or_symbol: bool,
}

/// Parses the rule file. It is part of the binary and covered by tests, so a bad
/// rule is a build defect.
fn parse_rules(text: &str) -> Vec<Rule> {
    let file: RuleFile = toml::from_str(text).unwrap_or_else(|err| panic!("rules/secrets.toml: {err}"));
    file.rule
        .into_iter()
        .map(|spec| Rule {
            regex: Regex::new(&spec.regex).unwrap_or_else(|err| panic!("secret rule {}: {err}", spec.id)),
            keywords: spec.keywords.iter().map(|k| k.to_lowercase()).collect(),
            description: spec.description,
            entropy: spec.entropy,
            env_files_only: spec.env_files_only,
            require_digit_or_symbol: spec.require_digit_or_symbol,
            id: spec.id,
        })
        .collect()
}

/// Whether a path is a `.env`-style file (`.env`, `.env.local`, `*.env`, `.envrc`).
pub fn is_env_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == ".env" || name.starts_with(".env.") || name.ends_with(".env") || name == ".envrc"
}

/// Redacts every secret in `text`. `path` decides which rules apply.
pub fn redact(path: &str, text: &str) -> (String, Vec<Redaction>) {
    redact_with(path, text, false)
}

/// [`redact`], but a secret spanning lines (a PEM key) leaves as many line breaks
/// as it had, so line numbers computed on the original still hold. Redact a
/// whole file this way before cutting lines out of it: a cut through the middle
/// of a key would otherwise hide it from the rule that needs both its ends.
pub fn redact_keeping_lines(path: &str, text: &str) -> (String, Vec<Redaction>) {
    redact_with(path, text, true)
}

/// The lines around `first..=last` (zero-based) of `text`, redacted exactly as
/// they are in [`redact_keeping_lines`] of the whole file. See [`LineMap`]; for
/// several windows of one file, build the map once.
pub fn redact_lines(path: &str, text: &str, first: u32, last: u32) -> (String, u32) {
    LineMap::new(text).redact_window(path, text, first, last)
}

/// Where a text's lines start and where its private-key blocks are, found once,
/// so that windows of it can be redacted at the cost of the window rather than
/// the file: the only rule that spans lines is the private key's, so a window is
/// widened over any key block it cuts through.
#[derive(Debug, Clone)]
pub struct LineMap {
    starts: Vec<usize>,
    /// Byte ranges of `-----BEGIN … -----END …` blocks, whole lines, in order.
    blocks: Vec<(usize, usize)>,
}

impl LineMap {
    pub fn new(text: &str) -> LineMap {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut from = 0;
        while let Some(found) = text[from..].find("-----BEGIN") {
            let begin = from + found;
            let Some(close) = text[begin..].find("-----END") else { break };
            let after = begin + close;
            let end = text[after..].find('\n').map_or(text.len(), |i| after + i + 1);
            blocks.push((line_start(begin), end));
            from = end;
        }
        LineMap { starts, blocks }
    }

    /// The redacted region holding lines `first..=last` (the file's last line if
    /// `first` is past it), and the zero-based line it starts on.
    pub fn redact_window(&self, path: &str, text: &str, first: u32, last: u32) -> (String, u32) {
        let at = |line: u32| self.starts.get(line as usize).copied().unwrap_or(text.len()).min(text.len());
        let mut start = at(first);
        if start == text.len() && !text.is_empty() {
            // Past the end: the last line.
            let body = text.strip_suffix('\n').unwrap_or(text);
            start = body.rfind('\n').map_or(0, |i| i + 1);
        }
        let mut end = at(last.max(first) + 1).max(start);
        loop {
            let (mut wider_start, mut wider_end) = (start, end);
            for &(block_start, block_end) in &self.blocks {
                if block_start < wider_end && block_end > wider_start {
                    wider_start = wider_start.min(block_start);
                    wider_end = wider_end.max(block_end);
                }
            }
            if (wider_start, wider_end) == (start, end) {
                break;
            }
            (start, end) = (wider_start, wider_end);
        }
        let first_line = self.starts.partition_point(|s| *s <= start).saturating_sub(1) as u32;
        (redact_with(path, &text[start..end], true).0, first_line)
    }
}

/// Counts the `[REDACTED:<rule>]` markers in `text`, by rule. A secret spanning
/// lines leaves one marker per line ([`redact_keeping_lines`]); those count once.
pub fn count_markers(text: &str, into: &mut std::collections::BTreeMap<String, u32>) {
    let mut trailing: Option<&str> = None;
    for line in text.lines() {
        for (i, piece) in line.split("[REDACTED:").enumerate().skip(1) {
            let Some((rule, _)) = piece.split_once(']') else { continue };
            // The continuation of a secret that ended the line above.
            let continues = i == 1 && line.starts_with("[REDACTED:") && trailing == Some(rule);
            if !continues {
                *into.entry(rule.to_owned()).or_default() += 1;
            }
        }
        trailing = line.rsplit_once("[REDACTED:").and_then(|(_, r)| r.strip_suffix(']'));
    }
}

fn redact_with(path: &str, text: &str, keep_lines: bool) -> (String, Vec<Redaction>) {
    let lower = text.to_ascii_lowercase();
    let env_file = is_env_file(path);
    let mut spans: Vec<(usize, usize, usize, &str)> = Vec::new();
    for (order, rule) in rules().iter().enumerate() {
        if rule.env_files_only && !env_file {
            continue;
        }
        if !rule.keywords.is_empty() && !rule.keywords.iter().any(|k| lower.contains(k.as_str())) {
            continue;
        }
        for caps in rule.regex.captures_iter(text) {
            let Some(secret) = caps.name("secret").or_else(|| caps.get(0)) else { continue };
            let value = secret.as_str().trim().trim_matches(['"', '\'']);
            if value.trim().is_empty() || looks_like_placeholder(value) {
                continue;
            }
            if rule.id == "connection-string-password" && is_url_form(caps.get(0).map_or("", |m| m.as_str()), value) {
                continue;
            }
            if rule.require_digit_or_symbol
                && secret.as_str().chars().all(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '_' | '.'))
            {
                continue;
            }
            if rule.entropy.is_some_and(|min| shannon_entropy(secret.as_str()) < min) {
                continue;
            }
            spans.push((secret.start(), order, secret.end(), rule.id.as_str()));
        }
    }
    // Rules overlap (a JWT inside a connection string, a key inside an env
    // value): the union is redacted, under the rule that starts first (the
    // more specific, earlier in the rule file, on a tie), so no part of either
    // secret is left showing.
    spans.sort();
    let mut merged: Vec<(usize, usize, &str)> = Vec::with_capacity(spans.len());
    for (start, _, end, rule) in spans {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end, rule)),
        }
    }
    let spans = merged;
    let mut out = String::with_capacity(text.len());
    let mut redactions = Vec::with_capacity(spans.len());
    let mut last = 0;
    for (start, end, rule) in spans {
        out.push_str(&text[last..start]);
        out.push_str(&format!("[REDACTED:{rule}]"));
        if keep_lines {
            // One marker per line the secret covered, so any window of lines shows it.
            for _ in 0..text[start..end].matches('\n').count() {
                out.push_str(&format!("\n[REDACTED:{rule}]"));
            }
        }
        redactions.push(Redaction { rule: rule.to_owned(), line: text[..start].matches('\n').count() as u32 });
        last = end;
    }
    out.push_str(&text[last..]);
    (out, redactions)
}

/// `scheme://username:password@host`: a URL's form written out (httpie's
/// `# Handle http://username:password@hostname/`), both its user and its
/// password the names of what goes there. `admin:password@prod-db` is not:
/// that is a real account with a weak password.
fn is_url_form(whole: &str, password: &str) -> bool {
    let named = |value: &str, names: &[&str]| {
        let lower = value.to_ascii_lowercase();
        let bare = lower.strip_prefix("your").or_else(|| lower.strip_prefix("my")).unwrap_or(&lower);
        names.contains(&bare.trim_start_matches(['_', '-']))
    };
    let Some((_, after_scheme)) = whole.split_once("://") else { return false };
    let user = after_scheme.split(':').next().unwrap_or("");
    named(user, &["user", "username", "login", "name"])
        && named(password, &["password", "passwd", "pass", "pwd", "secret"])
}

/// Values that are references or templates, not secrets: `${VAR}`, `<token>`,
/// `process.env.X`, `os.environ[...]`, `***`.
fn looks_like_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("[REDACTED:")
        || v.starts_with("${")
        // `$NAME` is a variable reference; `$3cr3t!` or a bcrypt hash is not.
        || v.strip_prefix('$').is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("{{")
        || v.contains("process.env")
        || v.contains("environ")
        || v.contains("getenv")
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
}

pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, text: &str, expected_rules: &[&str]) {
        let (out, found) = redact(path, text);
        let rules: Vec<&str> = found.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules, expected_rules, "in {path}: {text}\n→ {out}");
        for r in &found {
            assert!(out.contains(&format!("[REDACTED:{}]", r.rule)));
        }
    }

    #[test]
    fn every_rule_compiles() {
        assert!(rules().len() >= 20, "{}", rules().len());
    }

    #[test]
    fn each_secret_kind_is_redacted() {
        let cases: &[(&str, &str, &str)] = &[
            ("k.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\n", "private-key"),
            ("a.py", "key = 'AKIAIOSFODNN7EXAMPLE'", "aws-access-key-id"),
            ("a.py", "aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "aws-secret-access-key"),
            ("a.ts", "const t = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';", "github-token"),
            ("a.ts", &format!("x = \"github_pat_{}\"", "A1b2C3d4E5".repeat(8) + "zz"), "github-fine-grained-pat"),
            ("a.rb", "token: glpat-xJ3bTz9kQm2VnR7wYp4L", "gitlab-token"),
            ("a.js", "slack('xoxb-1234567890-abcdefghijABCDEF')", "slack-token"),
            ("a.js", "url = 'https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX'", "slack-webhook"),
            ("a.go", "stripe.Key = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"", "stripe-key"),
            ("a.java", "String k = \"AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe\";", "google-api-key"),
            (
                "a.py",
                "client = OpenAI(api_key='sk-proj-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst')",
                "openai-api-key",
            ),
            ("a.py", &format!("Anthropic(api_key=\"sk-ant-api03-{}\")", "Ab9_".repeat(12)), "anthropic-api-key"),
            (".npmrc", "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm-token"),
            ("a.cfg", &format!("password: pypi-AgEIcHlwaS5vcmc{}", "Xy1_".repeat(14)), "pypi-token"),
            ("a.py", "SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "sendgrid-api-key"),
            ("a.py", "sid = 'SK0123456789abcdef0123456789abcdef'", "twilio-api-key"),
            (
                "a.cs",
                &format!("\"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={}==;\"", "Ab3+".repeat(21) + "Zq"),
                "azure-storage-key",
            ),
            (
                "a.js",
                "auth = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
                "jwt",
            ),
            ("db.yml", "url: postgres://app:s3cr3t-Pa55@db.internal:5432/app", "connection-string-password"),
            // Weak, but real: a real account's password, even when it is a word.
            ("db.yml", "url: postgres://admin:password@prod-db.internal/app", "connection-string-password"),
            ("db.py", "CACHE = 'redis://:changeme@cache:6379'", "connection-string-password"),
            (".env", "DB_PASSWORD=changeme\n", "env-file-secret"),
            (".env", "DATABASE_PASSWORD=hunter2\nAPI_TOKEN='abc'\nDEBUG=true\n", "env-file-secret"),
            ("settings.py", "SECRET_KEY = \"django-insecure-8f$2kq!x9z@w#1\"", "generic-secret-assignment"),
            ("db.py", "password = \"$3cr3t!pa55\"", "generic-secret-assignment"),
        ];
        for (path, text, rule) in cases {
            let (out, found) = redact(path, text);
            assert!(found.iter().any(|r| r.rule == *rule), "{rule} not found in {path}: {text}\n→ {found:?}");
            assert!(out.contains(&format!("[REDACTED:{rule}]")), "{out}");
        }
        check(
            ".env",
            "DATABASE_PASSWORD=hunter2\nAPI_TOKEN='abc'\nDEBUG=true\n",
            &["env-file-secret", "env-file-secret"],
        );
        // Whole values: quoted ones with spaces, bare ones up to a comment.
        let text = "DB_PASSWORD=\"correct horse battery staple\"\nSECRET_KEY=two words # why\nEMPTY_TOKEN=\"\"\nAPI_KEY=\"${OTHER}\"\n";
        let (out, found) = redact(".env", text);
        assert_eq!(found.len(), 2, "{out}");
        for leaked in ["horse", "battery", "words"] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
        assert!(out.contains("# why") && out.contains("EMPTY_TOKEN=\"\"") && out.contains("${OTHER}"), "{out}");
    }

    #[test]
    fn overlapping_secrets_are_redacted_as_their_union() {
        // An AWS key inside a longer env value: neither part may show.
        let text = "AWS_SECRET=prefix-AKIAIOSFODNN7EXAMPLE-and-more secret words\n";
        let (out, found) = redact(".env", text);
        assert_eq!(found.len(), 1, "{out}");
        assert!(!out.contains("AKIA") && !out.contains("prefix") && !out.contains("more secret"), "{out}");
    }

    #[test]
    fn redactions_report_lines_never_secrets() {
        let (out, found) = redact("a.py", "x = 1\ny = 2\nkey = 'AKIAIOSFODNN7EXAMPLE'\n");
        assert_eq!(found, vec![Redaction { rule: "aws-access-key-id".into(), line: 2 }]);
        assert_eq!(out, "x = 1\ny = 2\nkey = '[REDACTED:aws-access-key-id]'\n");
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        let ordinary = [
            (
                "login.py",
                "password = request.form['password']\nif not check_password(user, password):\n    raise AuthError('bad password')\n",
            ),
            (
                "auth.ts",
                "const token = await getToken();\nconst apiKey = process.env.API_KEY;\nheaders['Authorization'] = `Bearer ${token}`;\n",
            ),
            (
                "config.rs",
                "let secret_name = \"db\";\nlet token_count: usize = tokens.len();\nlet key = map.get(\"key\");\n",
            ),
            (
                "Main.java",
                "String passwordLabel = \"Password\";\nprivate static final String TOKEN_HEADER = \"X-Auth-Token\";\n",
            ),
            (
                "readme.md",
                "Set `API_TOKEN=<your token>` in `.env`, see https://example.com/docs.\nConnect with postgres://localhost/app\n",
            ),
            ("input.py", "# Handle http://username:password@hostname/\nurl = 'postgres://user:your_password@db/app'\n"),
            (
                "hash.go",
                "sum := sha256.Sum256(data) // 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\nskip := \"SKIP_THIS_STEP\"\n",
            ),
            (".env", "DEBUG=true\nPORT=8080\nAPI_TOKEN=${VAULT_TOKEN}\n"),
            ("jwt.py", "header = 'eyJ'\nSK_PREFIX = 'SK'\n"),
        ];
        for (path, text) in ordinary {
            check(path, text, &[]);
        }
    }

    /// Every window of a file with two keys, secrets and plain lines reads the
    /// same as the same lines of the whole file redacted.
    #[test]
    fn windows_redact_like_the_whole_file() {
        let key = |n: usize| -> String { (0..n).map(|i| format!("MIIEowIBAAKCAQEA7bq0line{i:02}\n")).collect() };
        let text = format!(
            "a = 1\n-----BEGIN RSA PRIVATE KEY-----\n{}-----END RSA PRIVATE KEY-----\npassword = \"hunter2hunter2\"\nb = 2\n-----BEGIN EC PRIVATE KEY-----\n{}-----END EC PRIVATE KEY-----\nlast = 3",
            key(5),
            key(3)
        );
        let whole = redact_keeping_lines("settings.py", &text).0;
        let whole_lines: Vec<&str> = whole.split_inclusive('\n').collect();
        let count = whole_lines.len() as u32;
        for first in 0..count + 2 {
            for last in first..count + 2 {
                let (region, offset) = redact_lines("settings.py", &text, first, last);
                let region_lines: Vec<&str> = region.split_inclusive('\n').collect();
                let wanted_first = first.min(count - 1);
                for line in wanted_first..=last.min(count - 1) {
                    let got = region_lines.get((line - offset) as usize).copied();
                    assert_eq!(got, Some(whole_lines[line as usize]), "window {first}..={last}, line {line}");
                }
            }
        }
    }
}
