//! The workspace index: every source file's symbols, imports and calls, kept as
//! plain data (no text), fuzzy symbol search, and facts about the project.
//!
//! The daemon walks and watches the file system and feeds this index with
//! [`FileEntry::parse`] results; several editors on one folder share one index.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use nucleo_matcher::{
    Config, Matcher, Utf32Str,
    pattern::{CaseMatching, Normalization, Pattern},
};

use crate::{
    Language, SyntaxDocument,
    symbols::{self, Import, SymbolKind},
};

/// A symbol as the index keeps it: small, since a large tree has millions.
/// Signatures and docs are not kept; [`signature_at`] reads one from the file's
/// text when it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedSymbol {
    pub name: Box<str>,
    pub kind: SymbolKind,
    /// Index of the containing symbol in the same file.
    pub parent: Option<u32>,
    /// Zero-based first and last line.
    pub line: u32,
    pub end_line: u32,
}

/// The head of the definition starting on `line` of `text`, on one line.
pub fn signature_at(text: &str, line: u32) -> String {
    let head = text.lines().nth(line as usize).unwrap_or("").trim();
    let head = head.split_once('{').map_or(head, |(h, _)| h).trim_end();
    let head = head.trim_end_matches([':', '=', ';']).trim_end();
    if head.len() <= 160 {
        return head.to_owned();
    }
    let end = (0..=160).rev().find(|i| head.is_char_boundary(*i)).unwrap_or(0);
    format!("{}…", &head[..end])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub language: Language,
    pub bytes: u64,
    pub symbols: Vec<IndexedSymbol>,
    pub imports: Vec<Import>,
    /// Names called from this file, with the zero-based line of each call.
    pub calls: Vec<(String, u32)>,
}

impl FileEntry {
    /// Parses one file's text into an entry. Plain-text files have no symbols.
    pub fn parse(language: Language, text: &str) -> FileEntry {
        let doc = SyntaxDocument::new(language, text.to_owned());
        FileEntry::from_document(&doc)
    }

    pub fn from_document(doc: &SyntaxDocument) -> FileEntry {
        let (outline, calls) = symbols::analyze(doc);
        fn flatten(symbols: &[symbols::Symbol], parent: Option<u32>, out: &mut Vec<IndexedSymbol>) {
            for symbol in symbols {
                let index = out.len() as u32;
                out.push(IndexedSymbol {
                    name: symbol.name.as_str().into(),
                    kind: symbol.kind,
                    parent,
                    line: symbol.start.line,
                    end_line: symbol.end.line,
                });
                flatten(&symbol.children, Some(index), out);
            }
        }
        let mut symbols = Vec::new();
        flatten(&outline.symbols, None, &mut symbols);
        FileEntry { language: doc.language(), bytes: doc.text().len() as u64, symbols, imports: outline.imports, calls }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolHit<'a> {
    pub path: &'a str,
    pub symbol: &'a IndexedSymbol,
    /// The containing symbol's name.
    pub container: Option<&'a str>,
    pub score: u32,
}

/// What the project is made of, from its file names and manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFacts {
    /// Languages by number of files, most first.
    pub languages: Vec<(String, usize)>,
    pub build_files: Vec<String>,
    pub test_frameworks: Vec<String>,
    pub frameworks: Vec<String>,
}

/// Build and dependency manifests whose contents the index keeps for
/// [`ProjectFacts`]. They are small.
pub const MANIFESTS: [&str; 10] = [
    "Cargo.toml",
    "package.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "pyproject.toml",
    "requirements.txt",
    "setup.py",
    "tsconfig.json",
];

#[derive(Debug, Default)]
pub struct WorkspaceIndex {
    /// By path relative to the workspace root, `/`-separated.
    files: BTreeMap<Arc<str>, FileEntry>,
    /// Lower-cased symbol name → (file, index into its symbols).
    by_name: HashMap<Box<str>, Vec<(Arc<str>, u32)>>,
    /// Called name → call sites (file, zero-based line).
    callers: HashMap<Box<str>, Vec<(Arc<str>, u32)>>,
    /// The distinct names each file calls, to undo `callers` when it goes.
    called: HashMap<Arc<str>, Vec<Box<str>>>,
    /// A file's stem (`models` for `app/models.py`, `config` for
    /// `src/config/mod.rs`) → files, for resolving imports.
    stems: HashMap<Box<str>, Vec<Arc<str>>>,
    manifests: BTreeMap<String, String>,
    /// Computed on first use after a change.
    facts: Mutex<Option<ProjectFacts>>,
}

