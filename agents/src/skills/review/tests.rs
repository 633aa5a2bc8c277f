use context::{Language, SyntaxDocument};
use expect_test::{Expect, expect};

use super::{review, review_as};

fn check(path: &str, source: &str, expected: Expect) {
    let doc = SyntaxDocument::new(Language::from_path(path), source.to_owned());
    let output = review(path, &doc);
    let mut out = String::new();
    for finding in &output.findings {
        let line = source[..finding.bytes.start].matches('\n').count() + 1;
        out.push_str(&format!("{line} {} {} {}", finding.rule, finding.severity.name(), finding.message));
        if let Some(fix) = &finding.fix {
            let mut fixed = source.to_owned();
            for edit in fix.edits.iter().rev() {
                fixed.replace_range(edit.bytes.clone(), &edit.new_text);
            }
            let changed: Vec<&str> = fixed.lines().filter(|l| !source.lines().any(|s| s == *l)).collect();
            out.push_str(&format!(" [fix: {} → {changed:?}]", fix.title));
        }
        out.push('\n');
    }
    expected.assert_eq(&out);
}

#[test]
fn rust() {
    check(
        "src/lib.rs",
        r#"pub fn load(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let n: u32 = text.trim().parse().expect("a number");
    // The word unwrap() in a comment, and in a string, is not a call:
    let s = "x.unwrap() panic!()";
    dbg!(n);
    let _ = std::fs::remove_file(path);
    if n == 0 {
        return s.into();
        println!("never");
    }
    // Invariants, not input: quiet.
    let name = std::path::Path::new(path).to_str().unwrap();
    let first = name.chars().next().unwrap();
    let port: u16 = "8080".parse().expect("BUG: the default port is a number");
    // we know our chars are all ascii
    let digits = std::str::from_utf8(&[b'0' + 1]).expect("Conversion to utf8 failed");
    let _ = std::fs::read_to_string(path)?;
    let last = path.split('/').last().unwrap(); // `split` yields at least one piece
    // TODO(ada): cache the parsed value
    text
}

fn many(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: Option<u8>) -> u8 { g.unwrap() }

pub fn first(values: &[u32]) -> u32 {
    *values.first().unwrap()
}

impl S {
    fn method(&self, a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) {}
}

fn nested(x: u8) {
    if x > 0 {
        for _ in 0..x {
            while x > 1 {
                match x {
                    _ => {
                        if x == 2 {
                            todo!()
                        } else if x == 3 {
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn t() {
        Some(1).unwrap();
        panic!("fine in tests");
    }
}
"#,
        expect![[r#"
            2 rust-unwrap warning `unwrap()` panics when this fails: `read_to_string` can fail on input the program does not control; propagate the error with `?` or handle it
            3 rust-unwrap warning `expect()` panics when this fails: `parse` can fail on input the program does not control; propagate the error with `?` or handle it
            6 debug-print warning `dbg!` left in [fix: Replace `dbg!(…)` with `n` → ["    n;"]]
            7 ignored-result info `let _ =` discards this call's result; if it can fail, handle or log the error
            10 unreachable-code warning unreachable: the code above always leaves this block
            24 rust-unwrap warning `unwrap()` panics when this fails: `g` is the caller's to give, `None` or `Err` included; propagate the error with `?` or handle it
            27 rust-unwrap warning `unwrap()` panics when this fails: `first()` on `values`, which the caller gives, is `None` when nothing is there; propagate the error with `?` or handle it
            41 rust-panic warning `todo!` aborts the caller; return an error
        "#]],
    );
}

#[test]
fn python() {
    check(
        "app/service.py",
        r#"import pdb

def handler(event):
    try:
        process(event)
    except:
        pass
    try:
        process(event)
    except ValueError as err:
        log(err)
        raise
        cleanup()
    try:
        flush()
    except BrokenPipeError:
        pass
    try:
        flush()
    except Exception:  # best effort: the log may be gone at exit
        pass
    try:
        flush()
    except Exception:
        pass
    stamp: int | None = None
    try:
        stamp = decode(event)
    except Exception:
        pass
    try:
        other = decode(event)
    except Exception:
        pass
    breakpoint()
    message = "TODO: not a comment, a string"
    # FIXME: retries
    return message
"#,
        expect![[r#"
            6 bare-except warning bare `except:` also catches KeyboardInterrupt and SystemExit [fix: Catch `Exception` instead → []]
            6 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            13 unreachable-code warning unreachable: the code above always leaves this block
            24 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            33 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            35 debugger warning `breakpoint()` stops the program in a debugger [fix: Remove the breakpoint → []]
        "#]],
    );
}

/// Broad catches the code shows it meant stay quiet (the held-out corpus's
/// click, jinja): try/except/else, a comment above the `try`, a function whose
/// docstring says it swallows errors, a default set before an `if` around
/// the `try`, a bare `except:` that hands `sys.exc_info()` on. The same
/// shapes without that evidence are still reported.
#[test]
fn python_intent() {
    check(
        "lib/util.py",
        r#"import sys

def get(obj, argument):
    try:
        attr = str(argument)
    except Exception:
        pass
    else:
        return getattr(obj, attr)

def rename(code):
    # if it's possible, give the code a better name; some platforms cannot
    try:
        code = code.replace(name="template")
    except Exception:
        pass
    return code

def safecall(func):
    """Wraps a function so that it swallows exceptions."""
    def wrapper(*args):
        try:
            return func(*args)
        except Exception:
            pass
    return wrapper

set_next = None
if probe is None:
    try:
        set_next = init_probe()
    except Exception:
        pass

def run(code):
    try:
        exec(code)
    except:
        info = sys.exc_info()
    return info

def careless(func):
    def wrapper(*args):
        try:
            return func(*args)
        except Exception:
            pass
    return wrapper

def still():
    try:
        compute()
    except:
        pass

def loses(data):
    # Load the config
    try:
        save(data)
    except Exception:
        pass
    else:
        log("saved")
    result = None
    for item in data:
        try:
            result = parse(item)
        except Exception:
            pass
    while True:
        try:
            work()
        except:
            log.error(sys.exc_info()[1])

def tidy(text):
    """Blank lines are ignored; raises ValueError on error."""
    try:
        return text.strip()
    except Exception:
        pass
"#,
        expect![[r#"
            46 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            53 bare-except warning bare `except:` also catches KeyboardInterrupt and SystemExit [fix: Catch `Exception` instead → []]
            53 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            60 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            68 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
            73 bare-except warning bare `except:` also catches KeyboardInterrupt and SystemExit [fix: Catch `Exception` instead → []]
            80 swallowed-error warning this `except` swallows the error; handle it, log it, or re-raise
        "#]],
    );
}

#[test]
fn typescript_and_javascript() {
    check(
        "web/api.ts",
        r#"export async function get(url: string): Promise<string> {
  try {
    return await fetch(url).then((r) => r.text());
  } catch (e) {}
  try {
    debugger;
  } catch (e) {
    // offline is fine here
  }
  console.log("fetched", url);
  throw new Error("unreachable after");
  return "";
}
"#,
        expect![[r#"
            4 swallowed-error warning empty `catch` swallows the error; handle it, log it, or say in a comment why it is safe
            6 debugger warning `debugger` statement left in [fix: Remove `debugger` → []]
            10 debug-print info `console.log` left in; use a logger or remove it
            12 unreachable-code warning unreachable: the code above always leaves this block
        "#]],
    );
    // Test files may log and are not reviewed for it.
    check("web/api.test.js", "console.log('ok');\n", expect![""]);
    // Beside other code on its line: the statement and its spaces go, no
    // more; a branch's whole body gets no fix; a Python block's only
    // statement becomes `pass`.
    check(
        "web/wait.js",
        "function wait () { debugger }\nfunction last () { go(); debugger\n}\nif (x) debugger\nrun()\n",
        expect![[r#"
            1 debugger warning `debugger` statement left in [fix: Remove `debugger` → ["function wait () { }"]]
            2 debugger warning `debugger` statement left in [fix: Remove `debugger` → ["function last () { go();"]]
            4 debugger warning `debugger` statement left in
        "#]],
    );
    check(
        "app/main.py",
        "def main():\n    if x:\n        breakpoint()\n    if y: breakpoint()\n    run()\n",
        expect![[r#"
            3 debugger warning `breakpoint()` stops the program in a debugger [fix: Remove the breakpoint → ["        pass"]]
            4 debugger warning `breakpoint()` stops the program in a debugger [fix: Remove the breakpoint → ["    if y: pass"]]
        "#]],
    );
}

#[test]
fn go() {
    check(
        "server/main.go",
        r#"package main

func run() error {
	data, _ := load()
	_ = save(data)
	// Ignore errors: the buffer cannot fail.
	n, _ := buf.WriteString("x")
	_, _ = fmt.Fprintf(os.Stderr, "%d", n)
	// Parse the port.
	port, _ := strconv.Atoi(s)
	if u, _ := url.Parse(s); strings.HasPrefix(u.Path, "http://") {
	}
	value, err := parse(data)
	if err != nil {
	}
	if err != nil {
		return err
	}
	return nil
	use(value)
}
"#,
        expect![[r#"
            4 ignored-error warning the last result of `load` (by convention the error) is discarded
            10 ignored-error warning the last result of `strconv.Atoi` (by convention the error) is discarded
            11 ignored-error warning the last result of `url.Parse` (by convention the error) is discarded
            14 swallowed-error warning `if err != nil {}` ignores the error
            20 unreachable-code warning unreachable: the code above always leaves this block
        "#]],
    );
}

#[test]
fn java() {
    check(
        "src/main/java/App.java",
        r#"public class App {
    void run() {
        try {
            work();
        } catch (Exception e) {
        }
        try {
            work();
        } catch (Exception e) {
            e.printStackTrace();
        }
        System.out.println("done");
    }
}
"#,
        expect![[r#"
            5 swallowed-error warning empty `catch` swallows the error; handle it, log it, or say in a comment why it is safe
            10 swallowed-error info `printStackTrace()` only prints; log the error or rethrow it
            12 debug-print info printing to the console; use a logger
        "#]],
    );
}

/// Length and nesting are Marie's metrics: on real code nobody acted on
/// "split it into smaller functions" (the quality benchmark's labels).
#[test]
fn secrets_but_not_length() {
    let body: String = (0..85).map(|i| format!("    x += {i}\n")).collect();
    let source =
        format!("API_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n\ndef long_one():\n    x = 0\n{body}    return x\n");
    check(
        "conf.py",
        &source,
        expect![[r#"
            1 hardcoded-secret error hard-coded secret (Stripe secret or restricted key); load it from the environment or a secret store
        "#]],
    );
}

#[test]
fn clean_code_has_no_findings() {
    check(
        "src/ok.rs",
        "/// Adds.\npub fn add(a: u32, b: u32) -> Option<u32> {\n    let sum = a.checked_add(b)?;\n    Some(sum)\n}\n",
        expect![""],
    );
}

/// Issue #15: a marketplace reviewer's report said "Sherlock reviewed…".
#[test]
fn the_report_speaks_as_the_agent_that_runs_the_review() {
    let doc = SyntaxDocument::new(
        Language::from_path("src/main.rs"),
        "fn main() { let n: u8 = std::env::args().nth(1).unwrap_or_default().parse().unwrap(); }\n".into(),
    );
    let out = review_as("Holmes", "src/main.rs", &doc);
    assert!(out.report.starts_with("Holmes reviewed `src/main.rs`: 1 finding(s)"), "{}", out.report);
    assert!(!out.report.contains("Sherlock"), "{}", out.report);
    let clean = SyntaxDocument::new(Language::from_path("src/lib.rs"), "pub fn f() {}\n".into());
    assert_eq!(review_as("Holmes", "src/lib.rs", &clean).report, "Holmes reviewed `src/lib.rs`: no findings.\n");
}

#[test]
fn python_bug_patterns() {
    check(
        "pkg/signing.py",
        r#"import re, time
EPOCH = time.mktime((2011, 1, 1, 0, 0, 0, 0, 0, 0))
NOW = time.mktime(time.localtime())

def make_signer(self, salt=None):
    if salt is None:
        salt is self.salt
    x == 1
    return salt

def convert(text):
    key = text.isdigit() and int(text) or text.lower()
    fine = text.isdigit() and "number" or "word"
    n = int(text) if re.match('[0-9]+', text) else text
    m = int(text) if re.match(r'[0-9]+$', text) else text
    if re.search(r'\d+', text):
        return float(text)
    return key, fine, n, m

def width(pwcs, n=None):
    end = len(pwcs) if n is not None else n
    same = n if n is not None else len(pwcs)
    mapped = int(n) if n is not None else n
    return end, same, mapped

def load(payload):
    if payload[0] == b'.':
        payload = payload[1:]
    return payload[-1] != b"\x00", payload[0] == '.'

def unsign(self, signed_value):
    if isinstance(signed_value, str):
        value = signed_value.encode('utf-8')
    if self.sep not in signed_value:
        raise ValueError(self.sep)
    value, sig = signed_value.rsplit(self.sep, 1)
    return value, sig

def quiet(items, flag):
    result = None
    result = compute(items)
    total = len(items)
    total = total + 1
    for item in items:
        found = item.name
        if flag:
            continue
        found = item.other
    seen = compute(items)
    def later():
        return seen
    seen = compute(flag)
    return result, total, found, later

def cleanup(conn):
    try:
        conn.send()
    except:
        conn.close()
        raise
    try:
        conn.send()
    except:  # noqa: E722
        conn.reset()
    try:
        conn.send()
    except:  # noqa: F401
        conn.reset()

def quiet_patterns(flag, x, line, items):
    sep = flag and "," or ";"
    size = x and len(x) or 0
    first = line.split(b' ')[0] == b'#'
    try:
        value = compute(items)
        value = compute(flag)
    except ValueError:
        return value
    try:
        x < flag
    except TypeError:
        pass
    return sep, size, first

def test_ordering():
    with pytest.raises(TypeError):
        v1 > "1.0.0"
    with self.assertRaises(TypeError):
        1 > v1
"#,
        expect![[r#"
            2 local-time-epoch warning `time.mktime` reads this fixed date as local time, so the value differs between machines in different timezones; for a UTC instant use `calendar.timegm(…)`
            7 useless-comparison warning `salt is self.salt` compares and throws the answer away: did you mean `salt = self.salt`?
            8 useless-comparison warning `x == 1` compares and throws the answer away: did you mean `x = 1`?
            12 and-or-ternary warning `… and int(text) or text.lower()` gives `text.lower()` whenever `int(text)` is falsy (0, empty), not only when `text.isdigit()` is false; write `int(text) if text.isdigit() else text.lower()`
            14 unanchored-match warning `re.match` checks only the start of `text`, so text such as '1a' passes and `int(text)` raises ValueError; use `re.fullmatch` (or end the pattern with `$`)
            16 unanchored-match warning `re.search` checks only a part of `text`, so text such as '1a' passes and `float(text)` raises ValueError; use `re.fullmatch` (or end the pattern with `$`)
            21 swapped-branches warning when `n` is given its value is ignored (the result is `len(pwcs)`), and when it is None the result is None: the branches look swapped — `n if n is not None else len(pwcs)`?
            27 bytes-index-comparison warning on Python 3 `payload[0]` of `bytes` is an int, so comparing it with `b'.'` is always False; compare a one-byte slice, `payload[0:1] == b'.'`
            29 bytes-index-comparison warning on Python 3 `payload[-1]` of `bytes` is an int, so comparing it with `b"\x00"` is always True; compare a one-byte slice, `payload[-1:] == b"\x00"`
            33 dead-store warning the value stored in `value` here is never read: line 36 assigns `value` again first — was it meant to be used below?
            67 bare-except warning bare `except:` also catches KeyboardInterrupt and SystemExit [fix: Catch `Exception` instead → ["    except Exception:  # noqa: F401"]]
        "#]],
    );
}

#[test]
fn go_bug_patterns() {
    check(
        "version1.go",
        r#"package uuid

func NewUUID() (UUID, error) {
	nodeMu.Lock()
	if nodeID == zeroID {
		setNodeInterface("")
	}
	nodeMu.Unlock()

	var uuid UUID
	now, seq, err := GetTime()
	if err != nil {
		return uuid, err
	}
	binary.BigEndian.PutUint16(uuid[8:], seq)
	copy(uuid[10:], nodeID[:])
	return uuid, nil
}

func Held() []byte {
	nodeMu.Lock()
	defer nodeMu.Unlock()
	return nodeID[:]
}

func Cached(k string) T {
	mu.Lock()
	v := cache[k]
	mu.Unlock()
	if v == 0 {
		mu.Lock()
		cache[k] = 1
		mu.Unlock()
	}
	return T{cache: v}
}

func Copied() []byte {
	nodeMu.Lock()
	id := nodeID
	nodeMu.Unlock()
	return id[:]
}
"#,
        expect![[r#"
            16 read-after-unlock warning `nodeID` is used here after `nodeMu.Unlock()` (line 8), though it is used under that lock above: another goroutine can change it in between; keep the lock until done with it, or copy it while locked
        "#]],
    );
}
