//! The tools' machine-readable output, read into [`ToolFinding`]s. A line or
//! object that does not parse is skipped, never guessed at; paths come back
//! workspace-relative, and findings outside the workspace are dropped.

use protocol::agents::Severity;
use serde_json::Value;

use super::{Format, ToolEdit, ToolFinding, ToolFix};

/// The findings in one run of a tool. `root` is the workspace's absolute path
/// (`/`-separated), for tools that print absolute paths.
pub fn findings(tool: &'static str, format: Format, stdout: &str, stderr: &str, root: &str) -> Vec<ToolFinding> {
    let relative = |path: &str| relative_to(root, path);
    let mut found = match format {
        Format::Cargo => cargo(tool, stdout, &relative),
        Format::Ruff => ruff(tool, stdout, &relative),
        Format::Flake8 => flake8(tool, stdout, &relative),
        Format::Mypy => mypy(tool, stdout, &relative),
        Format::Eslint => eslint(tool, stdout, &relative),
        Format::Tsc => tsc(tool, stdout, &relative),
        Format::GoVet => go_vet(tool, stderr, &relative),
        Format::Prettier => prettier(tool, stdout, stderr, &relative),
        Format::TestRun | Format::CargoTest | Format::JUnit | Format::GoTest | Format::JestJson | Format::Tap => {
            Vec::new()
        }
    };
    found.sort_by(|a, b| (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule)));
    found.dedup_by(|a, b| a.path == b.path && a.line == b.line && a.rule == b.rule && a.message == b.message);
    one_per_name(found)
}

/// Findings of one line about the same name (eslint's `no-unused-vars`,
/// `catch-error-name` and `prefer-optional-catch-binding` all on one
/// `catch (_e)`) become one: the one with a fix, else the most severe, else
/// the first, its message naming the others. Expects `found` sorted by place.
fn one_per_name(found: Vec<ToolFinding>) -> Vec<ToolFinding> {
    let mut kept: Vec<ToolFinding> = Vec::with_capacity(found.len());
    let mut also: Vec<Vec<String>> = Vec::with_capacity(found.len());
    for finding in found {
        let about = subject(&finding.message);
        let same = kept.iter().rposition(|k| {
            k.path == finding.path
                && k.line == finding.line
                && k.rule != finding.rule
                && about.is_some()
                && subject(&k.message) == about
        });
        let Some(at) = same else {
            kept.push(finding);
            also.push(Vec::new());
            continue;
        };
        let rank = |f: &ToolFinding| (f.fix.is_some(), std::cmp::Reverse(f.severity));
        let other = if rank(&finding) > rank(&kept[at]) { std::mem::replace(&mut kept[at], finding) } else { finding };
        also[at].push(other.rule);
    }
    for (finding, others) in kept.iter_mut().zip(also) {
        if !others.is_empty() {
            finding.message = format!("{} (also {})", finding.message, others.join(", "));
        }
    }
    kept
}

/// The name a tool's message is about: the first it quotes, between
/// backticks or single quotes (`'_e' is defined…`, "`os` imported but
/// unused; consider … `__all__`" is about `os`).
fn subject(message: &str) -> Option<&str> {
    let at = message.find(['`', '\''])?;
    let quote = message[at..].chars().next()?;
    let rest = &message[at + 1..];
    let name = &rest[..rest.find(quote)?];
    (!name.is_empty() && !name.contains(' ')).then_some(name)
}

/// `path` relative to `root`, `/`-separated; `None` outside it.
pub(super) fn relative_to(root: &str, path: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    if !path.starts_with('/') {
        return (!path.split('/').any(|s| s == "..")).then(|| path.to_owned());
    }
    let root = root.trim_end_matches('/');
    let rest = path.strip_prefix(root).and_then(|rest| rest.strip_prefix('/'))?;
    (!rest.split('/').any(|s| s == ".." || s.is_empty())).then(|| rest.to_owned())
}

