//! The agents in the editor, over LSP: code actions that run an agent's skill on
//! the selection or symbol, `workspace/executeCommand` to run them, findings as
//! diagnostics whose source names the agent (with quick fixes), and proposed
//! edits through `workspace/applyEdit`. Plain JSON in, plain JSON out: the
//! proxy does the talking.

use std::collections::HashMap;

use serde_json::{Value, json};

/// The command every agent action runs.
pub const RUN_AGENT: &str = "paired.runAgent";
/// Runs a workflow on the file or selection: `[{workflow, uri?, range?, prompt?}]`.
pub const RUN_WORKFLOW: &str = "paired.runWorkflow";
/// The user's verdict on a finding: `[{source, item, accepted}]`; a quick fix
/// runs it after its edit, so that what users act on counts as accepted work.
pub const FEEDBACK: &str = "paired.feedback";
/// Workflows offered as code actions on any file.
const FILE_WORKFLOWS: [(&str, &str); 2] = [
    ("review", "PAIRED: review workflow (Sherlock + Leonardo, merged by Alex)"),
    ("docs", "PAIRED: document this file (docs workflow)"),
];

/// Skills that make sense on a selection or cursor in a file.
const IN_FILE_SCOPES: [&str; 2] = ["file", "symbol"];

/// `textDocument/codeAction`: one action per agent skill that works on a file
/// or a symbol, plus the quick fixes carried by PAIRED diagnostics in range.
pub fn code_actions(agents: &Value, params: &Value) -> Value {
    let uri = &params["textDocument"]["uri"];
    let range = &params["range"];
    let mut actions = Vec::new();
    for diagnostic in params["context"]["diagnostics"].as_array().into_iter().flatten() {
        let Some(fix) = diagnostic["data"]["fix"].as_object() else { continue };
        let title = fix.get("title").cloned().unwrap_or(Value::from("Apply fix"));
        let mut action = json!({
            "title": title,
            "kind": "quickfix",
            "diagnostics": [diagnostic],
            "isPreferred": true,
            "edit": workspace_edit(fix.get("edits").and_then(Value::as_array).map_or(&[][..], Vec::as_slice)),
        });
        // The editor runs the command after applying the edit: the fix was taken.
        let feedback = &diagnostic["data"]["feedback"];
        if feedback["source"].is_string() && feedback["item"].is_string() {
            let verdict = json!({"source": feedback["source"], "item": feedback["item"], "accepted": true});
            action["command"] = json!({"title": title, "command": FEEDBACK, "arguments": [verdict]});
        }
        actions.push(action);
    }
    let only: Vec<&str> =
        params["context"]["only"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let wanted = |kind: &str| only.is_empty() || only.iter().any(|o| kind.starts_with(o));
    for agent in agents.as_array().into_iter().flatten() {
        for skill in agent["skills"].as_array().into_iter().flatten() {
            let scope = skill["scope"].as_str().unwrap_or("");
            if !IN_FILE_SCOPES.contains(&scope) {
                continue;
            }
            let kind = if scope == "symbol" { "refactor.paired" } else { "source.paired" };
            if !wanted(kind) {
                continue;
            }
            let arguments = json!([{
                "agent": agent["id"],
                "skill": skill["name"],
                "uri": uri,
                "range": range,
            }]);
            actions.push(json!({
                "title": skill["title"],
                "kind": kind,
                "command": { "title": skill["title"], "command": RUN_AGENT, "arguments": arguments },
            }));
        }
    }
    if wanted("source.paired") {
        for (workflow, title) in FILE_WORKFLOWS {
            let arguments = json!([{ "workflow": workflow, "uri": uri, "range": range }]);
            actions.push(json!({
                "title": title,
                "kind": "source.paired",
                "command": { "title": title, "command": RUN_WORKFLOW, "arguments": arguments },
            }));
        }
    }
    Value::Array(actions)
}

/// `workflows/run` params from `paired.runWorkflow`'s argument.
pub fn workflow_params(arguments: &Value) -> Option<Value> {
    let argument = arguments.get(0)?;
    let workflow = argument["workflow"].as_str()?;
    let mut params = json!({ "workflow": workflow });
    for key in ["uri", "range", "position", "prompt"] {
        if !argument[key].is_null() {
            params[key] = argument[key].clone();
        }
    }
    Some(params)
}

/// A finished session as a run, for the diagnostics, edits and message a run gets.
pub fn session_as_run(session: &Value) -> Value {
    let steps = session["steps"].as_array().cloned().unwrap_or_default();
    let findings: Vec<Value> = steps
        .iter()
        .rev()
        .find(|s| s["skill"] == "merge")
        .map(|s| s["findings"].as_array().cloned().unwrap_or_default())
        .unwrap_or_else(|| steps.iter().flat_map(|s| s["findings"].as_array().cloned().unwrap_or_default()).collect());
    json!({
        "id": session["id"],
        "agent": format!("{}", session["workflow"].as_str().unwrap_or("workflow")),
        "status": session["status"],
        "uri": session["params"]["uri"],
        "output": session["output"],
        "findings": findings,
        // A session that did not succeed is not half-applied: its edits stay on it.
        "edits": if session["status"] == "succeeded" { session["edits"].clone() } else { json!([]) },
        "error": session["error"],
    })
}

/// `agents/feedback` params from `paired.feedback`'s argument.
pub fn feedback_params(arguments: &Value) -> Option<Value> {
    let argument = arguments.get(0)?;
    let source = argument["source"].as_str()?;
    let item = argument["item"].as_str()?;
    let accepted = argument["accepted"].as_bool()?;
    Some(json!({"source": source, "verdicts": [{"item": item, "accepted": accepted}]}))
}

/// `agents/run` params from `paired.runAgent`'s argument.
pub fn run_params(arguments: &Value) -> Option<Value> {
    let argument = arguments.get(0)?;
    let agent = argument["agent"].as_str()?;
    let mut params = json!({ "agent": agent, "wait": true });
    for key in ["skill", "uri", "range", "position", "prompt"] {
        if !argument[key].is_null() {
            params[key] = argument[key].clone();
        }
    }
    Some(params)
}

fn severity(name: &str) -> u8 {
    match name {
        "error" => 1,
        "warning" => 2,
        "info" => 3,
        _ => 4,
    }
}

/// A run's findings as LSP diagnostics, by document; `source` names the agent.
pub fn diagnostics(run: &Value, source: &str) -> HashMap<String, Vec<Value>> {
    let mut by_uri: HashMap<String, Vec<Value>> = HashMap::new();
    let default_uri = run["uri"].as_str().unwrap_or("");
    for (n, finding) in run["findings"].as_array().into_iter().flatten().enumerate() {
        let uri = finding["uri"].as_str().unwrap_or(default_uri);
        if uri.is_empty() {
            continue;
        }
        let mut diagnostic = json!({
            "range": finding["range"],
            "severity": severity(finding["severity"].as_str().unwrap_or("")),
            "code": finding["rule"],
            "source": source,
            "message": finding["message"],
        });
        if let Some(href) = finding["rule"].as_str().and_then(::agents::toolchain::docs::rule_url) {
            diagnostic["codeDescription"] = json!({ "href": href });
        }
        if !finding["fix"].is_null() {
            // Which finding of which run (or session) it is, for the verdict.
            let feedback = run["id"].as_str().map(|id| json!({"source": id, "item": format!("finding:{n}")}));
            diagnostic["data"] = json!({ "fix": finding["fix"], "feedback": feedback });
        }
        by_uri.entry(uri.to_owned()).or_default().push(diagnostic);
    }
    by_uri
}

/// A `WorkspaceEdit` from PAIRED text edits; an edit at 0:0 of a file that does
/// not exist creates it.
pub fn workspace_edit(edits: &[Value]) -> Value {
    proposal(edits, None)
}

/// A `WorkspaceEdit` the editor applies only after the user reviewed it: every
/// change carries a change annotation that needs confirmation (one per file,
/// labelled `<agent>: <file>`), so VS Code opens its refactor preview, where
/// each file and each hunk can be accepted or left out.
pub fn reviewed_edit(edits: &[Value], agent: &str) -> Value {
    proposal(edits, Some(agent))
}

fn proposal(edits: &[Value], review_by: Option<&str>) -> Value {
    // One text-document edit per file, holding all its edits: the edits of one
    // `TextEdit[]` all refer to the document as it was, whereas separate
    // entries for the same file would each see the previous one applied.
    let mut changes: Vec<Value> = Vec::new();
    let mut annotations = serde_json::Map::new();
    for edit in edits {
        let uri = edit["uri"].as_str().unwrap_or("");
        let file = uri.rsplit('/').next().unwrap_or(uri);
        let annotation = review_by.map(|agent| {
            let id = format!("paired:{uri}");
            annotations.entry(id.clone()).or_insert_with(
                || json!({ "label": format!("{agent}: {file}"), "needsConfirmation": true, "description": uri }),
            );
            id
        });
        let mut text_edit = json!({ "range": edit["range"], "newText": edit["new_text"] });
        if let Some(id) = &annotation {
            text_edit["annotationId"] = json!(id);
        }
        if let Some(existing) = changes.iter_mut().find(|c| c["textDocument"]["uri"] == uri) {
            if let Some(list) = existing["edits"].as_array_mut() {
                list.push(text_edit);
            }
            continue;
        }
        if crate::platform::uri::to_path(uri).is_some_and(|p| !p.exists()) {
            let mut create = json!({ "kind": "create", "uri": uri, "options": { "ignoreIfExists": true } });
            if let Some(id) = &annotation {
                create["annotationId"] = json!(id);
            }
            changes.push(create);
        }
        changes.push(json!({ "textDocument": { "uri": uri, "version": null }, "edits": [text_edit] }));
    }
    let mut edit = json!({ "documentChanges": changes });
    if !annotations.is_empty() {
        edit["changeAnnotations"] = Value::Object(annotations);
    }
    edit
}

/// What the editor shows when a run ends.
pub fn summary(run: &Value, agent: &str) -> String {
    let findings = run["findings"].as_array().map_or(0, Vec::len);
    let edits = run["edits"].as_array().map_or(0, Vec::len);
    match run["status"].as_str() {
        Some("succeeded") => {
            let first = run["output"].as_str().unwrap_or("").lines().next().unwrap_or("").to_owned();
            let mut text = if first.is_empty() { format!("{agent}: done") } else { first };
            if findings > 0 {
                text.push_str(&format!(" ({findings} finding(s) in Problems)"));
            }
            if edits > 0 {
                text.push_str(&format!(" ({edits} edit(s) proposed)"));
            }
            text
        }
        Some(status) => format!("{agent}: run {status}: {}", run["error"].as_str().unwrap_or("")),
        None => format!("{agent}: no result"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_to_one_file_go_in_one_text_document_edit() {
        let edit = |line: u32, text: &str| {
            json!({"uri": "file:///nonexistent-paired/a.rs", "new_text": text,
                   "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}})
        };
        let other = json!({"uri": "file:///nonexistent-paired/b.rs", "new_text": "x",
                           "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}});
        let change = workspace_edit(&[edit(4, "a"), edit(0, "b"), other.clone()]);
        let changes = change["documentChanges"].as_array().expect("changes");
        // a.rs: a create (it does not exist) and one edit list; b.rs the same.
        let lists: Vec<usize> = changes.iter().filter_map(|c| c["edits"].as_array().map(Vec::len)).collect();
        assert_eq!(lists, [2, 1]);
        assert!(change.get("changeAnnotations").is_none());
        // For review: every change, the creates too, under its file's annotation.
        let reviewed = reviewed_edit(&[edit(4, "a"), edit(0, "b"), other], "Edison");
        let annotations = reviewed["changeAnnotations"].as_object().expect("annotations");
        assert_eq!(annotations.len(), 2, "one per file");
        let a = &annotations["paired:file:///nonexistent-paired/a.rs"];
        assert_eq!((a["label"].as_str(), a["needsConfirmation"].as_bool()), (Some("Edison: a.rs"), Some(true)));
        for change in reviewed["documentChanges"].as_array().expect("changes") {
            let ids: Vec<&Value> = match change["edits"].as_array() {
                Some(edits) => edits.iter().map(|e| &e["annotationId"]).collect(),
                None => vec![&change["annotationId"]],
            };
            assert!(ids.iter().all(|id| id.as_str().is_some_and(|id| annotations.contains_key(id))), "{change}");
        }
    }

    #[test]
    fn actions_for_file_and_symbol_skills_and_quick_fixes() {
        let agents = json!([
            {"id": "sherlock", "skills": [{"name": "review", "title": "Sherlock: review", "scope": "file"}]},
            {"id": "leonardo", "skills": [{"name": "architecture", "title": "Leonardo: architecture", "scope": "workspace"}]},
            {"id": "edison", "skills": [{"name": "document", "title": "Edison: document", "scope": "symbol"}]},
        ]);
        let params = json!({
            "textDocument": {"uri": "file:///p/a.rs"},
            "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
            "context": {"diagnostics": [{"message": "x", "data": {"fix": {"title": "Replace", "edits": [
                {"uri": "file:///p/a.rs", "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 3}}, "new_text": "y"}
            ]}}}]},
        });
        let actions = code_actions(&agents, &params);
        let titles: Vec<&str> = actions.as_array().expect("array").iter().filter_map(|a| a["title"].as_str()).collect();
        assert_eq!(
            titles,
            [
                "Replace",
                "Sherlock: review",
                "Edison: document",
                "PAIRED: review workflow (Sherlock + Leonardo, merged by Alex)",
                "PAIRED: document this file (docs workflow)"
            ]
        );
        assert_eq!(actions[3]["command"]["command"], RUN_WORKFLOW);
        // /p/a.rs does not exist here: the edit creates it first.
        assert_eq!(actions[0]["edit"]["documentChanges"][0]["kind"], "create");
        assert_eq!(actions[0]["edit"]["documentChanges"][1]["edits"][0]["newText"], "y");
        assert_eq!(actions[1]["command"]["command"], RUN_AGENT);
        let params = run_params(&actions[2]["command"]["arguments"]).expect("params");
        assert_eq!(params["agent"], "edison");
        assert_eq!(params["wait"], true);
        let only =
            json!({"textDocument": {"uri": "u"}, "range": {}, "context": {"diagnostics": [], "only": ["quickfix"]}});
        assert_eq!(code_actions(&agents, &only), json!([]));
    }
}