/// `app/models.py` → `app/models`; `src/config/mod.rs` → `src/config`.
fn module_stem(path: &str) -> &str {
    let stem = path.rsplit_once('.').map_or(path, |(s, _)| s);
    stem.strip_suffix("/mod")
        .or_else(|| stem.strip_suffix("/index"))
        .or_else(|| stem.strip_suffix("/__init__"))
        .unwrap_or(stem)
}

fn last_segment(stem: &str) -> &str {
    stem.rsplit('/').next().unwrap_or(stem)
}

impl WorkspaceIndex {
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(|p| &**p)
    }

    pub fn symbol_count(&self) -> usize {
        self.files.values().map(|f| f.symbols.len()).sum()
    }

    fn changed(&self) {
        *self.facts.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn upsert(&mut self, path: &str, mut entry: FileEntry) {
        self.remove_entry(path);
        let path: Arc<str> = path.into();
        for (i, symbol) in entry.symbols.iter().enumerate() {
            self.by_name.entry(symbol.name.to_lowercase().into()).or_default().push((path.clone(), i as u32));
        }
        let mut names: Vec<Box<str>> = Vec::new();
        for (name, line) in std::mem::take(&mut entry.calls) {
            let name: Box<str> = name.into();
            self.callers.entry(name.clone()).or_default().push((path.clone(), line));
            names.push(name);
        }
        names.sort();
        names.dedup();
        self.called.insert(path.clone(), names);
        self.stems.entry(last_segment(module_stem(&path)).into()).or_default().push(path.clone());
        self.files.insert(path, entry);
        self.changed();
    }

    /// Forgets a deleted file.
    pub fn remove(&mut self, path: &str) -> bool {
        self.manifests.remove(path);
        self.remove_entry(path)
    }

    fn remove_entry(&mut self, path: &str) -> bool {
        let Some((key, old)) = self.files.remove_entry(path) else { return false };
        for symbol in &old.symbols {
            let name = symbol.name.to_lowercase();
            if let Some(sites) = self.by_name.get_mut(name.as_str()) {
                sites.retain(|(p, _)| !Arc::ptr_eq(p, &key));
                if sites.is_empty() {
                    self.by_name.remove(name.as_str());
                }
            }
        }
        for name in self.called.remove(&key).unwrap_or_default() {
            if let Some(sites) = self.callers.get_mut(&name) {
                sites.retain(|(p, _)| !Arc::ptr_eq(p, &key));
                if sites.is_empty() {
                    self.callers.remove(&name);
                }
            }
        }
        let stem = last_segment(module_stem(&key));
        if let Some(files) = self.stems.get_mut(stem) {
            files.retain(|p| !Arc::ptr_eq(p, &key));
        }
        self.changed();
        true
    }

    /// Removes every file under `dir` (a deleted or renamed folder).
    pub fn remove_prefix(&mut self, dir: &str) -> usize {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let doomed: Vec<Arc<str>> = self.files.keys().filter(|p| p.starts_with(&prefix)).cloned().collect();
        for path in &doomed {
            self.remove(path);
        }
        doomed.len()
    }

    pub fn set_manifest(&mut self, path: &str, text: String) {
        self.manifests.insert(path.to_owned(), text);
        self.changed();
    }

    /// Definitions named exactly `name`.
    pub fn definitions(&self, name: &str) -> Vec<(&str, &IndexedSymbol)> {
        let Some(sites) = self.by_name.get(name.to_lowercase().as_str()) else { return Vec::new() };
        sites
            .iter()
            .filter_map(|(path, i)| {
                let (key, file) = self.files.get_key_value(&**path)?;
                let symbol = file.symbols.get(*i as usize)?;
                (&*symbol.name == name).then_some((&**key, symbol))
            })
            .collect()
    }

    /// Up to `limit` call sites of `name`: (path, zero-based line).
    pub fn callers(&self, name: &str, limit: usize) -> Vec<(&str, u32)> {
        self.callers
            .get(name)
            .map(|sites| sites.iter().take(limit).map(|(p, line)| (&**p, *line)).collect())
            .unwrap_or_default()
    }

    /// Fuzzy symbol search, best first. Ties favour definitions of types, then
    /// shorter names and paths.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SymbolHit<'_>> {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let mut buf = Vec::new();
        let mut hits: Vec<SymbolHit<'_>> = Vec::new();
        for (path, file) in &self.files {
            let path: &str = path;
            for symbol in &file.symbols {
                let haystack = Utf32Str::new(&symbol.name, &mut buf);
                if let Some(score) = pattern.score(haystack, &mut matcher) {
                    let exact = u32::from(symbol.name.eq_ignore_ascii_case(query)) * 1000;
                    let container = symbol.parent.and_then(|p| file.symbols.get(p as usize)).map(|p| &*p.name);
                    hits.push(SymbolHit { path, symbol, container, score: score + exact });
                }
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(kind_rank(a.symbol.kind).cmp(&kind_rank(b.symbol.kind)))
                .then(a.symbol.name.len().cmp(&b.symbol.name.len()))
                .then(a.path.len().cmp(&b.path.len()))
                .then(a.path.cmp(b.path))
                .then(a.symbol.line.cmp(&b.symbol.line))
        });
        hits.truncate(limit);
        hits
    }

    /// The workspace file an import refers to, if any: the file whose path without
    /// extension ends with the import's module path (or its parent, for `from a.b
    /// import c` and `use a::b::C`), preferring files near `from`.
    pub fn resolve_import(&self, from: &str, import: &Import) -> Option<&str> {
        let segments: Vec<&str> =
            import.module.iter().map(String::as_str).filter(|s| *s != "." && *s != "..").collect();
        if segments.is_empty() {
            return None;
        }
        let from_dir = from.rsplit_once('/').map_or("", |(d, _)| d);
        let candidates = |segs: &[&str]| -> Option<&str> {
            let wanted = segs.join("/");
            let suffix = format!("/{wanted}");
            let files = self.stems.get(*segs.last()?)?;
            files
                .iter()
                .filter(|p| {
                    let stem = module_stem(p);
                    (stem == wanted || stem.ends_with(&suffix)) && &***p != from
                })
                .min_by_key(|p| (!p.starts_with(from_dir), p.len()))
                .map(|p| &**p)
        };
        (1..=segments.len()).rev().find_map(|n| candidates(&segments[..n]))
    }

    /// What the project is made of (cached until the next change).
    pub fn facts(&self) -> ProjectFacts {
        let mut cached = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        cached.get_or_insert_with(|| self.compute_facts()).clone()
    }

    fn compute_facts(&self) -> ProjectFacts {
        let mut languages: BTreeMap<&str, usize> = BTreeMap::new();
        for file in self.files.values() {
            if file.language != Language::PlainText {
                *languages.entry(file.language.name()).or_default() += 1;
            }
        }
        let mut languages: Vec<(String, usize)> = languages.into_iter().map(|(l, n)| (l.to_owned(), n)).collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let build_files: Vec<String> = self.manifests.keys().cloned().collect();
        let all_manifests: String = self.manifests.values().map(|t| t.to_lowercase()).collect::<Vec<_>>().join("\n");
        let has = |needle: &str| all_manifests.contains(needle);
        let pick = |table: &[(&str, &str)]| -> Vec<String> {
            let mut found: Vec<String> =
                table.iter().filter(|(needle, _)| has(needle)).map(|(_, name)| (*name).to_owned()).collect();
            found.dedup();
            found
        };
        let mut test_frameworks = pick(&[
            ("\"jest\"", "jest"),
            ("\"vitest\"", "vitest"),
            ("\"mocha\"", "mocha"),
            ("pytest", "pytest"),
            ("junit", "junit"),
            ("testng", "testng"),
            ("github.com/stretchr/testify", "testify"),
            ("\"@playwright/test\"", "playwright"),
        ]);
        if self.manifests.keys().any(|p| p.ends_with("Cargo.toml")) {
            test_frameworks.push("cargo test".to_owned());
        }
        if self.manifests.keys().any(|p| p.ends_with("go.mod")) {
            test_frameworks.push("go test".to_owned());
        }
        let frameworks = pick(&[
            ("\"react\"", "react"),
            ("\"next\"", "next.js"),
            ("\"vue\"", "vue"),
            ("\"svelte\"", "svelte"),
            ("\"express\"", "express"),
            ("\"@angular/core\"", "angular"),
            ("django", "django"),
            ("flask", "flask"),
            ("fastapi", "fastapi"),
            ("spring-boot", "spring boot"),
            ("github.com/gin-gonic/gin", "gin"),
            ("tokio", "tokio"),
            ("axum", "axum"),
            ("actix-web", "actix-web"),
        ]);
        ProjectFacts { languages, build_files, test_frameworks, frameworks }
    }
}

