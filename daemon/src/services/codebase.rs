//! The codebase service: the documents editors have open and the workspaces
//! the daemon indexes, and what is asked of them (`context/*`, `workspaces/*`):
//! outlines, symbol search, context bundles. Domain types from the `context`
//! crate become protocol types here, and byte columns LSP's UTF-16 ones.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
};

use context::{
    SyntaxDocument,
    bundle::{self, BundleInput},
    symbols::{self, Symbol},
};
use protocol::{
    context::{
        AddWorkspaceParams, BuildParams, BundlePart, ContextBundle, DocumentOutline, DroppedPart, ImportInfo,
        OutlineParams, OutlineSymbol, ProjectFacts, SymbolMatch, SymbolQuery, WorkspaceStatus,
    },
    documents::Range,
};

use crate::{
    platform::uri,
    services::documents::{ClientId, Documents, byte_offset},
    services::workspace::{self, Workspace, Workspaces},
};

/// Open documents and indexed workspaces: what every request about code reads.
pub struct Codebase {
    documents: Mutex<Documents<SyntaxDocument>>,
    /// Each client's updates and the reads that must see them take turns, in
    /// the order they arrived, waiting without holding a runtime worker; the
    /// update itself is applied on the documents thread (`server::router`).
    /// One turn per client: an editor's updates never wait for another's
    /// turn (connections that never attached share one).
    turns: Mutex<HashMap<ClientId, Arc<tokio::sync::Mutex<()>>>>,
    /// The last count [`Codebase::open_count`] took.
    open_count: std::sync::atomic::AtomicU32,
    pub workspaces: Workspaces,
    /// Where index warnings go.
    events: crate::services::events::Events,
    /// A context bundle's budget when the request names none.
    budget_tokens: u32,
}

impl Codebase {
    pub fn new(full_parse_max: usize, budget_tokens: u32, events: crate::services::events::Events) -> Codebase {
        Codebase {
            documents: Mutex::default(),
            turns: Mutex::default(),
            open_count: std::sync::atomic::AtomicU32::new(0),
            workspaces: Workspaces::new(full_parse_max),
            events,
            budget_tokens,
        }
    }

