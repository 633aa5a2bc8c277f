//! Leonardo's architecture view: the workspace's files and their
//! dependencies from resolved imports (a type-only import — TypeScript's
//! `import type` — is no runtime dependency and is counted apart), import
//! cycles between files (strongly connected components), folders by size,
//! the most coupled files, and an ADR draft.

use std::collections::{BTreeMap, BTreeSet};

use context::index::WorkspaceIndex;

use super::SkillOutput;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleMap {
    /// Folder (`.` for the root) → (files, bytes, symbols).
    pub modules: BTreeMap<String, (u32, u64, u32)>,
    /// File → files it imports at run time.
    pub edges: BTreeMap<String, BTreeSet<String>>,
    /// Type-only imports between files (no runtime dependency).
    pub type_only: usize,
    /// Import cycles between files, each sorted.
    pub cycles: Vec<Vec<String>>,
}

fn module_of(path: &str) -> String {
    path.rsplit_once('/').map_or_else(|| ".".to_owned(), |(dir, _)| dir.to_owned())
}

pub fn module_map(index: &WorkspaceIndex) -> ModuleMap {
    let mut map = ModuleMap::default();
    for path in index.paths() {
        let Some(file) = index.file(path) else { continue };
        if file.language == context::Language::PlainText {
            continue;
        }
        let entry = map.modules.entry(module_of(path)).or_default();
        entry.0 += 1;
        entry.1 += file.bytes;
        entry.2 += file.symbols().len() as u32;
        for import in &file.imports {
            let targets: Vec<&str> =
                index.resolve_import_all(path, import).into_iter().filter(|t| *t != path).collect();
            if targets.is_empty() {
                continue;
            }
            if import.type_only || only_types(index, path, import, &targets) {
                map.type_only += 1;
                continue;
            }
            map.edges.entry(path.to_owned()).or_default().extend(targets.into_iter().map(str::to_owned));
        }
    }
    map.cycles = cycles(&map.edges);
    map
}

/// A TypeScript import whose names are all types or interfaces of the one
/// file it imports (`import { QueryValue } from "./query"` where `export type
/// QueryValue = …`): the compiler drops it, as it drops `import type`. A
/// name it cannot find there (a re-export) keeps the import a dependency.
fn only_types(index: &WorkspaceIndex, path: &str, import: &context::symbols::Import, targets: &[&str]) -> bool {
    let typescript = [".ts", ".tsx", ".mts", ".cts"].iter().any(|e| path.ends_with(e));
    let ([target], Some(rest)) = (targets, import.text.strip_prefix("import {")) else { return false };
    let Some((names, _)) = rest.split_once("} from") else { return false };
    let Some(file) = index.file(target).filter(|_| typescript) else { return false };
    let names: Vec<&str> = names
        .split(',')
        .map(|n| n.trim().trim_start_matches("type ").split(" as ").next().unwrap_or_default().trim())
        .filter(|n| !n.is_empty())
        .collect();
    // A name declared as a type and as a value (an interface merged with a
    // class, a function, zod's `export const User = z.object(…)` beside
    // `export type User = z.infer<typeof User>`) is imported as the value too.
    let is_type = |kind: context::symbols::SymbolKind| {
        matches!(kind, context::symbols::SymbolKind::Type | context::symbols::SymbolKind::Interface)
    };
    !names.is_empty()
        && names.iter().all(|name| {
            let mut kinds = file.named_symbols().filter(|(declared, _)| declared == name).map(|(_, s)| s.kind);
            let first = kinds.next();
            first.is_some_and(is_type) && kinds.all(is_type)
        })
}

/// Strongly connected components with more than one module (Tarjan, iterative).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&str> =
        edges.keys().map(String::as_str).chain(edges.values().flatten().map(String::as_str)).collect();
    let ids: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let names: Vec<&str> = nodes.iter().copied().collect();
    let adjacency: Vec<Vec<usize>> = names
        .iter()
        .map(|n| edges.get(*n).map(|t| t.iter().map(|m| ids[m.as_str()]).collect()).unwrap_or_default())
        .collect();
    let n = names.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut counter) = (Vec::new(), Vec::new(), 0);
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&(v, next)) = work.last() {
            if next == 0 {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adjacency[v].get(next) {
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(names[w].to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    out.push(component);
                }
            }
        }
    }
    out.sort();
    out
}

