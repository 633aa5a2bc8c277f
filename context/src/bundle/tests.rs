use expect_test::{Expect, expect};

use super::*;
use crate::{
    Language,
    index::{FileEntry, MANIFESTS},
};

const MODELS: &str = "class User:\n    \"\"\"A user.\"\"\"\n    def __init__(self, name):\n        self.name = name\n\n\ndef load_user(name):\n    return User(name)\n";
const VIEWS: &str = "from app.models import User, load_user\n\n\ndef show(name):\n    user = load_user(name)\n    return render(user)\n\n\ndef render(user):\n    return f\"<p>{user.name}</p>\"\n";
const API: &str = "from app.views import show\n\n\ndef handler(request):\n    return show(request.args['name'])\n";

/// The bundle as plain text, in the layout `paired context` prints.
fn render_text(bundle: &Bundle) -> String {
    let mut out = String::new();
    for part in &bundle.parts {
        let lines = part.lines.map(|(a, b)| format!(" lines {a}-{b}")).unwrap_or_default();
        let cut = if part.truncated { ", cut" } else { "" };
        out.push_str(&format!("── {}{lines} (~{} tokens{cut})\n", part.title, part.tokens));
        out.push_str(&part.text);
        if !part.text.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(&format!("── {} of {} tokens used", bundle.tokens, bundle.budget));
    if !bundle.dropped.is_empty() {
        let dropped: Vec<String> =
            bundle.dropped.iter().map(|d| format!("{} (~{} tokens)", d.title, d.tokens)).collect();
        out.push_str(&format!("; left out: {}", dropped.join(", ")));
    }
    if !bundle.redactions.is_empty() {
        let r: Vec<String> = bundle.redactions.iter().map(|(rule, n)| format!("{rule} ×{n}")).collect();
        out.push_str(&format!("; secrets redacted: {}", r.join(", ")));
    }
    out.push('\n');
    out
}

fn workspace() -> WorkspaceIndex {
    let mut index = WorkspaceIndex::default();
    let files = [
        ("app/models.py", MODELS),
        ("app/views.py", VIEWS),
        ("app/api.py", API),
        ("pyproject.toml", "[project]\ndependencies = [\"flask\"]\n[tool.pytest.ini_options]\n"),
    ];
    for (path, text) in files {
        if MANIFESTS.contains(&path) {
            index.set_manifest(path, text.to_owned());
        }
        index.upsert(path, FileEntry::parse(Language::from_path(path), text));
    }
    index
}

fn read(path: &str) -> Option<String> {
    match path {
        "app/models.py" => Some(MODELS.to_owned()),
        "app/views.py" => Some(VIEWS.to_owned()),
        "app/api.py" => Some(API.to_owned()),
        _ => None,
    }
}

fn check(text: &str, cursor_line: u32, budget: usize, question: Option<&str>, expected: Expect) {
    let index = workspace();
    let doc = SyntaxDocument::new(Language::Python, text.to_owned());
    let line_start: usize = text.split_inclusive('\n').take(cursor_line as usize).map(str::len).sum();
    let cursor = line_start + 4;
    let diagnostics = ["5: warning: `user` may be None".to_owned()];
    let bundle = build(&BundleInput {
        path: "app/views.py",
        document: &doc,
        selection: cursor..cursor,
        question,
        diagnostics: &diagnostics,
        index: Some(&index),
        entry: None,
        read_file: &read,
        budget_tokens: budget,
        redact: true,
    });
    assert!(bundle.tokens <= budget, "{} > {budget}", bundle.tokens);
    expected.assert_eq(&render_text(&bundle));
}

#[test]
fn bundle_has_every_kind_of_part_in_priority_order() {
    check(
        VIEWS,
        4,
        2000,
        Some("Why is the name missing?"),
        expect![[r#"
            ── question (~6 tokens)
            Why is the name missing?
            ── around the cursor lines 1-10 (~41 tokens)
            from app.models import User, load_user


            def show(name):
                user = load_user(name)
                return render(user)


            def render(user):
                return f"<p>{user.name}</p>"
            ── diagnostics (~8 tokens)
            5: warning: `user` may be None
            ── function load_user (app/models.py) lines 7-8 (~11 tokens)
            def load_user(name):
                return User(name)
            ── call of show in app/api.py lines 3-5 (~16 tokens)

            def handler(request):
                return show(request.args['name'])
            ── from app/models.py: from app.models import User, load_user (~8 tokens)
            class User
            def load_user(name)
            ── project (~25 tokens)
            languages: python (3 files)
            build files: pyproject.toml
            test frameworks: pytest
            frameworks: flask
            ── 115 of 2000 tokens used
        "#]],
    );
}

#[test]
fn a_small_budget_drops_the_least_relevant_parts_and_says_so() {
    check(
        VIEWS,
        4,
        60,
        None,
        expect![[r#"
            ── around the cursor lines 1-10 (~41 tokens)
            from app.models import User, load_user


            def show(name):
                user = load_user(name)
                return render(user)


            def render(user):
                return f"<p>{user.name}</p>"
            ── diagnostics (~8 tokens)
            5: warning: `user` may be None
            ── function load_user (app/models.py) lines 7-8 (~11 tokens)
            def load_user(name):
                return User(name)
            ── 60 of 60 tokens used; left out: call of show in app/api.py (~16 tokens), from app/models.py: from app.models import User, load_user (~8 tokens), project (~25 tokens)
        "#]],
    );
}

#[test]
fn secrets_are_redacted_and_counted() {
    let text = "API_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n\ndef call():\n    return API_KEY\n";
    let doc = SyntaxDocument::new(Language::Python, text.to_owned());
    let input = |redact| BundleInput {
        path: "app/pay.py",
        document: &doc,
        selection: 60..60,
        question: None,
        diagnostics: &[],
        index: None,
        entry: None,
        read_file: &|_| None,
        budget_tokens: 1000,
        redact,
    };
    let bundle = build(&input(true));
    assert_eq!(bundle.redactions.get("stripe-key"), Some(&1));
    let rendered = render_text(&bundle);
    assert!(!rendered.contains("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), "{rendered}");
    assert!(rendered.contains("[REDACTED:stripe-key]"));
    // For a local provider nothing needs removing.
    let local = build(&input(false));
    assert!(local.redactions.is_empty());
    assert!(render_text(&local).contains("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
}

#[test]
fn an_oversized_part_is_cut_at_a_line_boundary() {
    check(
        VIEWS,
        4,
        30,
        None,
        expect![[r#"
            ── around the cursor lines 1-7 (~29 tokens, cut)
            from app.models import User, load_user


            def show(name):
                user = load_user(name)
                return render(user)

            …
            ── 29 of 30 tokens used; left out: rest of around the cursor (~12 tokens), diagnostics (~8 tokens), function show (~17 tokens), function load_user (app/models.py) (~11 tokens), function render (app/views.py) (~13 tokens), call of show in app/api.py (~16 tokens), from app/models.py: from app.models import User, load_user (~8 tokens), project (~25 tokens)
        "#]],
    );
}

/// A file that is not open is not parsed: its structure comes from the index,
/// and the bundle is the same.
#[test]
fn closed_files_use_the_index_instead_of_a_parse() {
    let index = workspace();
    let cursor = VIEWS.find("user = load_user").expect("cursor");
    let bundle = |document: &SyntaxDocument, entry| {
        render_text(&build(&BundleInput {
            path: "app/views.py",
            document,
            selection: cursor..cursor,
            question: None,
            diagnostics: &[],
            index: Some(&index),
            entry,
            read_file: &read,
            budget_tokens: 2000,
            redact: true,
        }))
    };
    let parsed = SyntaxDocument::new(Language::Python, VIEWS.to_owned());
    let unparsed = SyntaxDocument::new(Language::PlainText, VIEWS.to_owned());
    assert_eq!(bundle(&unparsed, index.file("app/views.py")), bundle(&parsed, None));
}

/// A window that cuts through a private key still hides all of it: whole files
/// are redacted before lines are cut out of them, and line numbers still hold.
#[test]
fn a_cut_through_a_key_hides_the_whole_key() {
    let key_body: String = (0..12).map(|i| format!("MIIEowIBAAKCAQEA7bq0line{i:02}\n")).collect();
    let text = format!(
        "x = 1\n-----BEGIN RSA PRIVATE KEY-----\n{key_body}-----END RSA PRIVATE KEY-----\na = 1\nb = 2\nc = 3\ny = 2\n"
    );
    let doc = SyntaxDocument::new(Language::Python, text.clone());
    // The ±10-line window around the cursor starts inside the key, after BEGIN.
    let cursor = text.find("y = 2").expect("cursor");
    let bundle = build(&BundleInput {
        path: "keys.py",
        document: &doc,
        selection: cursor..cursor,
        question: None,
        diagnostics: &[],
        index: None,
        entry: None,
        read_file: &|_| None,
        budget_tokens: 1000,
        redact: true,
    });
    let rendered = render_text(&bundle);
    for secret_line in key_body.lines() {
        assert!(!rendered.contains(secret_line), "{rendered}");
    }
    assert_eq!(bundle.redactions.get("private-key"), Some(&1));
    let selection = &bundle.parts[0];
    assert_eq!(selection.lines, Some((9, 19)), "line numbers still match the file");
    assert!(selection.text.ends_with("y = 2\n"), "{}", selection.text);
}
