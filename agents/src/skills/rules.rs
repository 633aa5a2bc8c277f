//! PAIRED's own rules: what each finding means, why it matters and what to do
//! about it. `docs/rules.md` is written from this list (a test keeps them the
//! same), and a finding's diagnostic links to its rule there, as the project's
//! tools' findings link to theirs ([`crate::toolchain::docs::rule_url`]).

/// One rule the agents report by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    /// Who reports it.
    pub agent: &'static str,
    pub title: &'static str,
    /// What it finds, why it matters, what to do; where PAIRED stays quiet.
    pub text: &'static str,
}

pub const RULES: [Rule; 26] = [
    Rule {
        id: "rust-unwrap",
        agent: "Sherlock",
        title: "`unwrap()` on input the program does not control",
        text: "`unwrap()` or `expect()` where the input decides whether it panics: on a call that reads, parses or talks to the world (`read_to_string`, `parse`, …), on a parameter the caller gives, or on a lookup into one. Propagate the error with `?`, or handle it. Quiet on invariants (a length checked before, a path made from a `&str`), and on `expect(\"…\")` whose message says why it cannot fail (`BUG`, `invariant`, `always`, `never`, `cannot fail`, `infallible`, `checked`).",
    },
    Rule {
        id: "rust-panic",
        agent: "Sherlock",
        title: "`panic!`, `todo!` or `unimplemented!` outside tests",
        text: "The program stops here when the line is reached. Return an error the caller can handle, or finish the code. Quiet in tests.",
    },
    Rule {
        id: "ignored-result",
        agent: "Sherlock",
        title: "`let _ =` discards a call's result",
        text: "If the call can fail, the failure is lost without a trace. Handle or log the error; keep `let _ =` for results that truly do not matter (and say so in a comment).",
    },
    Rule {
        id: "ignored-error",
        agent: "Sherlock",
        title: "Go: the error result is discarded",
        text: "`x, _ := f()` uses a result and drops the last one, by convention the error. Check it: `if err != nil { … }`. Quiet when everything is discarded (`_ = f()`, `_, _ = fmt.Fprintf(…)`: said on purpose) or a comment on the line or above says why.",
    },
    Rule {
        id: "bare-except",
        agent: "Sherlock",
        title: "Python: bare `except:`",
        text: "A bare `except:` also catches `KeyboardInterrupt` and `SystemExit`. Catch the exceptions you expect (`except ValueError:`), or `except Exception:`. Quiet when the handler re-raises or hands `sys.exc_info()` on, and under `# noqa` (or `# noqa: E722`, flake8's and ruff's code for it; when ruff reports E722 on the same line, its finding is the one shown).",
    },
    Rule {
        id: "swallowed-error",
        agent: "Sherlock",
        title: "An error caught and ignored",
        text: "A broad `except Exception: pass` (or a bare `except: pass`) in Python, an empty `catch` block in JavaScript, TypeScript or Java, and a Java `printStackTrace()` (which only prints) hide failures. Log it, handle it, or let it propagate. Python's handler is left alone when it catches one named exception on purpose (`except BrokenPipeError: pass`), when a comment in it or just above the `try` says why, where it keeps a default set before the `try`, when the `try` has an `else:` (the `except` is that branch's condition), and inside a function whose docstring says it swallows or ignores errors (click's `safecall`).",
    },
    Rule {
        id: "debug-print",
        agent: "Sherlock",
        title: "A debugging print left in",
        text: "`dbg!` (Rust), `console.log`, `console.debug` or `console.trace` (JavaScript, TypeScript; quiet in tests), `System.out.print…` (Java): output for debugging that nobody else asked for. Use the project's logger, or remove it (`dbg!(x)` is `x`: the quick fix replaces it).",
    },
    Rule {
        id: "debugger",
        agent: "Sherlock",
        title: "A debugger breakpoint left in",
        text: "`breakpoint()`, `pdb.set_trace()` or `debugger;` stops the program for a debugger that is not there. Remove it.",
    },
    Rule {
        id: "unreachable-code",
        agent: "Sherlock",
        title: "Code after a `return`, `break`, `continue` or `raise`",
        text: "The block always leaves before this code, so it never runs: usually a leftover or a misplaced line. Remove it, or move it where it was meant to run.",
    },
    Rule {
        id: "hardcoded-secret",
        agent: "Sherlock",
        title: "A secret in the source",
        text: "An API key, token, password or private key written in the code is readable by everyone who can read the repository, and stays in its history. Move it to the environment or a secrets store, and rotate it. Reported even under `# noqa`; not for references and placeholders (`${VAR}`, `<token>`, `os.environ[…]`, `http://user:password@host/` written as the form of a URL).",
    },
    Rule {
        id: "useless-comparison",
        agent: "Sherlock",
        title: "A comparison whose answer is thrown away",
        text: "`a == b` as a statement compares and discards the result: almost always a missing `assert` or an `=` typed as `==` (bugbear's B015). Quiet inside `pytest.raises`, where the comparison is the thing expected to raise.",
    },
    Rule {
        id: "and-or-ternary",
        agent: "Sherlock",
        title: "`c and x or y` where `x` can be falsy",
        text: "`c and x or y` yields `y` when `x` is 0, `\"\"` or `None`, even if `c` holds. Write `x if c else y` (pylint's consider-using-ternary).",
    },
    Rule {
        id: "swapped-branches",
        agent: "Sherlock",
        title: "Branches the wrong way round",
        text: "`len(s) if s is not None else s`-style code uses the value in the branch where it is known to be absent, and returns it in the other. Swap the branches.",
    },
    Rule {
        id: "bytes-index-comparison",
        agent: "Sherlock",
        title: "Python 3: a byte compared with a bytes string",
        text: "Indexing `bytes` gives an `int` on Python 3, so `data[0] == b'.'` is always False. Compare with a slice (`data[:1] == b'.'`) or a number (`data[0] == ord('.')`).",
    },
    Rule {
        id: "unanchored-match",
        agent: "Sherlock",
        title: "A pattern that checks only the start",
        text: "`re.match('[0-9]+', t)` succeeds on `\"12abc\"`, so the conversion that follows fails or takes part of the text. Anchor it (`re.fullmatch`, or `$`).",
    },
    Rule {
        id: "local-time-epoch",
        agent: "Sherlock",
        title: "A fixed date read as local time",
        text: "`time.mktime((2011, 1, 1, …))` turns a fixed date into seconds in the machine's time zone: the value differs from machine to machine. Use `calendar.timegm` (UTC) for a fixed instant.",
    },
    Rule {
        id: "dead-store",
        agent: "Sherlock",
        title: "A computed value overwritten before it is read",
        text: "The variable is assigned again before the first value is used, so that computation is lost: often a typo in a name or a line in the wrong place.",
    },
    Rule {
        id: "read-after-unlock",
        agent: "Sherlock",
        title: "Go: shared state used after the lock is released",
        text: "A variable read or written under `mu.Lock()` is used again after `mu.Unlock()`: another goroutine may change it in between. Keep the use inside the lock, or copy the value while holding it.",
    },
    Rule {
        id: "high-complexity",
        agent: "Marie",
        title: "A function with cyclomatic complexity over 10",
        text: "Each decision adds a path; a function with more than 10 needs at least that many tests to cover them and is hard to change safely. Split it, or cover each path with a test.",
    },
    Rule {
        id: "todo",
        agent: "Vince",
        title: "A TODO, FIXME or HACK in the code",
        text: "Work the code says is not done. Vince lists them with who wrote each (from the history) so they can be planned; finish it, or turn it into an issue.",
    },
    Rule {
        id: "img-alt",
        agent: "Maya",
        title: "An image without a text alternative",
        text: "`<img>` without `alt` is read out as its file name, or not at all (WCAG 1.1.1). Describe what it shows in `alt`; use `alt=\"\"` for a decorative image.",
    },
    Rule {
        id: "unlabeled-control",
        agent: "Maya",
        title: "A form control without a label",
        text: "A screen reader cannot say what the field is for (WCAG 4.1.2). Add a `<label for>`, wrap it in `<label>`, or give it `aria-label` or `aria-labelledby`.",
    },
    Rule {
        id: "empty-control",
        agent: "Maya",
        title: "A button or link with nothing to announce",
        text: "A `<button>` or `<a>` without text (only an icon) is announced as \"button\" (WCAG 2.4.4). Add text, or `aria-label`.",
    },
    Rule {
        id: "clickable-non-button",
        agent: "Maya",
        title: "A click handler on something that is not a button",
        text: "A `<div onclick>` or an `<a>` without `href` cannot be reached or used with the keyboard (WCAG 2.1.1). Use `<button>`, or add `role=\"button\"`, `tabindex=\"0\"` and a key handler.",
    },
    Rule {
        id: "html-lang",
        agent: "Maya",
        title: "`<html>` without `lang`",
        text: "Screen readers guess the page's language and may read it with the wrong voice (WCAG 3.1.1). Add `lang=\"en\"` (or the page's language).",
    },
    Rule {
        id: "model",
        agent: "any agent with a model",
        title: "A finding a model reported",
        text: "Published by an agent's model through its `publish_diagnostics` tool: the message is the model's own. Weigh it as a reviewer's comment, not a rule's verdict.",
    },
];