type Relative<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn number(value: &Value, key: &str) -> Option<u32> {
    value.get(key)?.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// `cargo clippy`/`cargo build` JSON messages: the primary span of each
/// compiler message, and the machine-applicable suggestions as its fix.
fn cargo(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    let mut found = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else { continue };
        if message.get("reason").and_then(Value::as_str) != Some("compiler-message") {
            continue;
        }
        let Some(message) = message.get("message") else { continue };
        let severity = match message.get("level").and_then(Value::as_str) {
            Some("error") => Severity::Error,
            Some("warning") => Severity::Warning,
            _ => continue,
        };
        let spans = message.get("spans").and_then(Value::as_array).cloned().unwrap_or_default();
        let Some(primary) = spans.iter().find(|s| s.get("is_primary").and_then(Value::as_bool) == Some(true)) else {
            continue;
        };
        let Some(path) = primary.get("file_name").and_then(Value::as_str).and_then(relative) else { continue };
        let code = message.pointer("/code/code").and_then(Value::as_str);
        let rule = match code {
            Some(code) if code.starts_with("clippy::") => code.to_owned(),
            Some(code) => format!("rustc::{code}"),
            None => "rustc".to_owned(),
        };
        let text = message.get("message").and_then(Value::as_str).unwrap_or_default();
        let label = primary.get("label").and_then(Value::as_str).filter(|l| !l.is_empty());
        // Helps in words, and suggestions not sure enough to apply as a fix
        // (`help: try: `while let …``), which a person can still follow.
        let helps: Vec<String> = message
            .get("children")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.get("level").and_then(Value::as_str) == Some("help"))
            .filter_map(|c| {
                let text = c.get("message").and_then(Value::as_str)?;
                let spans = c.get("spans").and_then(Value::as_array).cloned().unwrap_or_default();
                let unsure = spans.iter().find(|s| {
                    s.get("suggestion_applicability").and_then(Value::as_str) != Some("MachineApplicable")
                        && s.get("suggested_replacement").and_then(Value::as_str).is_some()
                });
                match (spans.is_empty(), unsure) {
                    (true, _) => Some(text.to_owned()),
                    (false, Some(span)) => {
                        let replacement = span.get("suggested_replacement").and_then(Value::as_str)?;
                        let shown: String = replacement.split_whitespace().collect::<Vec<_>>().join(" ");
                        let shown = if shown.chars().count() > 160 {
                            format!("{}…", shown.chars().take(160).collect::<String>())
                        } else {
                            shown
                        };
                        Some(format!("{text}: `{shown}`"))
                    }
                    (false, None) => None,
                }
            })
            .filter(|m| !m.starts_with("for further information"))
            .collect();
        let mut full = text.to_owned();
        if let Some(label) = label {
            full.push_str(&format!(": {label}"));
        }
        for help in helps {
            full.push_str(&format!(" (help: {help})"));
        }
        found.push(ToolFinding {
            tool,
            rule,
            severity,
            message: full,
            line: number(primary, "line_start").unwrap_or(1),
            column: number(primary, "column_start").unwrap_or(1),
            end: number(primary, "line_end").zip(number(primary, "column_end")),
            fix: cargo_fix(message, relative),
            path,
        });
    }
    found
}

/// The machine-applicable suggestions of a compiler message, as one fix.
fn cargo_fix(message: &Value, relative: &Relative<'_>) -> Option<ToolFix> {
    let mut title = None;
    let mut edits = Vec::new();
    for child in message.get("children").and_then(Value::as_array).into_iter().flatten() {
        for span in child.get("spans").and_then(Value::as_array).into_iter().flatten() {
            let applicable = span.get("suggestion_applicability").and_then(Value::as_str) == Some("MachineApplicable");
            let (Some(new_text), true) = (span.get("suggested_replacement").and_then(Value::as_str), applicable) else {
                continue;
            };
            let Some(path) = span.get("file_name").and_then(Value::as_str).and_then(relative) else { continue };
            let at = |line: &str, column: &str| number(span, line).zip(number(span, column));
            let (Some(start), Some(end)) = (at("line_start", "column_start"), at("line_end", "column_end")) else {
                continue;
            };
            title.get_or_insert_with(|| child.get("message").and_then(Value::as_str).unwrap_or("apply").to_owned());
            edits.push(ToolEdit { path, start, end, new_text: new_text.to_owned() });
        }
    }
    Some(ToolFix { title: title?, edits })
}