    pub fn documents(&self) -> MutexGuard<'_, Documents<SyntaxDocument>> {
        self.documents.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many documents are open, without waiting for the documents' lock
    /// (for `daemon/status` on a runtime worker): the last count taken when
    /// an update holds it.
    pub fn open_count(&self) -> u32 {
        match self.documents.try_lock() {
            Ok(documents) => {
                let count = documents.len() as u32;
                self.open_count.store(count, std::sync::atomic::Ordering::Relaxed);
                count
            }
            Err(_) => self.open_count.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// `client`'s turn (see `turns`), held while its update is applied.
    pub async fn turn(&self, client: ClientId) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = self.turns.lock().unwrap_or_else(|p| p.into_inner()).entry(client).or_default().clone();
        turn.lock_owned().await
    }

    /// Releases everything `client` held, in its turn, on the documents thread
    /// (`documents`: where every update is applied, ahead of bursts queued
    /// there): the documents that closed.
    pub async fn release_client(
        self: &Arc<Self>,
        client: ClientId,
        documents: &crate::platform::serial::Serial,
    ) -> Vec<String> {
        let turn = self.turn(client).await;
        let codebase = self.clone();
        // Not the blocking pool: fifty editors going at once would start a
        // thread each from inside runtime polls, under the pool's lock.
        let closed =
            documents.run_sized(0, move || codebase.documents().release_client(client)).await.unwrap_or_default();
        self.turns.lock().unwrap_or_else(|p| p.into_inner()).remove(&client);
        drop(turn);
        closed
    }
}

/// Why a request about code was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path leads out of its workspace or is excluded there.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// The file a URI names, resolved and checked ([`crate::services::workspace::Workspaces::resolve`]):
/// refused when it leads out of its workspace (or out of `within`) or is
/// excluded there. `None` for a URI that names no file (`untitled:`).
pub(crate) fn resolve_uri(
    codebase: &Codebase,
    uri: &str,
    within: Option<&std::path::Path>,
) -> Result<Option<workspace::Resolved>, Error> {
    let Some(path) = uri::to_path(uri) else { return Ok(None) };
    codebase.workspaces.resolve(&path, within).map(Some).map_err(|why| Error::Refused(why.to_string()))
}

/// The text of `uri`: the editor's open copy, else the file on disk. The path
/// is resolved and checked first, open or not; the real path is returned.
pub(crate) fn document_for(codebase: &Codebase, uri: &str) -> Result<(SyntaxDocument, Option<PathBuf>), Error> {
    let path = resolve_uri(codebase, uri, None)?.map(|resolved| resolved.path);
    // A clone shares the tree (reference-counted). If edits are pending, the
    // clone parses them first, under the documents lock, and the open document
    // keeps the result: the next request does not parse again.
    if let Some((buffer, _)) = codebase.documents().buffer(uri) {
        return Ok((buffer.clone(), path));
    }
    let path = path.ok_or_else(|| Error::Invalid(format!("{uri} is neither open nor a file:// URI")))?;
    let text = workspace::read_source(&path).ok_or_else(|| {
        Error::NotFound(format!("{} is not open and cannot be read as a text file under 2 MiB", path.display()))
    })?;
    let language = context::Language::from_path(&path.to_string_lossy());
    Ok((SyntaxDocument::new(language, text), Some(path)))
}

pub fn outline(codebase: &Codebase, params: OutlineParams) -> Result<DocumentOutline, Error> {
    let (doc, _) = document_for(codebase, &params.uri)?;
    let outline = symbols::outline(&doc);
    let lines = LineIndex::new(doc.text());
    Ok(DocumentOutline {
        uri: params.uri,
        language: language(doc.language()),
        symbols: outline.symbols.iter().map(|s| outline_symbol(&lines, s)).collect(),
        imports: outline.imports.iter().map(|i| ImportInfo { text: i.text.clone(), line: i.line }).collect(),
    })
}

fn outline_symbol(lines: &LineIndex<'_>, symbol: &Symbol) -> OutlineSymbol {
    let clean = |text: &str| context::redact::redact("", text).0;
    OutlineSymbol {
        name: symbol.name.clone(),
        kind: symbol_kind(symbol.kind),
        range: Range { start: lines.lsp(symbol.start), end: lines.lsp(symbol.end) },
        selection_range: Range { start: lines.lsp(symbol.name_start), end: lines.lsp(symbol.name_end) },
        signature: clean(&symbol.signature),
        doc: symbol.doc.as_deref().map(clean),
        children: symbol.children.iter().map(|c| outline_symbol(lines, c)).collect(),
    }
}

/// The context engine's names in protocol terms (the sets are the same; a
/// kind added to one and not the other does not compile).
fn language(language: context::Language) -> protocol::context::Language {
    use context::Language as C;
    use protocol::context::Language as P;
    match language {
        C::Rust => P::Rust,
        C::Python => P::Python,
        C::TypeScript => P::TypeScript,
        C::Tsx => P::Tsx,
        C::JavaScript => P::JavaScript,
        C::Go => P::Go,
        C::Java => P::Java,
        C::C => P::C,
        C::Cpp => P::Cpp,
        C::CSharp => P::CSharp,
        C::Ruby => P::Ruby,
        C::Php => P::Php,
        C::Kotlin => P::Kotlin,
        C::Swift => P::Swift,
        C::Bash => P::Bash,
        C::PlainText => P::PlainText,
    }
}

fn symbol_kind(kind: symbols::SymbolKind) -> protocol::context::SymbolKind {
    use protocol::context::SymbolKind as P;
    use symbols::SymbolKind as C;
    match kind {
        C::Module => P::Module,
        C::Class => P::Class,
        C::Struct => P::Struct,
        C::Enum => P::Enum,
        C::Interface => P::Interface,
        C::Type => P::Type,
        C::Impl => P::Impl,
        C::Function => P::Function,
        C::Method => P::Method,
        C::Macro => P::Macro,
        C::Constant => P::Constant,
    }
}

fn part_kind(kind: bundle::PartKind) -> protocol::context::PartKind {
    use bundle::PartKind as C;
    use protocol::context::PartKind as P;
    match kind {
        C::Question => P::Question,
        C::Selection => P::Selection,
        C::Diagnostics => P::Diagnostics,
        C::EnclosingSymbol => P::EnclosingSymbol,
        C::Definition => P::Definition,
        C::Caller => P::Caller,
        C::Import => P::Import,
        C::ProjectFacts => P::ProjectFacts,
    }
}

/// Byte columns to UTF-16 columns (beside the positions it inverts).
pub(crate) use super::documents::LineIndex;

/// Results whose signature is read from the file (the index keeps none).
const SIGNATURES_SHOWN: usize = 20;

pub fn symbols(codebase: &Codebase, params: SymbolQuery) -> Vec<SymbolMatch> {
    let limit = params.limit.clamp(1, 1000) as usize;
    let mut all = Vec::new();
    for workspace in codebase.workspaces.all() {
        let index = workspace.index();
        for hit in index.search(&params.query, limit) {
            all.push((
                workspace.clone(),
                hit.path.to_owned(),
                SymbolMatch {
                    name: hit.name.to_owned(),
                    kind: symbol_kind(hit.symbol.kind),
                    container: hit.container.map(str::to_owned),
                    uri: uri::from_path(&workspace.root.join(hit.path)),
                    line: hit.symbol.line,
                    end_line: hit.symbol.end_line,
                    signature: String::new(),
                    score: hit.score,
                },
            ));
        }
    }
    all.sort_by(|(_, _, a), (_, _, b)| {
        b.score.cmp(&a.score).then(a.name.len().cmp(&b.name.len())).then(a.uri.cmp(&b.uri))
    });
    all.truncate(limit);
    let mut texts: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
    all.into_iter()
        .enumerate()
        .map(|(rank, (workspace, rel, mut found))| {
            if rank < SIGNATURES_SHOWN {
                let text = texts.entry(found.uri.clone()).or_insert_with(|| workspace.read_indexed(&rel));
                if let Some(text) = text {
                    // A constant's signature is its value: never a secret.
                    let signature = context::index::signature_at(text, found.line);
                    found.signature = context::redact::redact(&rel, &signature).0;
                }
            }
            found
        })
        .collect()
}

pub fn build(codebase: &Codebase, params: BuildParams) -> Result<ContextBundle, Error> {
    // Refused before anything is read: a file that leads out of its workspace
    // or is excluded there, open in an editor or not.
    let resolved = resolve_uri(codebase, &params.uri, None)?;
    let open = codebase.documents().buffer(&params.uri).map(|(buffer, _)| buffer.clone());
    let path = resolved.as_ref().map(|r| r.path.clone());
    let workspace: Option<Arc<Workspace>> = resolved.as_ref().and_then(|r| r.workspace.clone());
    let rel = resolved.as_ref().and_then(workspace::Resolved::rel);
    let indexed = rel.as_deref().is_some_and(|rel| workspace.as_ref().is_some_and(|w| w.index().file(rel).is_some()));
    // An open document is already parsed; a closed, indexed file needs no parse
    // (its structure is in the index); anything else is parsed now.
    let doc = match (open, &path) {
        (Some(doc), _) => doc,
        (None, Some(p)) if indexed => {
            let text = workspace::read_source(p)
                .ok_or_else(|| Error::NotFound(format!("{} cannot be read as a text file under 2 MiB", p.display())))?;
            SyntaxDocument::new(context::Language::PlainText, text)
        }
        _ => document_for(codebase, &params.uri)?.0,
    };
    let display_path = match (&workspace, &path) {
        (Some(w), Some(p)) => w.relative(p).unwrap_or_else(|| p.display().to_string()),
        (None, Some(p)) => p.display().to_string(),
        _ => params.uri.clone(),
    };
    let text = doc.text();
    let (start, end) = match (params.range, params.position) {
        (Some(range), _) => (byte_offset(text, range.start), byte_offset(text, range.end)),
        (None, Some(position)) => {
            let at = byte_offset(text, position);
            (at, at)
        }
        (None, None) => (0, 0),
    };
    let diagnostics: Vec<String> = params
        .diagnostics
        .iter()
        .map(|d| match &d.source {
            Some(source) => format!("{}: {}: {} ({source})", d.line + 1, d.severity, d.message),
            None => format!("{}: {}: {}", d.line + 1, d.severity, d.message),
        })
        .collect();
    let index_guard = workspace.as_ref().map(|w| w.index());
    // The entry describes the file as indexed; if the text read now differs (an
    // edit the watcher has not caught up with), its line numbers cannot be trusted.
    let entry = match (&index_guard, &rel) {
        (Some(index), Some(rel)) => index.file(rel).filter(|e| e.bytes == doc.text().len() as u64),
        _ => None,
    };
    // Only files in the index (never an excluded one), through the guard already
    // held: taking the read lock again could deadlock behind a waiting writer.
    let exclusions = workspace.as_ref().map(|w| w.exclusions());
    let read_file = |rel: &str| {
        let (workspace, index, exclusions) = (workspace.as_ref()?, index_guard.as_ref()?, exclusions.as_ref()?);
        index.file(rel)?;
        // Checked again at read time: ignore rules may have changed since indexing.
        let path = workspace.root.join(rel);
        if exclusions.is_excluded(&path) {
            return None;
        }
        workspace::read_real(&path)
    };
    let budget = params.budget_tokens.unwrap_or(codebase.budget_tokens).max(1) as usize;
    let built = bundle::build(&BundleInput {
        path: &display_path,
        document: &doc,
        selection: start.min(end)..end.max(start),
        question: params.question.as_deref(),
        diagnostics: &diagnostics,
        index: index_guard.as_deref(),
        entry,
        read_file: &read_file,
        budget_tokens: budget,
        redact: !params.local_provider,
    });
    drop(index_guard);
    if !built.redactions.is_empty() {
        // Which rules and how many, never the secrets.
        tracing::info!(uri = %params.uri, redactions = ?built.redactions, "redacted secrets from a context bundle");
    }
    Ok(protocol_bundle(built))
}

/// A bundle in protocol terms.
fn protocol_bundle(built: bundle::Bundle) -> ContextBundle {
    ContextBundle {
        parts: built
            .parts
            .into_iter()
            .map(|p| BundlePart {
                kind: part_kind(p.kind),
                title: p.title,
                path: p.path,
                start_line: p.lines.map(|l| l.0),
                end_line: p.lines.map(|l| l.1),
                text: p.text,
                tokens: p.tokens as u32,
                truncated: p.truncated,
            })
            .collect(),
        dropped: built
            .dropped
            .into_iter()
            .map(|d| DroppedPart { kind: part_kind(d.kind), title: d.title, tokens: d.tokens as u32 })
            .collect(),
        tokens: built.tokens as u32,
        budget_tokens: built.budget as u32,
        redactions: built.redactions,
        facts: ProjectFacts {
            languages: built.facts.languages.into_iter().map(|(l, n)| (l, n as u32)).collect(),
            build_files: built.facts.build_files,
            test_frameworks: built.facts.test_frameworks,
            frameworks: built.facts.frameworks,
        },
    }
}

pub async fn add_workspace(codebase: &Codebase, params: AddWorkspaceParams) -> Result<WorkspaceStatus, Error> {
    let path = uri::to_path(&params.folder)
        .and_then(|p| p.canonicalize().ok())
        .filter(|p| p.is_dir())
        .ok_or_else(|| Error::NotFound(format!("{} is not a local folder", params.folder)))?;
    if let Some(why) = crate::services::workspace::unfit_root(&path) {
        return Err(Error::Invalid(why));
    }
    let workspace = codebase.workspaces.add(path, &codebase.events);
    if params.wait {
        workspace.wait_ready().await;
    }
    Ok(workspace.status_report())
}

pub fn list_workspaces(codebase: &Codebase) -> Vec<WorkspaceStatus> {
    codebase.workspaces.all().iter().map(|w| w.status_report()).collect()
}

#[cfg(test)]
mod tests {
    use protocol::{
        context::{AddWorkspaceParams, BuildParams, OutlineParams},
        documents::{OpenParams, Position},
    };

