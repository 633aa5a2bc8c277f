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
    symbols::{Import, SymbolKind},
};

/// A symbol as the index keeps it: 24 bytes and no allocation of its own, since a
/// large tree has millions. Its name lives in the file's name arena
/// ([`FileEntry::name`]); signatures and docs are not kept ([`signature_at`] reads
/// one from the file's text when it is needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexedSymbol {
    name_start: u32,
    name_len: u32,
    pub kind: SymbolKind,
    /// Index of the containing symbol in the same file, `u32::MAX` for none.
    parent: u32,
    /// Zero-based first and last line.
    pub line: u32,
    pub end_line: u32,
}

impl IndexedSymbol {
    /// Index of the containing symbol in the same file.
    pub fn parent(&self) -> Option<u32> {
        (self.parent != u32::MAX).then_some(self.parent)
    }
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

/// Plain data, serialisable: the daemon has files parsed in helper processes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub language: Language,
    pub bytes: u64,
    symbols: Vec<IndexedSymbol>,
    /// Every symbol's name, end to end.
    names: Box<str>,
    pub imports: Vec<Import>,
    /// Hashes of the names called from this file, with the zero-based line of
    /// each call. Moved into the index's caller map by [`WorkspaceIndex::upsert`].
    calls: Vec<(u64, u32)>,
    /// Hashes of the distinct names this file calls, to undo the caller map.
    called: Box<[u64]>,
    /// Indexed by [`crate::shallow`]'s lexical scan (a generated or very large
    /// file): declarations only, no calls or imports.
    pub shallow: bool,
}

/// Files larger than this are indexed shallowly unless configured otherwise.
pub const FULL_PARSE_MAX_BYTES: usize = 256 * 1024;

/// How the workspace indexer treats a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Parsed with tree-sitter: definitions, calls and imports.
    Parsed,
    /// Declarations from [`crate::shallow`]'s lexical scan: a generated file,
    /// one that is mostly declarations (bindings), or one larger than
    /// `full_parse_max` bytes.
    Shallow,
    /// No grammar: indexed as a file without symbols.
    PlainText,
}

impl Tier {
    pub fn of(language: Language, text: &str, full_parse_max: usize) -> Tier {
        use crate::shallow::{is_declaration_table, is_generated};
        if language == Language::PlainText {
            Tier::PlainText
        } else if text.len() > full_parse_max || is_generated(text) || is_declaration_table(language, text) {
            Tier::Shallow
        } else {
            Tier::Parsed
        }
    }
}

impl FileEntry {
    /// Parses one file's text into an entry. Plain-text files have no symbols.
    pub fn parse(language: Language, text: &str) -> FileEntry {
        let doc = SyntaxDocument::new(language, text.to_owned());
        FileEntry::from_document(&doc)
    }

    /// The index's view of a parsed document, from one walk of its tree
    /// ([`crate::tags`]): definitions nested as [`symbols::outline`] nests them,
    /// calls and imports.
    pub fn from_document(doc: &SyntaxDocument) -> FileEntry {
        let text = doc.text();
        let tags = crate::tags::walk(doc);
        let mut definitions = tags.definitions;
        definitions.sort_by(|a, b| a.bytes.start.cmp(&b.bytes.start).then(b.bytes.end.cmp(&a.bytes.end)));
        // Two rules can tag one node (a Rust method is also a function): keep one.
        definitions.dedup_by(|later, first| later.bytes == first.bytes);
        let (mut symbols, mut names) = (Vec::<IndexedSymbol>::with_capacity(definitions.len()), String::new());
        // Containers of the current definition: (index, byte range).
        let mut stack: Vec<(u32, std::ops::Range<usize>)> = Vec::new();
        for definition in definitions {
            while stack
                .last()
                .is_some_and(|(_, r)| !(r.start <= definition.bytes.start && definition.bytes.end <= r.end))
            {
                stack.pop();
            }
            let parent = stack.last().map(|(i, _)| *i);
            let name = match &definition.name {
                crate::tags::DefinitionName::Text(range) => text.get(range.clone()).unwrap_or(""),
                crate::tags::DefinitionName::Owned(name) => name,
            };
            let index = symbols.len() as u32;
            symbols.push(IndexedSymbol {
                name_start: names.len() as u32,
                name_len: name.len() as u32,
                kind: definition.kind.nested_in(parent.map(|p| symbols[p as usize].kind), doc.language()),
                parent: parent.unwrap_or(u32::MAX),
                line: definition.line,
                end_line: definition.end_line,
            });
            names.push_str(name);
            stack.push((index, definition.bytes));
        }
        FileEntry {
            language: doc.language(),
            bytes: text.len() as u64,
            symbols,
            names: names.into_boxed_str(),
            imports: tags.imports,
            calls: tags.calls.into_iter().map(|(range, line)| (name_hash(&text[range], false), line)).collect(),
            called: Box::new([]),
            shallow: false,
        }
    }