/// `ruff check --output-format=json`: an array of violations; safe fixes kept.
fn ruff(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(stdout.trim()) else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let path = relative(item.get("filename")?.as_str()?)?;
            let code = item.get("code").and_then(Value::as_str).unwrap_or("syntax-error");
            let at = |key: &str| item.get(key).and_then(|l| number(l, "row").zip(number(l, "column")));
            let (line, column) = at("location")?;
            // Syntax errors, undefined names and the like stop the code running.
            let severity = if ["E9", "F63", "F7", "F82", "syntax"].iter().any(|p| code.starts_with(p)) {
                Severity::Error
            } else {
                Severity::Warning
            };
            let fix = item.get("fix").filter(|f| f.get("applicability").and_then(Value::as_str) == Some("safe"));
            let fix = fix.and_then(|fix| {
                let edits = fix
                    .get("edits")?
                    .as_array()?
                    .iter()
                    .map(|e| {
                        let at = |key: &str| e.get(key).and_then(|l| number(l, "row").zip(number(l, "column")));
                        Some(ToolEdit {
                            path: path.clone(),
                            start: at("location")?,
                            end: at("end_location")?,
                            new_text: e.get("content")?.as_str()?.to_owned(),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(ToolFix { title: fix.get("message")?.as_str()?.to_owned(), edits })
            });
            Some(ToolFinding {
                tool,
                rule: format!("ruff:{code}"),
                severity,
                message: item.get("message")?.as_str()?.to_owned(),
                path,
                line,
                column,
                end: at("end_location"),
                fix,
            })
        })
        .collect()
}

/// `flake8`'s default format: `path:line:col: CODE message`.
fn flake8(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ':');
            let (path, row, column, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?.trim());
            let (code, message) = rest.split_once(' ')?;
            let severity = if code.starts_with('E') && code.starts_with("E9") || code.starts_with("F8") {
                Severity::Error
            } else {
                Severity::Warning
            };
            Some(ToolFinding {
                tool,
                rule: format!("flake8:{code}"),
                severity,
                message: message.to_owned(),
                path: relative(path)?,
                line: row.parse().ok()?,
                column: column.parse().ok()?,
                end: None,
                fix: None,
            })
        })
        .collect()
}

/// `mypy --output json`: one object per line.
fn mypy(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    stdout
        .lines()
        .filter_map(|line| {
            let item: Value = serde_json::from_str(line).ok()?;
            let severity = match item.get("severity")?.as_str()? {
                "error" => Severity::Error,
                "note" => return None,
                _ => Severity::Warning,
            };
            let mut message = item.get("message")?.as_str()?.to_owned();
            if let Some(hint) = item.get("hint").and_then(Value::as_str) {
                message.push_str(&format!(" ({hint})"));
            }
            Some(ToolFinding {
                tool,
                rule: format!("mypy:{}", item.get("code").and_then(Value::as_str).unwrap_or("error")),
                severity,
                message,
                path: relative(item.get("file")?.as_str()?)?,
                line: number(&item, "line")?,
                column: number(&item, "column").map_or(1, |c| c + 1),
                end: None,
                fix: None,
            })
        })
        .collect()
}

/// `eslint --format json`: files, each with its messages.
fn eslint(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    let Ok(Value::Array(files)) = serde_json::from_str::<Value>(stdout.trim()) else { return Vec::new() };
    let mut found = Vec::new();
    for file in &files {
        let Some(path) = file.get("filePath").and_then(Value::as_str).and_then(relative) else { continue };
        for message in file.get("messages").and_then(Value::as_array).into_iter().flatten() {
            let severity = match message.get("severity").and_then(Value::as_u64) {
                Some(2) => Severity::Error,
                Some(1) => Severity::Warning,
                _ => continue,
            };
            let (Some(line), Some(text)) = (number(message, "line"), message.get("message").and_then(Value::as_str))
            else {
                continue;
            };
            let rule = match message.get("ruleId").and_then(Value::as_str) {
                Some(rule) => rule,
                None if message.get("fatal").and_then(Value::as_bool) == Some(true) => "parse-error",
                None if text.starts_with("Unused eslint-disable") => "unused-disable-directive",
                None => "core",
            };
            // `fix`: a range of UTF-16 offsets into the file's `source`.
            let source = file.get("source").and_then(Value::as_str);
            let fix = message.get("fix").zip(source).and_then(|(fix, source)| {
                let range = fix.get("range")?.as_array()?;
                let offset = |i: usize| range.get(i)?.as_u64().and_then(|n| usize::try_from(n).ok());
                let (start, end) = (utf16_place(source, offset(0)?)?, utf16_place(source, offset(1)?)?);
                let new_text = fix.get("text")?.as_str()?.to_owned();
                let edits = vec![ToolEdit { path: path.clone(), start, end, new_text }];
                Some(ToolFix { title: format!("eslint --fix ({rule})"), edits })
            });
            found.push(ToolFinding {
                tool,
                rule: format!("eslint:{rule}"),
                severity,
                message: text.to_owned(),
                path: path.clone(),
                line,
                column: number(message, "column").unwrap_or(1),
                end: number(message, "endLine").zip(number(message, "endColumn")),
                fix,
            });
        }
    }
    found
}