    use super::*;
    use crate::services::documents::ANONYMOUS;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn line_index_counts_utf16_units() {
        // é is 2 bytes and 1 UTF-16 unit; 😀 is 4 bytes and 2 units; CRLF keeps
        // its \r on the line it ends.
        let text = "aé😀b\r\nx\n\n😀";
        let lines = LineIndex::new(text);
        assert_eq!(lines.position(0), pos(0, 0));
        assert_eq!(lines.position(1), pos(0, 1), "after a");
        assert_eq!(lines.position(3), pos(0, 2), "after é");
        assert_eq!(lines.position(7), pos(0, 4), "after 😀: two units");
        assert_eq!(lines.position(8), pos(0, 5), "after b");
        assert_eq!(lines.position(9), pos(0, 6), "the \\r is a character of line 0");
        assert_eq!(lines.position(10), pos(1, 0), "after the newline");
        assert_eq!(lines.position(12), pos(2, 0), "an empty line");
        assert_eq!(lines.position(text.len()), pos(3, 2), "the end");
        assert_eq!(lines.position(text.len() + 100), pos(3, 2), "past the end: the end");
        assert_eq!(lines.position(5), pos(0, 2), "inside 😀: its start");
        assert_eq!(lines.position(2), pos(0, 1), "inside é: its start");
        assert_eq!(LineIndex::new("").position(0), pos(0, 0));
    }

