//! Where a tool's rule is explained: the page a diagnostic's code links to.

/// The documentation page of a finding's rule (`clippy::needless_return`,
/// `ruff:F401`, `eslint:no-unused-vars`, …), when the tool publishes one per rule.
pub fn rule_url(rule: &str) -> Option<String> {
    // PAIRED's own rules: their section of docs/rules.md.
    if let Some(own) = crate::skills::rules::rule(rule) {
        return Some(format!("{}/blob/main/docs/rules.md#{}", env!("CARGO_PKG_REPOSITORY"), own.id));
    }
    let (tool, code) = rule.split_once("::").or_else(|| rule.split_once(':'))?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '/' || c == '@';
    if code.is_empty() || !code.chars().all(plain) {
        return None;
    }
    Some(match tool {
        "clippy" => format!("https://rust-lang.github.io/rust-clippy/master/index.html#{code}"),
        "rustc" if code.starts_with('E') && code[1..].chars().all(|c| c.is_ascii_digit()) => {
            format!("https://doc.rust-lang.org/error_codes/{code}.html")
        }
        "rustc" => format!("https://doc.rust-lang.org/rustc/lints/listing/index.html#{}", code.replace('_', "-")),
        // The rules' index (each rule's own page is by name, not code).
        "ruff" => format!("https://docs.astral.sh/ruff/rules/#{code}"),
        "flake8" => format!("https://www.flake8rules.com/rules/{code}.html"),
        "mypy" => format!("https://mypy.readthedocs.io/en/stable/error_code_list.html#code-{code}"),
        "eslint" => match code.strip_prefix("@typescript-eslint/") {
            Some(rule) => format!("https://typescript-eslint.io/rules/{rule}"),
            None if !code.contains('/') => format!("https://eslint.org/docs/latest/rules/{code}"),
            None => return None,
        },
        "govet" => format!("https://pkg.go.dev/golang.org/x/tools/go/analysis/passes/{code}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::rule_url;

    #[test]
    fn each_tool_links_to_its_own_page_for_the_rule() {
        let url = |rule: &str| rule_url(rule).unwrap_or_default();
        assert_eq!(
            url("clippy::needless_return"),
            "https://rust-lang.github.io/rust-clippy/master/index.html#needless_return"
        );
        assert_eq!(url("rustc::E0308"), "https://doc.rust-lang.org/error_codes/E0308.html");
        assert_eq!(url("rust-unwrap"), "https://github.com/SEMalytics/paired/blob/main/docs/rules.md#rust-unwrap");
        assert_eq!(rule_url("no-such-rule"), None);
        assert_eq!(url("ruff:F401"), "https://docs.astral.sh/ruff/rules/#F401");
        assert_eq!(url("eslint:no-unused-vars"), "https://eslint.org/docs/latest/rules/no-unused-vars");
        assert_eq!(
            url("eslint:@typescript-eslint/no-explicit-any"),
            "https://typescript-eslint.io/rules/no-explicit-any"
        );
        assert_eq!(url("mypy:arg-type"), "https://mypy.readthedocs.io/en/stable/error_code_list.html#code-arg-type");
        assert_eq!(rule_url("eslint:react/jsx-key"), None, "a plugin's rules live on the plugin's site");
        assert_eq!(rule_url("ruff:F401\"><script>"), None);
    }
}