/// The rule named `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// `docs/rules.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# PAIRED's rules\n\n\
         What each of PAIRED's own findings means and what to do about it; an editor's\n\
         diagnostic links here by the finding's code. Findings of the project's own tools\n\
         (`clippy::…`, `ruff:…`, `eslint:…`, `tsc:…`, `govet:…`, `mypy:…`, `flake8:…`) link to\n\
         those tools' pages; `TOOL:failing-test` is a test of the project's that failed.\n\
         Written from `agents/src/skills/rules.rs` (`UPDATE_EXPECT=1 cargo test -p agents rules`).\n",
    );
    for rule in &RULES {
        out.push_str(&format!(
            "\n## {}\n\n**{}** — reported by {}.\n\n{}\n",
            rule.id, rule.title, rule.agent, rule.text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn docs_rules_md_is_written_from_the_list() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
        expect_test::expect_file![path].assert_eq(&markdown());
    }

    /// Every rule id the skills report (`self.find("id"`, `self.find_with("id"`,
    /// a `find("id"` closure, `rule: "id"` in their sources) is in the list, once.
    #[test]
    fn every_rule_the_skills_report_is_listed() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len(), "a rule listed twice");
        let reported =
            regex::Regex::new(r#"(?:self\.find(?:_with)?\(|[^.\w]find\(|\brule: )\s*"([a-z0-9-]+)""#).expect("regex");
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/skills")];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.ends_with("rules.rs")
                    || path.ends_with("tests.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("read");
                for found in reported.captures_iter(&text) {
                    seen += 1;
                    assert!(
                        rule(&found[1]).is_some(),
                        "{}: `{}` is reported but not in RULES",
                        path.display(),
                        &found[1]
                    );
                }
            }
        }
        assert!(seen >= 20, "the scan finds the skills' rules ({seen})");
    }
}