    #[test]
    fn tree_sitter_columns_become_utf16() {
        let lines = LineIndex::new("// é\nfn 😀x() {}\n");
        let at = |line, column| lines.lsp(symbols::Pos { line, column });
        assert_eq!(at(1, 3), pos(1, 3), "before the emoji");
        assert_eq!(at(1, 7), pos(1, 5), "after it");
        assert_eq!(at(1, 5), pos(1, 3), "inside it: its start");
        assert_eq!(at(0, 100), pos(0, 4), "past the line: its end");
        assert_eq!(at(9, 0), pos(9, 0), "a line past the text");
    }

    fn codebase() -> Codebase {
        Codebase::new(512 * 1024, 4000, crate::services::events::Events::new(16))
    }

    fn open(codebase: &Codebase, uri: &str, text: &str) {
        codebase
            .documents()
            .open(ANONYMOUS, OpenParams { uri: uri.into(), language_id: "rust".into(), version: 1, text: text.into() });
    }

    #[test]
    fn an_open_document_is_outlined_in_utf16_and_bundled_without_a_workspace() {
        let codebase = codebase();
        let uri = "untitled:scratch.rs";
        open(&codebase, uri, "/// Greets 😀.\nfn greet(name: &str) -> String {\n    format!(\"hi {name}\")\n}\n");
        let outline = outline(&codebase, OutlineParams { uri: uri.into() }).expect("outline");
        assert_eq!(outline.language, protocol::context::Language::Rust);
        let greet = outline.symbols.iter().find(|s| s.name == "greet").expect("greet");
        assert_eq!(greet.selection_range.start, pos(1, 3));
        assert_eq!(greet.doc.as_deref(), Some("Greets 😀."));
        let bundle = build(
            &codebase,
            BuildParams {
                uri: uri.into(),
                position: Some(pos(2, 4)),
                range: None,
                question: Some("what does it return?".into()),
                diagnostics: Vec::new(),
                budget_tokens: None,
                local_provider: false,
            },
        )
        .expect("bundle");
        assert_eq!(bundle.budget_tokens, 4000, "the service's default budget");
        assert!(bundle.parts.iter().any(|p| p.text.contains("fn greet")), "{bundle:?}");
    }

