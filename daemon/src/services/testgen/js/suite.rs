//! Where in a test file a function's new tests go: inside the `describe`
//! block the file keeps for it (`describe('contentType.parse(string)', …)`),
//! after its tests and indented as they are; else at the end of the file.

/// The byte where the tests for `callee` go in `text`, and the indentation
/// of their lines there.
pub(in crate::services::testgen) fn insertion(text: &str, callee: &str) -> (usize, String) {
    suite_end(text, callee).unwrap_or((text.len(), String::new()))
}

/// The start of the closing line of the `describe` named for `callee`
/// (its title the callee, or the callee and its parameters), and its tests'
/// indentation.
fn suite_end(text: &str, callee: &str) -> Option<(usize, String)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix("describe(") else { continue };
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) else { continue };
        let Some(title) = rest[1..].split(quote).next() else { continue };
        let named =
            title == callee || title.starts_with(&format!("{callee}(")) || title.starts_with(&format!("{callee} "));
        if !named || !line.trim_end().ends_with('{') {
            continue;
        }
        let open = start + line.trim_end().len() - 1;
        let close = matching_brace(text, open)?;
        let closing_line = text[..close].rfind('\n').map_or(0, |n| n + 1);
        if !text[closing_line..close].trim().is_empty() {
            return None;
        }
        let outer = &line[..line.len() - trimmed.len()];
        // As the block's first test is indented, else one level in.
        let inner = text[offset..closing_line]
            .lines()
            .find(|l| {
                let t = l.trim_start();
                t.starts_with("it(") || t.starts_with("test(")
            })
            .map(|l| l[..l.len() - l.trim_start().len()].to_owned())
            .unwrap_or_else(|| format!("{outer}  "));
        return Some((closing_line, inner));
    }
    None
}

/// The `}` that closes the `{` at `open`: strings, template literals and
/// comments are skipped. None when the file ends first.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut at) = (0usize, open);
    while at < bytes.len() {
        match bytes[at] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            quote @ (b'\'' | b'"' | b'`') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at += text[at..].find('\n')?;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at += text[at..].find("*/")? + 1;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// `tests` (lines at the top level) indented by `indent`.
pub(in crate::services::testgen) fn indented(tests: &str, indent: &str) -> String {
    tests
        .split_inclusive('\n')
        .map(|line| if line.trim().is_empty() { line.to_owned() } else { format!("{indent}{line}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_join_the_suite_named_for_the_function() {
        let file = "var assert = require('assert')\n\ndescribe('contentType.format(obj)', function () {\n  it('formats', function () {\n    assert.ok('}' && \"{\" && `${1}`) // a } in a comment\n  })\n})\n\ndescribe('contentType.parse(string)', function () {\n  /* { */\n  it('parses', function () {\n    assert.ok(1)\n  })\n})\n\nfunction helper () {}\n";
        let (at, indent) = insertion(file, "contentType.parse");
        assert_eq!(&file[at..], "})\n\nfunction helper () {}\n");
        assert_eq!(indent, "  ");
        let (at, _) = insertion(file, "contentType.format");
        assert!(file[..at].ends_with("a } in a comment\n  })\n"), "{}", &file[..at]);
        assert_eq!(insertion(file, "contentType.other").0, file.len(), "no suite: the end");
        let destr = "describe(\"destr\", () => {\n  it(\"x\", () => {});\n});\n";
        assert_eq!(insertion(destr, "destr").0, destr.rfind("});").expect("its end"));
        assert_eq!(
            indented("\nit('a', function () {\n  x()\n})\n", "  "),
            "\n  it('a', function () {\n    x()\n  })\n"
        );
    }
}