    /// Indexes a file without parsing it: [`crate::shallow`]'s declarations.
    pub fn shallow(language: Language, text: &str) -> FileEntry {
        let declarations = crate::shallow::declarations(language, text);
        let mut names = String::new();
        let mut symbols: Vec<IndexedSymbol> = declarations
            .iter()
            .map(|d| {
                let symbol = IndexedSymbol {
                    name_start: names.len() as u32,
                    name_len: d.name.len() as u32,
                    kind: d.kind,
                    parent: d.parent.map_or(u32::MAX, |p| p as u32),
                    line: d.line,
                    end_line: d.end_line,
                };
                names.push_str(&d.name);
                symbol
            })
            .collect();
        symbols.shrink_to_fit();
        FileEntry {
            language,
            bytes: text.len() as u64,
            symbols,
            names: names.into_boxed_str(),
            imports: Vec::new(),
            calls: Vec::new(),
            called: Box::new([]),
            shallow: true,
        }
    }

    /// How the workspace indexer treats a file on disk: see [`Tier::of`].
    pub fn index(language: Language, text: String, full_parse_max: usize) -> FileEntry {
        match Tier::of(language, &text, full_parse_max) {
            Tier::Shallow => FileEntry::shallow(language, &text),
            Tier::Parsed | Tier::PlainText => FileEntry::from_document(&SyntaxDocument::new(language, text)),
        }
    }

    /// The indexer's first pass over a file on disk, which makes a complete index
    /// of declarations quickly: a file [`FileEntry::index`] would parse gets the
    /// lexical scan's declarations now when the scan covers its language (about
    /// twenty times faster), and `true`: it is to be parsed in a second pass,
    /// which adds what only a parse finds (calls, imports, exact extents).
    pub fn first_pass(language: Language, text: String, full_parse_max: usize) -> (FileEntry, bool) {
        match Tier::of(language, &text, full_parse_max) {
            Tier::Shallow => (FileEntry::shallow(language, &text), false),
            Tier::Parsed if crate::shallow::covers(language) => (FileEntry::shallow(language, &text), true),
            Tier::Parsed | Tier::PlainText => (FileEntry::from_document(&SyntaxDocument::new(language, text)), false),
        }
    }

    pub fn symbols(&self) -> &[IndexedSymbol] {
        &self.symbols
    }

    /// The name of one of this file's symbols.
    pub fn name(&self, symbol: &IndexedSymbol) -> &str {
        let start = symbol.name_start as usize;
        self.names.get(start..start + symbol.name_len as usize).unwrap_or("")
    }

    /// Each symbol with its name.
    pub fn named_symbols(&self) -> impl Iterator<Item = (&str, &IndexedSymbol)> {
        self.symbols.iter().map(|s| (self.name(s), s))
    }
}

/// FNV-1a over a name, optionally lower-cased. The index keys its name maps by
/// these hashes instead of owning a copy of every name; lookups compare the real
/// name where it matters ([`WorkspaceIndex::definitions`]).
fn name_hash(name: &str, lower: bool) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    if lower && !name.is_ascii() {
        feed(name.to_lowercase().as_bytes());
    } else if lower {
        for byte in name.bytes() {
            feed(&[byte.to_ascii_lowercase()]);
        }
    } else {
        feed(name.as_bytes());
    }
    hash
}

/// Where a name is defined: most names once, so one site is kept inline.
#[derive(Debug)]
enum Sites {
    One((u32, u32)),
    Many(Vec<(u32, u32)>),
}

impl Sites {
    fn push(&mut self, site: (u32, u32)) {
        match self {
            Sites::One(first) => *self = Sites::Many(vec![*first, site]),
            Sites::Many(sites) => sites.push(site),
        }
    }

    fn as_slice(&self) -> &[(u32, u32)] {
        match self {
            Sites::One(site) => std::slice::from_ref(site),
            Sites::Many(sites) => sites,
        }
    }