    #[test]
    fn files_are_refused_when_missing_unreadable_or_outside_the_named_workspace() {
        let codebase = codebase();
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("a")).expect("a");
        std::fs::create_dir_all(root.join("b")).expect("b");
        std::fs::write(root.join("b/lib.rs"), "fn b() {}\n").expect("write");
        let b = uri::from_path(&root.join("b/lib.rs"));
        let refused = resolve_uri(&codebase, &b, Some(&root.join("a")));
        assert!(matches!(refused, Err(Error::Refused(_))), "outside a");
        assert!(matches!(resolve_uri(&codebase, &b, Some(&root.join("b"))), Ok(Some(_))), "inside b");
        assert!(matches!(resolve_uri(&codebase, "untitled:x", None), Ok(None)), "no file");
        let missing = uri::from_path(&root.join("b/missing.rs"));
        assert!(matches!(outline(&codebase, OutlineParams { uri: missing }), Err(Error::NotFound(_))));
        let neither = outline(&codebase, OutlineParams { uri: "untitled:closed".into() }).expect_err("not open");
        assert!(matches!(neither, Error::Invalid(_)), "{neither:?}");
    }

    #[tokio::test]
    async fn a_folder_that_is_no_project_is_never_indexed() {
        let codebase = codebase();
        let root = AddWorkspaceParams { folder: "file:///".into(), wait: false };
        assert!(matches!(add_workspace(&codebase, root).await, Err(Error::Invalid(_))));
        let nowhere = AddWorkspaceParams { folder: "file:///no/such/folder".into(), wait: false };
        assert!(matches!(add_workspace(&codebase, nowhere).await, Err(Error::NotFound(_))));
        assert!(list_workspaces(&codebase).is_empty());
    }
}