/// Edges drawn in the diagram; the counts and cycles cover them all.
const DRAWN: usize = 60;

pub fn architecture(speaker: &str, index: &WorkspaceIndex) -> SkillOutput {
    let map = module_map(index);
    let files: usize = map.modules.values().map(|m| m.0 as usize).sum();
    let edges = map.edges.values().map(BTreeSet::len).sum::<usize>();
    let mut report = format!(
        "{speaker}'s architecture map: {files} file(s) in {} folder(s), {edges} dependency edge(s) between files, {} import cycle(s).\n",
        map.modules.len(),
        map.cycles.len()
    );
    if map.type_only > 0 {
        report.push_str(&format!(
            "{} type-only import(s) are not counted: they are erased at compile time and make no runtime dependency.\n",
            map.type_only
        ));
    }
    report.push_str("\n## Dependencies\n\n```mermaid\ngraph LR\n");
    for (from, to) in map.edges.iter().flat_map(|(from, targets)| targets.iter().map(move |to| (from, to))).take(DRAWN)
    {
        report.push_str(&format!("  {from:?} --> {to:?}\n"));
    }
    report.push_str("```\n");
    if edges > DRAWN {
        report.push_str(&format!("({} more edge(s) not drawn)\n", edges - DRAWN));
    }
    if !map.cycles.is_empty() {
        report.push_str("\n## Import cycles\n\n");
        for cycle in &map.cycles {
            report.push_str(&format!("- {}\n", cycle.join(" ⇄ ")));
        }
    }
    let mut largest: Vec<(&String, &(u32, u64, u32))> = map.modules.iter().collect();
    largest.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    report.push_str("\n## Largest folders\n\n| folder | files | KB | symbols |\n|---|---|---|---|\n");
    for (module, (files, bytes, symbols)) in largest.iter().take(10) {
        report.push_str(&format!("| {module} | {files} | {} | {symbols} |\n", bytes.div_ceil(1024)));
    }
    let mut fan_in: BTreeMap<&str, usize> = BTreeMap::new();
    for targets in map.edges.values() {
        for target in targets {
            *fan_in.entry(target).or_default() += 1;
        }
    }
    let nodes: BTreeSet<&str> =
        map.edges.keys().map(String::as_str).chain(map.edges.values().flatten().map(String::as_str)).collect();
    let mut coupled: Vec<(&str, usize, usize)> = nodes
        .into_iter()
        .map(|f| (f, fan_in.get(f).copied().unwrap_or(0), map.edges.get(f).map_or(0, BTreeSet::len)))
        .collect();
    coupled.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    if !coupled.is_empty() {
        report.push_str("\n## Most coupled files\n\n| file | imported by | imports |\n|---|---|---|\n");
        for (file, fan_in, fan_out) in coupled.iter().take(10) {
            report.push_str(&format!("| {file} | {fan_in} | {fan_out} |\n"));
        }
    }
    report.push_str("\n## ADR draft\n\n");
    // The core is what most files depend on, not a crate root or an index
    // that only re-exports (all imports, imported by none).
    let core = coupled
        .iter()
        .filter(|c| c.1 >= 2)
        .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(b.0.cmp(a.0)))
        .map(|c| (c.0, c.1));
    report.push_str(&adr(speaker, &map, core));
    SkillOutput { report, ..SkillOutput::default() }
}

