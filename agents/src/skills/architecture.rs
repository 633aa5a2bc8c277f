//! Leonardo's architecture view: the workspace's modules (folders) and their
//! dependencies from resolved imports, import cycles (strongly connected
//! components), the largest and the most coupled modules, and an ADR draft.

use std::collections::{BTreeMap, BTreeSet};

use context::index::WorkspaceIndex;

use super::SkillOutput;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleMap {
    /// Module (a folder, `.` for the root) → (files, bytes, symbols).
    pub modules: BTreeMap<String, (u32, u64, u32)>,
    /// Module → modules it imports from.
    pub edges: BTreeMap<String, BTreeSet<String>>,
    /// Import cycles between modules, each sorted.
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
        let module = module_of(path);
        let entry = map.modules.entry(module.clone()).or_default();
        entry.0 += 1;
        entry.1 += file.bytes;
        entry.2 += file.symbols().len() as u32;
        for import in &file.imports {
            if let Some(target) = index.resolve_import(path, import) {
                let target = module_of(target);
                if target != module {
                    map.edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    map.cycles = cycles(&map.edges);
    map
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

pub fn architecture(speaker: &str, index: &WorkspaceIndex) -> SkillOutput {
    let map = module_map(index);
    let mut report = format!(
        "{speaker}'s architecture map: {} module(s), {} dependency edge(s), {} import cycle(s).\n",
        map.modules.len(),
        map.edges.values().map(BTreeSet::len).sum::<usize>(),
        map.cycles.len()
    );
    report.push_str("\n## Dependencies\n\n```mermaid\ngraph LR\n");
    for (from, targets) in &map.edges {
        for to in targets {
            report.push_str(&format!("  {:?} --> {:?}\n", from, to));
        }
    }
    report.push_str("```\n");
    if !map.cycles.is_empty() {
        report.push_str("\n## Import cycles\n\n");
        for cycle in &map.cycles {
            report.push_str(&format!("- {}\n", cycle.join(" ⇄ ")));
        }
    }
    let mut largest: Vec<(&String, &(u32, u64, u32))> = map.modules.iter().collect();
    largest.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    report.push_str("\n## Largest modules\n\n| module | files | KB | symbols |\n|---|---|---|---|\n");
    for (module, (files, bytes, symbols)) in largest.iter().take(10) {
        report.push_str(&format!("| {module} | {files} | {} | {symbols} |\n", bytes.div_ceil(1024)));
    }
    let mut fan_in: BTreeMap<&str, usize> = BTreeMap::new();
    for targets in map.edges.values() {
        for target in targets {
            *fan_in.entry(target).or_default() += 1;
        }
    }
    let mut coupled: Vec<(&str, usize, usize)> = map
        .modules
        .keys()
        .map(|m| (m.as_str(), fan_in.get(m.as_str()).copied().unwrap_or(0), map.edges.get(m).map_or(0, BTreeSet::len)))
        .filter(|(_, i, o)| i + o > 0)
        .collect();
    coupled.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    if !coupled.is_empty() {
        report.push_str("\n## Most coupled modules\n\n| module | imported by | imports |\n|---|---|---|\n");
        for (module, fan_in, fan_out) in coupled.iter().take(10) {
            report.push_str(&format!("| {module} | {fan_in} | {fan_out} |\n"));
        }
    }
    report.push_str("\n## ADR draft\n\n");
    report.push_str(&adr(speaker, &map, coupled.first().map(|c| c.0)));
    SkillOutput { report, ..SkillOutput::default() }
}

fn adr(speaker: &str, map: &ModuleMap, most_coupled: Option<&str>) -> String {
    let (title, decision) = match (map.cycles.first(), most_coupled) {
        (Some(cycle), _) => (
            format!("Break the import cycle between {}", cycle.join(" and ")),
            format!(
                "Move what {} share into a module that depends on neither, or invert one dependency behind an interface, so that dependencies point one way.",
                cycle.join(" and ")
            ),
        ),
        (None, Some(module)) => (
            format!("Keep `{module}` a stable core"),
            format!(
                "`{module}` is the most coupled module; changes to its interface ripple furthest. Keep it small, stable and well tested, and add new behaviour in modules that depend on it."
            ),
        ),
        (None, None) => (
            "Record the module structure".to_owned(),
            "Keep modules independent; record any new cross-module dependency in an ADR.".to_owned(),
        ),
    };
    format!(
        "# ADR: {title}\n\n- Status: proposed\n- Context: {} modules, {} dependencies, {} cycle(s), found from the workspace's imports.\n- Decision: {decision}\n- Consequences: dependency direction becomes a rule reviews can check; {speaker}'s map shows regressions.\n",
        map.modules.len(),
        map.edges.values().map(BTreeSet::len).sum::<usize>(),
        map.cycles.len()
    )
}

#[cfg(test)]
mod tests {
    use context::{Language, index::FileEntry};

    use super::*;

    #[test]
    fn modules_edges_and_cycles() {
        let mut index = WorkspaceIndex::default();
        for (path, text) in [
            ("app/models/user.py", "from app.services.mail import send\nclass User: pass\n"),
            ("app/services/mail.py", "from app.models.user import User\ndef send(): pass\n"),
            ("app/web/views.py", "from app.models.user import User\nfrom app.services.mail import send\n"),
            ("app/util.py", "def helper(): pass\n"),
        ] {
            index.upsert(path, FileEntry::parse(Language::from_path(path), text));
        }
        let map = module_map(&index);
        assert_eq!(map.cycles, [vec!["app/models".to_owned(), "app/services".to_owned()]]);
        assert_eq!(
            map.edges.get("app/web").map(|t| t.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["app/models".to_owned(), "app/services".to_owned()])
        );
        let out = architecture("Leonardo", &index);
        assert!(out.report.contains("1 import cycle(s)"), "{}", out.report);
        assert!(out.report.contains("# ADR: Break the import cycle between app/models and app/services"));
    }
}
