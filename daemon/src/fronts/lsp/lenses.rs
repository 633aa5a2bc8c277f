//! Code lenses over functions — "Ask Sherlock · Tests · Docs" — from the
//! outline the daemon already has: nothing runs until one is clicked. Hovers
//! over an agent's finding: what it found, the fix it proposes and where the
//! rule is explained.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::agents::RUN_AGENT;

/// The lenses over each function and method: (title, agent, skill).
const LENSES: [(&str, &str, &str); 3] =
    [("Ask Sherlock", "sherlock", "review"), ("Tests", "edison", "tests"), ("Docs", "edison", "document")];

/// `textDocument/codeLens` from a `context/outline` reply.
pub(super) fn code_lenses(outline: Value) -> Value {
    let uri = outline["uri"].clone();
    let mut lenses = Vec::new();
    let mut stack: Vec<&Value> = outline["symbols"].as_array().into_iter().flatten().collect();
    while let Some(symbol) = stack.pop() {
        stack.extend(symbol["children"].as_array().into_iter().flatten());
        if !matches!(symbol["kind"].as_str(), Some("function" | "method")) {
            continue;
        }
        for (title, agent, skill) in LENSES {
            let argument = json!({ "agent": agent, "skill": skill, "uri": uri, "range": symbol["range"] });
            lenses.push(json!({
                "range": symbol["selection_range"],
                "command": { "title": title, "command": RUN_AGENT, "arguments": [argument] },
            }));
        }
    }
    // In the order of the file, as editors expect.
    lenses.sort_by_key(|l| (l["range"]["start"]["line"].as_u64(), l["range"]["start"]["character"].as_u64()));
    Value::Array(lenses)
}

/// `textDocument/hover` over the agents' findings at `position`, by agent;
/// `null` when there are none.
pub(super) fn hover(by_agent: Option<&HashMap<String, Vec<Value>>>, position: &Value) -> Value {
    let at = (position["line"].as_u64().unwrap_or(0), position["character"].as_u64().unwrap_or(0));
    let point = |p: &Value| (p["line"].as_u64().unwrap_or(0), p["character"].as_u64().unwrap_or(0));
    let mut sections = Vec::new();
    let mut agents: Vec<(&String, &Vec<Value>)> = by_agent.into_iter().flatten().collect();
    agents.sort_by_key(|(agent, _)| agent.as_str());
    for (agent, diagnostics) in agents {
        for diagnostic in diagnostics {
            let range = &diagnostic["range"];
            if !(point(&range["start"]) <= at && at <= point(&range["end"])) {
                continue;
            }
            let mut text = format!("**{agent}**: {}", diagnostic["message"].as_str().unwrap_or(""));
            if let Some(code) = diagnostic["code"].as_str() {
                match diagnostic["codeDescription"]["href"].as_str() {
                    Some(href) => text.push_str(&format!("\n\nRule [`{code}`]({href})")),
                    None => text.push_str(&format!("\n\nRule `{code}`")),
                }
                // PAIRED's own rule: what it means and what to do, here.
                if let Some(rule) = ::agents::skills::rules::rule(code) {
                    text.push_str(&format!(": {}. {}", rule.title, rule.text));
                }
            }
            if let Some(fix) = diagnostic["data"]["fix"]["title"].as_str() {
                let edits = diagnostic["data"]["fix"]["edits"].as_array().map_or(0, Vec::len);
                text.push_str(&format!("\n\nFix: {fix} ({edits} edit(s); apply it from the quick fixes)"));
            }
            sections.push(text);
        }
    }
    if sections.is_empty() {
        return Value::Null;
    }
    json!({ "contents": { "kind": "markdown", "value": sections.join("\n\n---\n\n") } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenses_over_functions_and_methods_only_in_file_order() {
        let range =
            |line: u32| json!({"start": {"line": line, "character": 0}, "end": {"line": line + 2, "character": 1}});
        let outline = json!({"uri": "file:///p/a.rs", "symbols": [
            {"name": "S", "kind": "struct", "range": range(0), "selection_range": range(0), "children": []},
            {"name": "impl S", "kind": "impl", "range": range(4), "selection_range": range(4), "children": [
                {"name": "new", "kind": "method", "range": range(5), "selection_range": range(5), "children": []}]},
            {"name": "main", "kind": "function", "range": range(1), "selection_range": range(1), "children": []},
        ]});
        let lenses = code_lenses(outline);
        let lines: Vec<u64> =
            lenses.as_array().expect("array").iter().filter_map(|l| l["range"]["start"]["line"].as_u64()).collect();
        assert_eq!(lines, [1, 1, 1, 5, 5, 5]);
        assert_eq!(lenses[0]["command"]["title"], "Ask Sherlock");
        assert_eq!(
            lenses[4]["command"]["arguments"][0],
            json!({"agent": "edison", "skill": "tests", "uri": "file:///p/a.rs", "range": range(5)})
        );
    }

    #[test]
    fn a_hover_over_a_finding_says_what_why_and_the_fix() {
        let range = json!({"start": {"line": 2, "character": 4}, "end": {"line": 2, "character": 10}});
        let diagnostic = json!({"range": range, "message": "`os` imported but unused", "code": "ruff:F401",
            "codeDescription": {"href": "https://docs.astral.sh/ruff/rules/#F401"},
            "data": {"fix": {"title": "Remove unused import", "edits": [{}]}}});
        let by_agent = HashMap::from([("Sherlock".to_owned(), vec![diagnostic])]);
        let hover = hover(Some(&by_agent), &json!({"line": 2, "character": 6}));
        let text = hover["contents"]["value"].as_str().expect("markdown");
        assert!(text.starts_with("**Sherlock**: `os` imported but unused"), "{text}");
        assert!(text.contains("[`ruff:F401`](https://docs.astral.sh/ruff/rules/#F401)"), "{text}");
        assert!(text.contains("Fix: Remove unused import"), "{text}");
        assert_eq!(super::hover(Some(&by_agent), &json!({"line": 3, "character": 0})), Value::Null);

        // PAIRED's own rule: linked to docs/rules.md, and explained in the hover itself.
        let unwrap = json!({"range": range, "message": "`unwrap()` panics when this fails", "code": "rust-unwrap",
            "codeDescription": {"href": "https://github.com/SEMalytics/paired/blob/main/docs/rules.md#rust-unwrap"}});
        let by_agent = HashMap::from([("Sherlock".to_owned(), vec![unwrap])]);
        let shown = super::hover(Some(&by_agent), &json!({"line": 2, "character": 6}));
        let text = shown["contents"]["value"].as_str().expect("markdown");
        assert!(
            text.contains("[`rust-unwrap`](https://github.com/SEMalytics/paired/blob/main/docs/rules.md#rust-unwrap)"),
            "{text}"
        );
        assert!(text.contains("Propagate the error with `?`"), "{text}");
    }
}