fn adr(speaker: &str, map: &ModuleMap, core: Option<(&str, usize)>) -> String {
    let (title, decision) = match (map.cycles.first(), core) {
        (Some(cycle), _) => (
            format!("Break the import cycle between {}", cycle.join(" and ")),
            format!(
                "Move what {} share into a module that depends on neither, or invert one dependency behind an interface, so that dependencies point one way.",
                cycle.join(" and ")
            ),
        ),
        (None, Some((module, importers))) => (
            format!("Keep `{module}` a stable core"),
            format!(
                "`{module}` is imported by {importers} files, more than any other; changes to its interface ripple furthest. Keep it small, stable and well tested, and add new behaviour in files that depend on it."
            ),
        ),
        (None, None) => (
            "Record the module structure".to_owned(),
            "Keep modules independent; record any new cross-module dependency in an ADR.".to_owned(),
        ),
    };
    format!(
        "# ADR: {title}\n\n- Status: proposed\n- Context: {} files, {} dependencies, {} cycle(s), found from the workspace's imports.\n- Decision: {decision}\n- Consequences: dependency direction becomes a rule reviews can check; {speaker}'s map shows regressions.\n",
        map.modules.values().map(|m| m.0).sum::<u32>(),
        map.edges.values().map(BTreeSet::len).sum::<usize>(),
        map.cycles.len()
    )
}

#[cfg(test)]
mod tests {
    use context::{Language, index::FileEntry};

    use super::*;

    fn index(files: &[(&str, &str)]) -> WorkspaceIndex {
        let mut index = WorkspaceIndex::default();
        for (path, text) in files {
            index.upsert(path, FileEntry::parse(Language::from_path(path), text));
        }
        index
    }

    #[test]
    fn files_edges_and_cycles() {
        let index = index(&[
            ("app/models/user.py", "from app.services.mail import send\nclass User: pass\n"),
            ("app/services/mail.py", "from app.models.user import User\ndef send(): pass\n"),
            ("app/web/views.py", "from app.models.user import User\nfrom app.services.mail import send\n"),
            ("app/util.py", "def helper(): pass\n"),
        ]);
        let map = module_map(&index);
        assert_eq!(map.cycles, [vec!["app/models/user.py".to_owned(), "app/services/mail.py".to_owned()]]);
        assert_eq!(
            map.edges.get("app/web/views.py").map(|t| t.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["app/models/user.py".to_owned(), "app/services/mail.py".to_owned()])
        );
        let out = architecture("Leonardo", &index);
        assert!(out.report.contains("1 import cycle(s)"), "{}", out.report);
        assert!(
            out.report.contains("# ADR: Break the import cycle between app/models/user.py and app/services/mail.py")
        );
    }