fn kind_rank(kind: SymbolKind) -> u8 {
    match kind {
        SymbolKind::Class | SymbolKind::Struct | SymbolKind::Interface | SymbolKind::Enum | SymbolKind::Type => 0,
        SymbolKind::Function | SymbolKind::Method => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(files: &[(&str, &str)]) -> WorkspaceIndex {
        let mut index = WorkspaceIndex::default();
        for (path, text) in files {
            let name = path.rsplit('/').next().unwrap_or(path);
            if MANIFESTS.contains(&name) {
                index.set_manifest(path, (*text).to_owned());
            }
            index.upsert(path, FileEntry::parse(Language::from_path(path), text));
        }
        index
    }

    #[test]
    fn search_is_fuzzy_and_ranked() {
        let index = index(&[
            ("src/user_service.py", "class UserService:\n    def find_user(self): pass\n"),
            ("src/util.py", "def user_service_factory(): pass\ndef unrelated(): pass\n"),
        ]);
        let hits: Vec<String> =
            index.search("usrsvc", 10).iter().map(|h| format!("{}:{}", h.path, h.symbol.name)).collect();
        assert_eq!(hits, ["src/user_service.py:UserService", "src/util.py:user_service_factory"]);
        let exact = index.search("find_user", 10);
        assert_eq!(exact[0].container, Some("UserService"));
        assert!(index.search("zzzz", 10).is_empty());
    }

    #[test]
    fn updates_and_removals_keep_the_name_map_true() {
        let mut index = index(&[("a.rs", "fn alpha() {}\n"), ("dir/b.rs", "fn alpha() {}\nfn beta() { alpha(); }\n")]);
        assert_eq!(index.definitions("alpha").len(), 2);
        assert_eq!(index.callers("alpha", 10), vec![("dir/b.rs", 1)]);
        index.upsert("a.rs", FileEntry::parse(Language::Rust, "fn gamma() {}\n"));
        assert_eq!(index.definitions("alpha").iter().map(|(p, _)| *p).collect::<Vec<_>>(), ["dir/b.rs"]);
        assert_eq!(index.remove_prefix("dir"), 1);
        assert!(index.definitions("alpha").is_empty());
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn imports_resolve_to_workspace_files() {
        let index = index(&[
            ("app/models.py", "class User: pass\n"),
            ("app/views.py", "from app.models import User\nimport os\n"),
            ("web/src/api.ts", "export function api() {}\n"),
            ("web/src/page.ts", "import { api } from './api';\n"),
            ("src/config/mod.rs", "pub fn load() {}\n"),
            ("src/main.rs", "use crate::config::load;\n"),
        ]);
        let resolve = |from: &str| -> Vec<Option<&str>> {
            index.file(from).expect("file").imports.iter().map(|i| index.resolve_import(from, i)).collect()
        };
        assert_eq!(resolve("app/views.py"), [Some("app/models.py"), None]);
        assert_eq!(resolve("web/src/page.ts"), [Some("web/src/api.ts")]);
        assert_eq!(resolve("src/main.rs"), [Some("src/config/mod.rs")]);
    }

    #[test]
    fn facts_from_files_and_manifests() {
        let index = index(&[
            ("package.json", r#"{"dependencies": {"react": "18"}, "devDependencies": {"vitest": "1"}}"#),
            ("src/App.tsx", "export function App() { return null; }\n"),
            ("src/main.ts", "export const x = 1;\n"),
            ("server/app.py", "def main(): pass\n"),
            ("pyproject.toml", "[project]\ndependencies = [\"fastapi\"]\n[tool.pytest.ini_options]\n"),
        ]);
        let facts = index.facts();
        assert_eq!(facts.languages, [("python".to_owned(), 1), ("tsx".to_owned(), 1), ("typescript".to_owned(), 1)]);
        assert_eq!(facts.build_files, ["package.json", "pyproject.toml"]);
        assert_eq!(facts.test_frameworks, ["vitest", "pytest"]);
        assert_eq!(facts.frameworks, ["react", "fastapi"]);
    }
}