/// A UTF-16 offset into `text` as a one-based line and character column;
/// `None` past the end or inside a surrogate pair.
fn utf16_place(text: &str, offset: usize) -> Option<(u32, u32)> {
    let (mut units, mut line, mut column) = (0usize, 1u32, 1u32);
    for c in text.chars() {
        if units >= offset {
            break;
        }
        units += c.len_utf16();
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    (units == offset).then_some((line, column))
}

/// `tsc --pretty false`: `path(line,col): error TSnnnn: message`.
fn tsc(tool: &'static str, stdout: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    stdout
        .lines()
        .filter_map(|line| {
            let (location, rest) = line.split_once("): ")?;
            let (path, position) = location.rsplit_once('(')?;
            let (row, column) = position.split_once(',')?;
            let (kind, rest) = rest.split_once(' ')?;
            let (code, message) = rest.split_once(": ")?;
            let severity = if kind == "error" { Severity::Error } else { Severity::Warning };
            Some(ToolFinding {
                tool,
                rule: format!("tsc:{code}"),
                severity,
                message: message.to_owned(),
                path: relative(path)?,
                line: row.parse().ok()?,
                column: column.parse().ok()?,
                end: None,
                fix: None,
            })
        })
        .collect()
}

/// `prettier --check`: `[warn] src/a.ts` for each file it would change (on
/// stdout in prettier 3, stderr before), one finding each; the summary line
/// (`[warn] Code style issues found…`) is not a file.
fn prettier(tool: &'static str, stdout: &str, stderr: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|line| {
            let path = line.strip_prefix("[warn] ")?.trim();
            if path.contains(' ') || path.is_empty() {
                return None;
            }
            Some(ToolFinding {
                tool,
                rule: "prettier:format".into(),
                severity: Severity::Warning,
                message: format!(
                    "not formatted as the project's prettier writes it: `prettier --write {path}` formats it"
                ),
                path: relative(path)?,
                line: 1,
                column: 1,
                end: None,
                fix: None,
            })
        })
        .collect()
}