    /// Drops `file`'s sites; true when none are left.
    fn remove_file(&mut self, file: u32) -> bool {
        match self {
            Sites::One((f, _)) => *f == file,
            Sites::Many(sites) => {
                sites.retain(|(f, _)| *f != file);
                match sites[..] {
                    [] => true,
                    [only] => {
                        *self = Sites::One(only);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolHit<'a> {
    pub path: &'a str,
    pub name: &'a str,
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
    /// Linters, formatters and type checkers the manifests configure.
    pub linters: Vec<String>,
    /// The package manager (`package.json`'s `packageManager`, else a lock
    /// file's): `pnpm`, `npm`, `uv`…
    pub package_managers: Vec<String>,
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
    /// File ids by path relative to the workspace root, `/`-separated.
    files: BTreeMap<Arc<str>, u32>,
    /// File id → path and entry; ids of removed files are reused. The name and
    /// caller maps hold ids, so following one costs an index, not a path lookup.
    entries: Vec<Option<(Arc<str>, FileEntry)>>,
    free_ids: Vec<u32>,
    /// Hash of the lower-cased symbol name → (file id, index into its symbols).
    by_name: HashMap<u64, Sites>,
    /// Hash of a called name → call sites (file id, zero-based line).
    callers: HashMap<u64, Vec<(u32, u32)>>,
    /// A file's stem (`models` for `app/models.py`, `config` for
    /// `src/config/mod.rs`) → file ids, for resolving imports.
    stems: HashMap<Box<str>, Vec<u32>>,
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
        self.by_id(*self.files.get(path)?).map(|(_, entry)| entry)
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.entries.iter().flatten().map(|(path, entry)| (&**path, entry))
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(|p| &**p)
    }

    pub fn shallow_count(&self) -> usize {
        self.entries().filter(|(_, f)| f.shallow).count()
    }

    pub fn symbol_count(&self) -> usize {
        self.entries().map(|(_, f)| f.symbols.len()).sum()
    }

    /// The path and entry of a file id.
    fn by_id(&self, id: u32) -> Option<(&str, &FileEntry)> {
        let (path, entry) = self.entries.get(id as usize)?.as_ref()?;
        Some((path, entry))
    }

    fn changed(&self) {
        *self.facts.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn upsert(&mut self, path: &str, mut entry: FileEntry) {
        self.remove_entry(path);
        let path: Arc<str> = path.into();
        let id = self.free_ids.pop().unwrap_or_else(|| {
            self.entries.push(None);
            (self.entries.len() - 1) as u32
        });
        for (i, symbol) in entry.symbols.iter().enumerate() {
            let site = (id, i as u32);
            match self.by_name.entry(name_hash(entry.name(symbol), true)) {
                std::collections::hash_map::Entry::Occupied(mut sites) => sites.get_mut().push(site),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(Sites::One(site));
                }
            }
        }
        let mut called: Vec<u64> = Vec::new();
        for (hash, line) in std::mem::take(&mut entry.calls) {
            self.callers.entry(hash).or_default().push((id, line));
            called.push(hash);
        }
        called.sort_unstable();
        called.dedup();
        entry.called = called.into_boxed_slice();
        entry.imports.shrink_to_fit();
        self.stems.entry(last_segment(module_stem(&path)).into()).or_default().push(id);
        self.files.insert(path.clone(), id);
        self.entries[id as usize] = Some((path, entry));
        self.changed();
    }

    /// Forgets a deleted file.
    pub fn remove(&mut self, path: &str) -> bool {
        self.manifests.remove(path);
        self.remove_entry(path)
    }

    fn remove_entry(&mut self, path: &str) -> bool {
        let Some(id) = self.files.remove(path) else { return false };
        let Some((key, old)) = self.entries.get_mut(id as usize).and_then(Option::take) else { return false };
        for symbol in &old.symbols {
            let hash = name_hash(old.name(symbol), true);
            if let Some(sites) = self.by_name.get_mut(&hash)
                && sites.remove_file(id)
            {
                self.by_name.remove(&hash);
            }
        }
        for hash in old.called.iter() {
            if let Some(sites) = self.callers.get_mut(hash) {
                sites.retain(|(file, _)| *file != id);
                if sites.is_empty() {
                    self.callers.remove(hash);
                }
            }
        }
        let stem = last_segment(module_stem(&key));
        if let Some(files) = self.stems.get_mut(stem) {
            files.retain(|file| *file != id);
            if files.is_empty() {
                self.stems.remove(stem);
            }
        }
        self.free_ids.push(id);
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

    /// A copy holding only the files `keep` allows: an agent's view of the
    /// workspace. Names, call sites, import targets and manifests of the other
    /// files are left out, so nothing drawn from the index reaches past it.
    pub fn restricted(&self, keep: impl Fn(&str) -> bool) -> WorkspaceIndex {
        let kept: Vec<bool> = self.entries.iter().map(|e| e.as_ref().is_some_and(|(path, _)| keep(path))).collect();
        let is_kept = |id: u32| kept.get(id as usize).copied().unwrap_or(false);
        let entries: Vec<_> =
            self.entries.iter().zip(&kept).map(|(entry, kept)| if *kept { entry.clone() } else { None }).collect();
        let by_name = self
            .by_name
            .iter()
            .filter_map(|(hash, sites)| {
                let left: Vec<(u32, u32)> = sites.as_slice().iter().copied().filter(|(f, _)| is_kept(*f)).collect();
                match left[..] {
                    [] => None,
                    [only] => Some((*hash, Sites::One(only))),
                    _ => Some((*hash, Sites::Many(left))),
                }
            })
            .collect();
        let callers = self
            .callers
            .iter()
            .filter_map(|(hash, sites)| {
                let left: Vec<(u32, u32)> = sites.iter().copied().filter(|(f, _)| is_kept(*f)).collect();
                (!left.is_empty()).then_some((*hash, left))
            })
            .collect();
        let stems = self
            .stems
            .iter()
            .filter_map(|(stem, ids)| {
                let left: Vec<u32> = ids.iter().copied().filter(|id| is_kept(*id)).collect();
                (!left.is_empty()).then(|| (stem.clone(), left))
            })
            .collect();
        WorkspaceIndex {
            files: self.files.iter().filter(|(_, id)| is_kept(**id)).map(|(p, id)| (p.clone(), *id)).collect(),
            free_ids: (0..entries.len() as u32).filter(|id| !is_kept(*id)).collect(),
            entries,
            by_name,
            callers,
            stems,
            manifests: self
                .manifests
                .iter()
                .filter(|(path, _)| keep(path))
                .map(|(p, t)| (p.clone(), t.clone()))
                .collect(),
            facts: Mutex::new(None),
        }
    }

    /// Definitions named exactly `name`.
    pub fn definitions(&self, name: &str) -> Vec<(&str, &IndexedSymbol)> {
        let Some(sites) = self.by_name.get(&name_hash(name, true)) else { return Vec::new() };
        sites
            .as_slice()
            .iter()
            .filter_map(|(file, i)| {
                let (path, entry) = self.by_id(*file)?;
                let symbol = entry.symbols.get(*i as usize)?;
                (entry.name(symbol) == name).then_some((path, symbol))
            })
            .collect()
    }

    /// Up to `limit` call sites of `name`: (path, zero-based line). Keyed by a
    /// 64-bit hash of the name: two names colliding is possible in principle
    /// (about one in 10^8 for a million names), and would show an unrelated call.
    pub fn callers(&self, name: &str, limit: usize) -> Vec<(&str, u32)> {
        let Some(sites) = self.callers.get(&name_hash(name, false)) else { return Vec::new() };
        sites.iter().filter_map(|(file, line)| Some((self.by_id(*file)?.0, *line))).take(limit).collect()
    }

    /// Fuzzy symbol search, best first. Ties favour definitions of types, then
    /// shorter names and paths.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SymbolHit<'_>> {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let mut buf = Vec::new();
        let mut hits: Vec<SymbolHit<'_>> = Vec::new();
        for (path, file) in self.entries() {
            for symbol in &file.symbols {
                let name = file.name(symbol);
                let haystack = Utf32Str::new(name, &mut buf);
                if let Some(score) = pattern.score(haystack, &mut matcher) {
                    let exact = u32::from(name.eq_ignore_ascii_case(query)) * 1000;
                    let container = symbol.parent().and_then(|p| file.symbols.get(p as usize)).map(|p| file.name(p));
                    hits.push(SymbolHit { path, name, symbol, container, score: score + exact });
                }
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(kind_rank(a.symbol.kind).cmp(&kind_rank(b.symbol.kind)))
                .then(a.name.len().cmp(&b.name.len()))
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
        if from.ends_with(".go") {
            return self.resolve_go_import(from, import);
        }
        if let Some(found) = self.resolve_relative_script(from, import) {
            return Some(found);
        }
        let mut segments: Vec<&str> =
            import.module.iter().map(String::as_str).filter(|s| *s != "." && *s != "..").collect();
        // `import … from './stats.js'` (ES modules name the file; TypeScript
        // names the compiled `.js` of a `.ts` file): the stem is what matches.
        // Only for relative specifiers: `'chart.js'` is a package, not chart.ts.
        let relative = import.module.first().is_some_and(|s| s == "." || s == "..");
        // CommonJS names a package or a built-in (`require('util')`) unless
        // the path is relative: never a file of the project's by its name.
        if !relative && import.text.starts_with("require(") {
            return None;
        }
        if let Some(last) = segments.last_mut().filter(|_| relative) {
            const SOURCE: [&str; 8] = [".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"];
            if let Some(stem) = SOURCE.iter().find_map(|ext| last.strip_suffix(ext)).filter(|s| !s.is_empty()) {
                *last = stem;
            }
        }
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
                .filter_map(|id| self.by_id(*id).map(|(path, _)| path))
                .filter(|p| {
                    let stem = module_stem(p);
                    (stem == wanted || stem.ends_with(&suffix)) && *p != from
                })
                .min_by_key(|p| (!p.starts_with(from_dir), p.len()))
        };
        (1..=segments.len()).rev().find_map(|n| candidates(&segments[..n]))
    }

    /// A JavaScript/TypeScript import relative to its file (`./index.js`,
    /// `../src`, `./utils`): the file at that path, as Node and TypeScript
    /// find it — the path itself, with a source extension in place of the
    /// one written (`.js` names the `.ts` it is compiled from) or added, else
    /// the folder's `index`.
    fn resolve_relative_script(&self, from: &str, import: &Import) -> Option<&str> {
        const SCRIPTS: [&str; 8] = ["ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs"];
        let script = |path: &str| SCRIPTS.iter().any(|e| path.rsplit_once('.').is_some_and(|(_, x)| x == *e));
        if !script(from) || !import.module.first().is_some_and(|s| s == "." || s == "..") {
            return None;
        }
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for segment in &import.module {
            match segment.as_str() {
                "." => {}
                ".." => {
                    parts.pop()?;
                }
                other => parts.push(other),
            }
        }
        let path = parts.join("/");
        let stem = SCRIPTS.iter().find_map(|e| path.strip_suffix(&format!(".{e}"))).unwrap_or(&path);
        let index = if stem.is_empty() { "index".to_owned() } else { format!("{stem}/index") };
        [stem.to_owned(), index].iter().find_map(|base| {
            SCRIPTS.iter().find_map(|e| self.files.get_key_value(format!("{base}.{e}").as_str()).map(|(p, _)| &**p))
        })
    }

    /// Go imports packages, not files. An import of a module of the
    /// workspace (a `go.mod`'s `module` path, or a path below it) names the
    /// folder of that package, whose file with the most definitions stands
    /// for it; any other path (the standard library's `"errors"`, another
    /// module's) is nothing of the workspace's. A package does not import
    /// itself, but its external tests (`_test.go`) do.
    fn resolve_go_import(&self, from: &str, import: &Import) -> Option<&str> {
        let path = import.module.join("/");
        let folder = self.manifests.iter().filter(|(file, _)| file.ends_with("go.mod")).find_map(|(file, text)| {
            let module = text.lines().find_map(|l| l.trim().strip_prefix("module "))?.trim().trim_matches('"');
            let rest = path.strip_prefix(module)?;
            let rest = if rest.is_empty() { "" } else { rest.strip_prefix('/')? };
            let root = file.strip_suffix("go.mod").unwrap_or("").trim_end_matches('/');
            Some(match (root.is_empty(), rest.is_empty()) {
                (true, _) => rest.to_owned(),
                (false, true) => root.to_owned(),
                (false, false) => format!("{root}/{rest}"),
            })
        })?;
        let own = from.rsplit_once('/').map_or("", |(d, _)| d);
        if folder == own && !from.ends_with("_test.go") {
            return None;
        }
        let prefix = if folder.is_empty() { String::new() } else { format!("{folder}/") };
        self.files
            .range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| {
                let name = &p[prefix.len()..];
                !name.contains('/') && name.ends_with(".go") && !name.ends_with("_test.go")
            })
            .filter_map(|(_, id)| self.by_id(*id))
            .max_by_key(|(p, entry)| (entry.symbols.len(), std::cmp::Reverse(*p)))
            .map(|(p, _)| p)
    }

    /// The workspace files an import refers to: for Python's `from a import
    /// b, c` where `a/b.py` and `a/c.py` are files (submodules), those; else
    /// [`WorkspaceIndex::resolve_import`]'s one.
    pub fn resolve_import_all(&self, from: &str, import: &Import) -> Vec<&str> {
        let mut found = Vec::new();
        // Not relative ones (`from . import x`: the level is not in `module`).
        let absolute = import.text.strip_prefix("from ").filter(|rest| !rest.starts_with('.'));
        if let Some(names) = absolute.and_then(|rest| rest.split_once(" import ")).map(|(_, n)| n) {
            for name in names.trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace()).split(',') {
                let name = name.split(" as ").next().unwrap_or_default().trim();
                if name.is_empty() || name == "*" || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let mut module = import.module.clone();
                module.push(name.to_owned());
                let submodule = Import { module, ..import.clone() };
                // The whole path only: `a/b.py`, not `a` again.
                if let Some(target) = self.resolve_import(from, &submodule)
                    && module_stem(target).ends_with(&format!("/{name}"))
                    && !found.contains(&target)
                {
                    found.push(target);
                }
            }
        }
        if found.is_empty() {
            found.extend(self.resolve_import(from, import));
        }
        found
    }

    /// What the project is made of (cached until the next change).
    pub fn facts(&self) -> ProjectFacts {
        let mut cached = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        cached.get_or_insert_with(|| self.compute_facts()).clone()
    }

    fn compute_facts(&self) -> ProjectFacts {
        let mut languages: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, file) in self.entries() {
            if file.language != Language::PlainText {
                *languages.entry(file.language.name()).or_default() += 1;
            }
        }
        let mut languages: Vec<(String, usize)> = languages.into_iter().map(|(l, n)| (l.to_owned(), n)).collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let build_files: Vec<String> = self.manifests.keys().cloned().collect();
        // package.json is read as what it is (below); the others as text.
        let all_manifests: String = self
            .manifests
            .iter()
            .filter(|(path, _)| !path.ends_with("package.json"))
            .map(|(_, t)| t.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        let has = |needle: &str| all_manifests.contains(needle);
        let pick = |table: &[(&str, &str)]| -> Vec<String> {
            let mut found: Vec<String> =
                table.iter().filter(|(needle, _)| has(needle)).map(|(_, name)| (*name).to_owned()).collect();
            found.dedup();
            found
        };
        let mut test_frameworks = pick(&[
            ("pytest", "pytest"),
            ("junit", "junit"),
            ("testng", "testng"),
            ("github.com/stretchr/testify", "testify"),
            ("\"@playwright/test\"", "playwright"),
        ]);
        let (js_runtime, js_tests) = self.package_json_facts();
        test_frameworks.extend(js_tests);
        // What the test files themselves import: the strongest evidence.
        for (framework, files) in self.test_imports() {
            if !test_frameworks.iter().any(|t| t == framework) && files > 0 {
                test_frameworks.push(framework.to_owned());
            }
        }
        if self.manifests.keys().any(|p| p.ends_with("Cargo.toml")) {
            test_frameworks.push("cargo test".to_owned());
        }
        if self.manifests.keys().any(|p| p.ends_with("go.mod")) {
            test_frameworks.push("go test".to_owned());
        }
        let frameworks = pick(&[
            ("django", "django"),
            ("flask", "flask"),
            ("fastapi", "fastapi"),
            ("spring-boot", "spring boot"),
            ("github.com/gin-gonic/gin", "gin"),
            ("tokio", "tokio"),
            ("axum", "axum"),
            ("actix-web", "actix-web"),
        ]);
        let mut frameworks = frameworks;
        frameworks.splice(0..0, js_runtime);
        frameworks.dedup();
        let (linters, package_managers) = self.tooling_facts(&all_manifests);
        ProjectFacts { languages, build_files, test_frameworks, frameworks, linters, package_managers }
    }

    /// The linters, formatters and type checkers the manifests name
    /// (`package.json`'s dependencies, `pyproject.toml`'s `[tool.*]`
    /// sections), and the package manager.
    fn tooling_facts(&self, other_manifests: &str) -> (Vec<String>, Vec<String>) {
        const JS: [(&str, &str); 7] = [
            ("eslint", "eslint"),
            ("prettier", "prettier"),
            ("@biomejs/biome", "biome"),
            ("xo", "xo"),
            ("standard", "standard"),
            ("oxlint", "oxlint"),
            ("typescript", "tsc"),
        ];
        const PYTHON: [(&str, &str); 5] = [
            ("[tool.ruff", "ruff"),
            ("[tool.mypy", "mypy"),
            ("[tool.black", "black"),
            ("flake8", "flake8"),
            ("[tool.pylint", "pylint"),
        ];
        let (mut linters, mut managers) = (Vec::new(), Vec::new());
        let add = |list: &mut Vec<String>, name: &str| {
            if !list.iter().any(|l| l == name) {
                list.push(name.to_owned());
            }
        };
        for (_, text) in self.manifests.iter().filter(|(p, _)| p.ends_with("package.json")) {
            let Ok(package) = serde_json::from_str::<serde_json::Value>(text) else { continue };
            let declared = |name: &str| {
                ["dependencies", "devDependencies"].iter().any(|k| package.get(k).and_then(|d| d.get(name)).is_some())
            };
            for (package_name, shown) in JS {
                if declared(package_name) {
                    add(&mut linters, shown);
                }
            }
            if let Some(manager) = package.get("packageManager").and_then(|m| m.as_str()) {
                add(&mut managers, manager.split('@').next().unwrap_or(manager));
            }
        }
        for (needle, shown) in PYTHON {
            if other_manifests.contains(needle) {
                add(&mut linters, shown);
            }
        }
        if self.manifests.keys().any(|p| p.ends_with("Cargo.toml")) {
            add(&mut linters, "clippy");
        }
        const LOCKS: [(&str, &str); 8] = [
            ("pnpm-lock.yaml", "pnpm"),
            ("yarn.lock", "yarn"),
            ("package-lock.json", "npm"),
            ("bun.lockb", "bun"),
            ("uv.lock", "uv"),
            ("poetry.lock", "poetry"),
            ("Pipfile.lock", "pipenv"),
            ("Cargo.lock", "cargo"),
        ];
        if managers.is_empty() {
            for (lock, shown) in LOCKS {
                if self.files.contains_key(lock) {
                    add(&mut managers, shown);
                }
            }
        }
        // No lock file indexed (a library's, ignored or never committed):
        // a Rust crate's is cargo whatever; a `package.json`'s could be any
        // (its lock file may be too large or ignored to be indexed).
        if managers.is_empty() && self.manifests.contains_key("Cargo.toml") {
            add(&mut managers, "cargo");
        }
        (linters, managers)
    }

    /// From each `package.json`: the frameworks the code runs on (its
    /// `dependencies` and `peerDependencies`, never a test-only
    /// devDependency) and the test framework (named in the test script, or
    /// a devDependency that is one).
    fn package_json_facts(&self) -> (Vec<String>, Vec<String>) {
        const RUNTIME: [(&str, &str); 6] = [
            ("react", "react"),
            ("next", "next.js"),
            ("vue", "vue"),
            ("svelte", "svelte"),
            ("express", "express"),
            ("@angular/core", "angular"),
        ];
        const TESTS: [&str; 8] = ["vitest", "jest", "ava", "mocha", "tap", "jasmine", "uvu", "@playwright/test"];
        let (mut runtime, mut tests) = (Vec::new(), Vec::new());
        for (_, text) in self.manifests.iter().filter(|(p, _)| p.ends_with("package.json")) {
            let Ok(package) = serde_json::from_str::<serde_json::Value>(text) else { continue };
            let keys = |field: &str| -> Vec<String> {
                package.get(field).and_then(|d| d.as_object()).map(|d| d.keys().cloned().collect()).unwrap_or_default()
            };
            let (deps, peers, dev) = (keys("dependencies"), keys("peerDependencies"), keys("devDependencies"));
            for (name, shown) in RUNTIME {
                if deps.iter().chain(&peers).any(|d| d == name) && !runtime.iter().any(|r| r == shown) {
                    runtime.push(shown.to_owned());
                }
            }
            let script = package.pointer("/scripts/test").and_then(|s| s.as_str()).unwrap_or("");
            let named = TESTS
                .into_iter()
                .find(|t| script.split(|c: char| c.is_whitespace() || c == '&' || c == ';').any(|w| w == *t));
            let shown = |t: &str| if t == "@playwright/test" { "playwright".to_owned() } else { t.to_owned() };
            for t in named.into_iter().chain(TESTS.into_iter().filter(|t| dev.iter().chain(&deps).any(|d| d == t))) {
                if !tests.contains(&shown(t)) {
                    tests.push(shown(t));
                }
            }
        }
        (runtime, tests)
    }

    /// Test frameworks the test files import, with how many files import each.
    pub fn test_imports(&self) -> Vec<(&'static str, usize)> {
        const MODULES: [(&str, &str); 10] = [
            ("ava", "ava"),
            ("vitest", "vitest"),
            ("@jest/globals", "jest"),
            ("mocha", "mocha"),
            ("tap", "tap"),
            ("node:test", "node:test"),
            ("@playwright/test", "playwright"),
            ("pytest", "pytest"),
            ("unittest", "unittest"),
            ("testing", "go test"),
        ];
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (path, file) in self.entries() {
            if !looks_like_test(path) {
                continue;
            }
            for (module, framework) in MODULES {
                let imported = file.imports.iter().any(|i| {
                    let first = i.module.first().map(String::as_str).unwrap_or("");
                    first == module
                        || i.text.contains(&format!("'{module}'"))
                        || i.text.contains(&format!("\"{module}\""))
                });
                if imported {
                    match counts.iter_mut().find(|(f, _)| *f == framework) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((framework, 1)),
                    }
                }
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts
    }
}

/// A test file by its place or name (`tests/`, `test_x.py`, `x.test.ts`, `x_test.go`).
fn looks_like_test(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_dir = |dir: &str| path.starts_with(&format!("{dir}/")) || path.contains(&format!("/{dir}/"));
    in_dir("tests")
        || in_dir("test")
        || in_dir("__tests__")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.contains(".test.")
        || name.contains(".spec.")
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
        let hits: Vec<String> = index.search("usrsvc", 10).iter().map(|h| format!("{}:{}", h.path, h.name)).collect();
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
    fn file_ids_are_reused_without_mixing_files_up() {
        let mut index = index(&[
            ("a.py", "def shared(): pass\n"),
            ("b.py", "def shared(): pass\ndef Shared(): pass\n"),
            ("c.py", "def shared(): pass\nshared()\n"),
        ]);
        assert_eq!(index.definitions("shared").len(), 3);
        assert_eq!(index.definitions("Shared").len(), 1, "case matters for exact definitions");
        index.remove("a.py");
        index.remove("b.py");
        let left: Vec<&str> = index.definitions("shared").iter().map(|(p, _)| *p).collect();
        assert_eq!(left, ["c.py"]);
        // New files take the freed ids; old sites must not point at them.
        index.upsert("d.py", FileEntry::parse(Language::Python, "def other(): pass\n"));
        index.upsert("e.py", FileEntry::parse(Language::Python, "def shared(): pass\n"));
        let mut paths: Vec<&str> = index.definitions("shared").iter().map(|(p, _)| *p).collect();
        paths.sort();
        assert_eq!(paths, ["c.py", "e.py"]);
        assert_eq!(index.callers("shared", 10), vec![("c.py", 1)]);
        index.remove("c.py");
        assert!(index.callers("shared", 10).is_empty());
        assert_eq!(index.search("other", 5)[0].name, "other");
    }

    #[test]
    fn a_restricted_copy_knows_nothing_of_the_files_left_out() {
        let full = index(&[
            ("src/app.py", "from other.private import vault\ndef show():\n    return vault()\n"),
            ("other/private.py", "def vault():\n    return 4242\ndef show(): pass\n"),
            ("other/package.json", r#"{"dependencies": {"react": "18"}}"#),
            ("src/b.py", "def helper(): pass\nvault()\n"),
        ]);
        let mut view = full.restricted(|path| path.starts_with("src/"));
        assert_eq!(view.paths().collect::<Vec<_>>(), ["src/app.py", "src/b.py"]);
        assert!(view.file("other/private.py").is_none());
        assert!(view.definitions("vault").is_empty());
        assert_eq!(view.definitions("show").iter().map(|(p, _)| *p).collect::<Vec<_>>(), ["src/app.py"]);
        assert_eq!(view.callers("vault", 10), vec![("src/app.py", 2), ("src/b.py", 1)]);
        assert!(view.search("vault", 10).is_empty());
        let app = view.file("src/app.py").expect("app");
        assert_eq!(view.resolve_import("src/app.py", &app.imports[0]), None);
        assert!(view.facts().build_files.is_empty() && view.facts().frameworks.is_empty());
        // The copy is an index of its own: it takes updates without mixing ids up.
        view.upsert("src/c.py", FileEntry::parse(Language::Python, "def vault(): pass\n"));
        assert_eq!(view.definitions("vault").iter().map(|(p, _)| *p).collect::<Vec<_>>(), ["src/c.py"]);
        assert_eq!(full.definitions("vault").iter().map(|(p, _)| *p).collect::<Vec<_>>(), ["other/private.py"]);
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
        // Go: packages, not files (spf13/pflag's `int.go` imports "errors", not `errors.go`).
        let go = super::tests::index(&[
            ("go.mod", "module example.com/app\n\ngo 1.22\n"),
            ("errors.go", "package app\n\nfunc Wrap() {}\n"),
            (
                "int.go",
                "package app\n\nimport (\n\t\"errors\"\n\t\"example.com/app/internal/util\"\n\t\"github.com/pkg/errors\"\n)\n",
            ),
            ("internal/util/doc.go", "package util\n"),
            ("internal/util/util.go", "package util\n\nfunc A() {}\n\nfunc B() {}\n"),
            ("internal/util/util_test.go", "package util\n"),
            ("cmd/tool/main.go", "package main\n\nimport \"example.com/app\"\n"),
            ("vendor/github.com/pkg/errors/errors.go", "package errors\n"),
        ]);
        let imports = &go.file("int.go").expect("file").imports;
        let resolved: Vec<Option<&str>> = imports.iter().map(|i| go.resolve_import("int.go", i)).collect();
        assert_eq!(
            resolved,
            [None, Some("internal/util/util.go"), None],
            "the standard library's and another module's are not the workspace's; a package by its fullest file"
        );
        let main = &go.file("cmd/tool/main.go").expect("file").imports[0];
        assert_eq!(go.resolve_import("cmd/tool/main.go", main), Some("errors.go"), "the module's root package");
        // A package's submodules, imported from it (python-humanize's tests).
        let package = super::tests::index(&[
            ("src/humanize/__init__.py", "from humanize.number import ordinal\n"),
            ("src/humanize/number.py", "def ordinal(v): pass\n"),
            ("src/humanize/time.py", "def naturaltime(v): pass\n"),
            (
                "tests/test_number.py",
                "import humanize\nfrom humanize import number, time as t\nfrom humanize import ordinal\n",
            ),
        ]);
        let all = |i: usize| {
            let file = package.file("tests/test_number.py").expect("file");
            package.resolve_import_all("tests/test_number.py", &file.imports[i])
        };
        assert_eq!(all(1), ["src/humanize/number.py", "src/humanize/time.py"]);
        assert_eq!(all(2), ["src/humanize/__init__.py"], "a name the package defines is the package's");
        let relative = super::tests::index(&[
            ("pkg/a/x.py", "def f(): pass\n"),
            ("pkg/b/x.py", "def f(): pass\n"),
            ("pkg/b/use.py", "from . import x\n"),
        ]);
        let file = relative.file("pkg/b/use.py").expect("file");
        assert!(
            relative.resolve_import_all("pkg/b/use.py", &file.imports[0]).iter().all(|t| *t != "pkg/a/x.py"),
            "a relative import is not any folder's x.py"
        );
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
        assert_eq!(facts.test_frameworks, ["pytest", "vitest"]);
        assert_eq!(facts.frameworks, ["react", "fastapi"]);
    }

    /// Issue #16.5: an AVA project was "test frameworks: none found", and a
    /// test-only devDependency was listed as the framework.
    #[test]
    fn facts_are_what_the_project_runs_and_its_tests_import() {
        let index = index(&[
            (
                "package.json",
                r#"{"scripts": {"test": "xo && ava"}, "dependencies": {"got": "14"}, "devDependencies": {"ava": "6", "react": "18", "jest-mock": "29"}}"#,
            ),
            ("source/index.ts", "export default function get() {}\n"),
            ("test/get.ts", "import test from 'ava';\nimport get from '../source/index.js';\n"),
            ("test/post.ts", "import test from 'ava';\n"),
        ]);
        let facts = index.facts();
        assert_eq!(facts.test_frameworks, ["ava"], "from the script, the devDependency and the imports");
        assert!(facts.frameworks.is_empty(), "react is a devDependency here: {:?}", facts.frameworks);
        let imports = index.test_imports();
        assert_eq!(imports, [("ava", 2)]);
    }

    /// ufo tried as a user would: Alex named no linter and no package manager.
    #[test]
    fn the_tools_a_project_configures_and_its_package_manager() {
        let js = index(&[
            (
                "package.json",
                r#"{"packageManager": "pnpm@10.28.0", "devDependencies": {"eslint": "9", "prettier": "3", "typescript": "5", "vitest": "3"}}"#,
            ),
            ("yarn.lock", "# stale\n"),
        ]);
        let facts = js.facts();
        assert_eq!(facts.linters, ["eslint", "prettier", "tsc"]);
        assert_eq!(facts.package_managers, ["pnpm"], "packageManager before a lock file");
        let py =
            index(&[("pyproject.toml", "[tool.ruff]\nline-length = 99\n[tool.mypy]\n"), ("uv.lock", "version = 1\n")]);
        assert_eq!(py.facts().linters, ["ruff", "mypy"]);
        assert_eq!(py.facts().package_managers, ["uv"]);
        // No lock file: a crate's tool; a package's could be any.
        let library = index(&[("package.json", "{\"name\": \"content-type\", \"scripts\": {\"test\": \"mocha\"}}")]);
        assert!(library.facts().package_managers.is_empty());
        let krate = index(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
        assert_eq!(krate.facts().package_managers, ["cargo"]);
    }
}