    /// Issue #16: "0 dependency edges" for a crate of four modules in one
    /// folder, and a cycle that did not exist file by file.
    #[test]
    fn one_folder_has_edges_and_type_imports_make_no_cycle() {
        let crate_ = index(&[
            ("src/lib.rs", "mod lexer;\nmod parser;\nuse crate::parser::parse;\n"),
            ("src/parser.rs", "use crate::lexer::tokens;\npub fn parse() {}\n"),
            ("src/lexer.rs", "pub fn tokens() {}\n"),
        ]);
        let out = architecture("Leonardo", &crate_);
        assert!(out.report.contains("3 file(s) in 1 folder(s)"), "{}", out.report);
        assert!(!out.report.contains(" 0 dependency edge(s)"), "{}", out.report);
        // The ADR's core is what most files import, not the root that only
        // declares and re-exports (humantime's `lib.rs`).
        let rooted = index(&[
            (
                "src/lib.rs",
                "mod date;\nmod duration;\nmod wrapper;\npub use crate::date::parse;\npub use crate::duration::Duration;\n",
            ),
            ("src/date.rs", "use crate::duration::Duration;\npub fn parse() {}\n"),
            ("src/wrapper.rs", "use crate::duration::Duration;\nuse crate::date::parse;\n"),
            ("src/duration.rs", "pub struct Duration;\n"),
        ]);
        let report = architecture("Leonardo", &rooted).report;
        assert!(report.contains("Keep `src/duration.rs` a stable core"), "{report}");
        assert!(report.contains("imported by 3 files, more than any other"), "{report}");
        let ts = index(&[
            ("src/a.ts", "import { b } from './b';\nexport const a = () => b();\n"),
            ("src/b.ts", "import type { A } from './a';\nexport function b(): A | null { return null; }\n"),
            ("src/c.ts", "import { type B } from './b';\nexport const c = 1;\n"),
        ]);
        let map = module_map(&ts);
        assert!(map.cycles.is_empty(), "{:?}", map.cycles);
        assert_eq!(map.type_only, 2);
        assert_eq!(map.edges.get("src/a.ts").map(BTreeSet::len), Some(1));
        // A plain import of names that are only types (ufo's `QueryValue`),
        // a re-export (`export * from`), and `./index.js` naming `index.ts`.
        let ufo = index(&[
            ("src/encoding.ts", "import { QueryValue } from \"./query\";\nexport function encode(v: QueryValue) {}\n"),
            (
                "src/query.ts",
                "import { encode } from \"./encoding\";\nexport type QueryValue = string | number;\nexport interface Q {}\nexport const q = () => encode(1);\n",
            ),
            ("src/index.ts", "export * from \"./encoding\";\nexport { q } from './query';\n"),
            ("src/index.spec.ts", "import {\n  encode,\n} from \"./index.js\";\n"),
            ("src/mixed.ts", "import { QueryValue, q } from \"./query\";\n"),
        ]);
        let map = module_map(&ufo);
        assert!(map.cycles.is_empty(), "{:?}", map.cycles);
        assert_eq!(map.type_only, 1);
        let edges = |from: &str| map.edges.get(from).map(|t| t.iter().cloned().collect::<Vec<_>>()).unwrap_or_default();
        assert_eq!(edges("src/index.ts"), ["src/encoding.ts", "src/query.ts"]);
        assert_eq!(edges("src/index.spec.ts"), ["src/index.ts"]);
        assert_eq!(edges("src/mixed.ts"), ["src/query.ts"], "a value among the types: a dependency");
        let merged = index(&[
            ("src/user.ts", "export interface User { id: number }\nexport class User { id = 1 }\n"),
            ("src/api.ts", "import { User } from \"./user\";\nexport const make = () => new User();\n"),
        ]);
        assert_eq!(module_map(&merged).type_only, 0, "a class of the same name is imported too");
        // CommonJS: `require('..')` from a test is a dependency on the package's index.
        let cjs = index(&[
            (
                "index.js",
                "'use strict'\nvar util = require('./lib/util')\nexports.parse = function parse (s) { return util.trim(s) }\n",
            ),
            ("lib/util.js", "exports.trim = function trim (s) { return s.trim() }\n"),
            ("test/parse.js", "var assert = require('assert')\nvar contentType = require('..')\n"),
        ]);
        let map = module_map(&cjs);
        assert_eq!(
            map.edges.get("index.js").map(|t| t.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["lib/util.js".to_owned()])
        );
        assert_eq!(
            map.edges.get("test/parse.js").map(|t| t.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["index.js".to_owned()])
        );
        // zod's schema and its type under one name: the value is imported too.
        let zod = index(&[
            (
                "src/user.ts",
                "import { z } from \"zod\";\nexport const User = z.object({ id: z.number() });\nexport type User = z.infer<typeof User>;\n",
            ),
            ("src/api.ts", "import { User } from \"./user\";\nexport const parse = (x: unknown) => User.parse(x);\n"),
            ("src/view.ts", "import { Shown } from \"./shown\";\nexport const show = (u: Shown) => u;\n"),
            ("src/shown.ts", "export type Shown = { id: number };\nconst local = 1;\n"),
        ]);
        let map = module_map(&zod);
        assert_eq!(map.edges.get("src/api.ts").map(|t| t.len()), Some(1), "{map:?}");
        assert_eq!(map.type_only, 1, "{map:?}");
        // Python: what is imported under `if TYPE_CHECKING:` is the type checker's.
        let py = index(&[
            ("app/models.py", "from app.services import mail\n\nclass User:\n    pass\n"),
            (
                "app/services.py",
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from app.models import User\n\ndef mail(user: 'User') -> None:\n    pass\n",
            ),
        ]);
        let map = module_map(&py);
        assert!(map.cycles.is_empty(), "{:?}", map.cycles);
        assert_eq!(map.type_only, 1);
    }
}