/// `go vet -json` (on stderr): `# package` lines between JSON objects of
/// `{package: {analyzer: [{posn, message}]}}`.
fn go_vet(tool: &'static str, stderr: &str, relative: &Relative<'_>) -> Vec<ToolFinding> {
    let json: String = stderr.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    for object in serde_json::Deserializer::from_str(&json).into_iter::<Value>().map_while(Result::ok) {
        for analyzers in object.as_object().into_iter().flat_map(|o| o.values()) {
            for (analyzer, diagnostics) in analyzers.as_object().into_iter().flatten() {
                for diagnostic in diagnostics.as_array().into_iter().flatten() {
                    let Some(posn) = diagnostic.get("posn").and_then(Value::as_str) else { continue };
                    let mut parts = posn.rsplitn(3, ':');
                    let (column, row, path) = (parts.next(), parts.next(), parts.next());
                    let (Some(path), Some(row)) = (path.and_then(relative), row.and_then(|r| r.parse().ok())) else {
                        continue;
                    };
                    found.push(ToolFinding {
                        tool,
                        rule: format!("govet:{analyzer}"),
                        severity: Severity::Warning,
                        message: diagnostic.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        path,
                        line: row,
                        column: column.and_then(|c| c.parse().ok()).unwrap_or(1),
                        end: None,
                        fix: None,
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clippy_messages_keep_rule_place_and_machine_applicable_fix() {
        // Trimmed from a real `cargo clippy --message-format=json` run.
        let out = r#"{"reason":"compiler-artifact","package_id":"x"}
{"reason":"compiler-message","message":{"message":"unneeded `return` statement","code":{"code":"clippy::needless_return","explanation":null},"level":"warning","spans":[{"file_name":"src/lib.rs","line_start":3,"line_end":3,"column_start":5,"column_end":14,"is_primary":true,"label":null,"suggested_replacement":null,"suggestion_applicability":null}],"children":[{"message":"for further information visit https://rust-lang.github.io/rust-clippy/","code":null,"level":"help","spans":[],"children":[]},{"message":"remove `return`","code":null,"level":"help","spans":[{"file_name":"src/lib.rs","line_start":3,"line_end":3,"column_start":5,"column_end":14,"is_primary":true,"suggested_replacement":"x","suggestion_applicability":"MachineApplicable"}],"children":[]}]}}
{"reason":"compiler-message","message":{"message":"mismatched types","code":{"code":"E0308","explanation":"..."},"level":"error","spans":[{"file_name":"src/main.rs","line_start":7,"line_end":7,"column_start":18,"column_end":20,"is_primary":true,"label":"expected `u32`, found `&str`"}],"children":[]}}
{"reason":"compiler-message","message":{"message":"aborting due to 1 previous error","code":null,"level":"error","spans":[],"children":[]}}
{"reason":"build-finished","success":false}"#;
        let found = findings("clippy", Format::Cargo, out, "", "/p");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].rule, "clippy::needless_return");
        assert_eq!((found[0].path.as_str(), found[0].line, found[0].column), ("src/lib.rs", 3, 5));
        let fix = found[0].fix.as_ref().expect("machine-applicable fix");
        assert_eq!(fix.title, "remove `return`");
        assert_eq!(
            fix.edits,
            [ToolEdit { path: "src/lib.rs".into(), start: (3, 5), end: (3, 14), new_text: "x".into() }]
        );
        assert_eq!(found[1].rule, "rustc::E0308");
        assert_eq!(found[1].severity, Severity::Error);
        assert_eq!(found[1].message, "mismatched types: expected `u32`, found `&str`");
    }

    #[test]
    fn ruff_violations_with_absolute_paths_and_safe_fixes() {
        let out = r#"[{"cell":null,"code":"F401","end_location":{"column":10,"row":1},"filename":"/p/pkg/a.py","fix":{"applicability":"safe","edits":[{"content":"","end_location":{"column":1,"row":2},"location":{"column":1,"row":1}}],"message":"Remove unused import: `os`"},"location":{"column":8,"row":1},"message":"`os` imported but unused","noqa_row":1,"url":"https://docs.astral.sh/ruff/rules/unused-import"},
{"cell":null,"code":"F821","end_location":{"column":9,"row":4},"filename":"/p/pkg/a.py","fix":null,"location":{"column":5,"row":4},"message":"Undefined name `nme`","noqa_row":4,"url":null},
{"cell":null,"code":"E501","end_location":{"column":9,"row":4},"filename":"/elsewhere/b.py","fix":null,"location":{"column":5,"row":4},"message":"x","noqa_row":4,"url":null}]"#;
        let found = findings("ruff", Format::Ruff, out, "", "/p");
        assert_eq!(found.len(), 2, "the file outside the workspace is dropped");
        assert_eq!((found[0].rule.as_str(), found[0].path.as_str(), found[0].line), ("ruff:F401", "pkg/a.py", 1));
        assert_eq!(found[0].fix.as_ref().map(|f| f.edits[0].end), Some((2, 1)));
        assert_eq!((found[1].rule.as_str(), found[1].severity), ("ruff:F821", Severity::Error));
        assert!(findings("ruff", Format::Ruff, "not json", "", "/p").is_empty());
        // Paths a tool prints are not trusted: nothing leads out of the workspace.
        assert_eq!(relative_to("/p", "/p/../etc/passwd"), None);
        assert_eq!(relative_to("/p", "../x.py"), None);
        assert_eq!(relative_to("/p", "/pp/x.py"), None);
    }

    #[test]
    fn text_and_line_formats() {
        let flake8 = "./pkg/a.py:1:1: F401 'os' imported but unused\ngarbage\n";
        let found = findings("flake8", Format::Flake8, flake8, "", "/p");
        assert_eq!((found[0].rule.as_str(), found[0].path.as_str()), ("flake8:F401", "pkg/a.py"));
        let mypy = r#"{"file": "pkg/a.py", "line": 3, "column": 4, "message": "Incompatible return value type (got \"str\", expected \"int\")", "hint": null, "code": "return-value", "severity": "error"}"#;
        let found = findings("mypy", Format::Mypy, mypy, "", "/p");
        assert_eq!((found[0].rule.as_str(), found[0].line, found[0].column), ("mypy:return-value", 3, 5));
        let tsc = "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n";
        let checked = "Checking formatting...\n[warn] src/punycode.ts\n[warn] Code style issues found in the above file. Run Prettier with --write to fix.\n";
        let formatted = findings("prettier", Format::Prettier, checked, "", "/p");
        assert_eq!(formatted.len(), 1, "the file, not the summary");
        assert_eq!((formatted[0].path.as_str(), formatted[0].rule.as_str()), ("src/punycode.ts", "prettier:format"));
        let found = findings("tsc", Format::Tsc, tsc, "", "/p");
        assert_eq!((found[0].rule.as_str(), found[0].line, found[0].column), ("tsc:TS2322", 3, 7));
        let eslint = r#"[{"filePath":"/p/src/a.js","messages":[{"ruleId":"no-unused-vars","severity":2,"message":"'x' is assigned a value but never used.","line":1,"column":7,"endLine":1,"endColumn":8}]}]"#;
        let found = findings("eslint", Format::Eslint, eslint, "", "/p");
        assert_eq!(
            (found[0].rule.as_str(), found[0].path.as_str(), found[0].end),
            ("eslint:no-unused-vars", "src/a.js", Some((1, 8)))
        );
        // From a real eslint 9 run: a directive with nothing left to disable, and
        // its fix as UTF-16 offsets into `source` (here after a non-BMP character).
        let eslint = r#"[{"filePath":"/p/src/index.ts","messages":[{"ruleId":null,"message":"Unused eslint-disable directive (no problems were reported from 'unicorn/no-null').","line":2,"column":5,"severity":1,"nodeType":null,"fix":{"range":[20,58],"text":" "}}],"source":"const a = \"😀\";\n    // eslint-disable-next-line unicorn/no-null\n    return null;\n"}]"#;
        let found = findings("eslint", Format::Eslint, eslint, "", "/p");
        assert_eq!(found[0].rule, "eslint:unused-disable-directive");
        let edit = &found[0].fix.as_ref().expect("fix").edits[0];
        assert_eq!((edit.start, edit.end, edit.new_text.as_str()), ((2, 5), (2, 43), " "));
        // Findings of one rule about different names on one line stay apart,
        // whatever else their messages quote.
        let ruff = r#"[{"code":"F401","filename":"/p/pkg/a.py","location":{"column":15,"row":1},"end_location":{"column":19,"row":1},"message":"`.b.init` imported but unused; consider removing, adding to `__all__`, or using a redundant alias","fix":null},
            {"code":"F401","filename":"/p/pkg/a.py","location":{"column":21,"row":1},"end_location":{"column":27,"row":1},"message":"`.b.deinit` imported but unused; consider removing, adding to `__all__`, or using a redundant alias","fix":null}]"#;
        assert_eq!(findings("ruff", Format::Ruff, ruff, "", "/p").len(), 2);
        // Three rules about one `catch (_e)` are one finding.
        let eslint = r#"[{"filePath":"/p/src/index.ts","source":"try { f() } catch (_e) {}\n","messages":[
            {"ruleId":"@typescript-eslint/no-unused-vars","severity":2,"message":"'_e' is defined but never used.","line":1,"column":20},
            {"ruleId":"unicorn/catch-error-name","severity":2,"message":"The catch parameter `_e` should be named `error`.","line":1,"column":20,"fix":{"range":[19,21],"text":"error"}},
            {"ruleId":"unicorn/prefer-optional-catch-binding","severity":2,"message":"Remove unused catch binding `_e`.","line":1,"column":19,"fix":{"range":[18,22],"text":""}},
            {"ruleId":"no-empty","severity":2,"message":"Empty block statement.","line":1,"column":24}]}]"#;
        let found = findings("eslint", Format::Eslint, eslint, "", "/p");
        let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["eslint:unicorn/prefer-optional-catch-binding", "eslint:no-empty"]);
        assert!(
            found[0]
                .message
                .ends_with("(also eslint:@typescript-eslint/no-unused-vars, eslint:unicorn/catch-error-name)"),
            "{}",
            found[0].message
        );
        let vet = "# example.com/m\n{\n\t\"example.com/m\": {\n\t\t\"printf\": [\n\t\t\t{\n\t\t\t\t\"posn\": \"/p/main.go:8:2\",\n\t\t\t\t\"message\": \"fmt.Printf format %d has arg x of wrong type string\"\n\t\t\t}\n\t\t]\n\t}\n}\n";
        let found = findings("go vet", Format::GoVet, "", vet, "/p");
        assert_eq!((found[0].rule.as_str(), found[0].path.as_str(), found[0].line), ("govet:printf", "main.go", 8));
    }
}
