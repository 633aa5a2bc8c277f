//! The daemon's shape, checked: its source files form four layers — `fronts`,
//! `server`, `services`, `platform` — each using only its own layer and those
//! below, no two files use each other in a circle (directly or around a longer
//! loop), and OS-specific code lives in `platform::os` alone. ARCHITECTURE.md
//! says why; this test keeps it true.
//!
//! It reads the sources, not the compiled crate: every `crate::…` and `super::…`
//! path outside test modules (in `use` lines, `use` groups and expressions) is a
//! dependency on the file of the longest module prefix it names.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const LAYERS: [&str; 4] = ["platform", "services", "server", "fronts"];

/// Source files, as module paths (`services::runs`), with their text minus
/// test modules.
fn sources() -> BTreeMap<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path != root.join("bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == root.join("main.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            files.insert(module_of(&root, &path), without_tests(&text));
        }
    }
    files
}

fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel: PathBuf = file.strip_prefix(root).expect("under src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The text before the first `#[cfg(test)]` item: test modules sit at the end
/// of a file, and tests may reach anywhere.
fn without_tests(text: &str) -> String {
    let cut = text.find("#[cfg(test)]").unwrap_or(text.len());
    // Comments name modules freely; only code counts.
    text[..cut].lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every path a file names from `crate::` or `super::`, expanded out of `use`
/// groups: `crate::{a::b, c}` gives `a::b` and `c`, relative to the crate root.
fn paths_named(module: &[String], is_mod_file: bool, text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent_of(module, is_mod_file))] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            expand(&base, rest, &mut found);
        }
    }
    found
}

fn parent_of(module: &[String], is_mod_file: bool) -> Vec<String> {
    // `super` in `a/b.rs` (module a::b) is `a`; in `a/b/mod.rs` (also a::b) it is `a` too.
    let _ = is_mod_file;
    module[..module.len().saturating_sub(1)].to_vec()
}

/// Reads one path (or brace group) at the start of `text`, relative to `base`.
fn expand(base: &[String], text: &str, found: &mut Vec<Vec<String>>) {
    let mut path = base.to_vec();
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let inner = &group[..end];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&path, inner[start..i].trim_start(), found);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&path, inner[start..].trim_start(), found);
            return;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if name.is_empty() || name == "self" {
            break;
        }
        path.push(name.clone());
        rest = &rest[name.len()..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !path.is_empty() {
        found.push(path);
    }
}

/// The file a path lands in: its longest prefix that is a module of the crate.
fn file_of(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|prefix| modules.contains(prefix))
}

fn layer(module: &[String]) -> Option<usize> {
    LAYERS.iter().position(|l| module.first().is_some_and(|m| m == l))
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = sources();
    let modules: BTreeSet<Vec<String>> = files.keys().cloned().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    files
        .iter()
        .map(|(module, text)| {
            let is_mod_file = root.join(module.join("/")).join("mod.rs").exists();
            let deps = paths_named(module, is_mod_file, text)
                .iter()
                .filter_map(|path| file_of(&modules, path))
                // A module's own file and its ancestors (`mod.rs` declaring it) are not uses.
                .filter(|dep| !module.starts_with(dep))
                .collect();
            (module.clone(), deps)
        })
        .collect()
}

fn name(module: &[String]) -> String {
    if module.is_empty() { "lib".into() } else { module.join("::") }
}

#[test]
fn layers_point_down() {
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some(own) = layer(&module) else { continue };
        for dep in deps {
            if layer(&dep).is_some_and(|theirs| theirs > own) {
                wrong.push(format!(
                    "{} ({}) uses {} ({})",
                    name(&module),
                    LAYERS[own],
                    name(&dep),
                    LAYERS[layer(&dep).unwrap_or(0)]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "a layer uses one above it (order: {}):\n{}", LAYERS.join(" < "), wrong.join("\n"));
}

#[test]
fn no_circles() {
    let graph = graph();
    // Tarjan's strongly connected components: any with two or more files is a circle.
    struct Walk<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, (usize, usize)>,
        stack: Vec<&'g Vec<String>>,
        on_stack: BTreeSet<&'g Vec<String>>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Vec<String>) {
            self.index.insert(v, (self.next, self.next));
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.index[v].1.min(self.index[w].1);
                    self.index.get_mut(v).expect("visited").1 = low;
                } else if self.on_stack.contains(w) {
                    let low = self.index[v].1.min(self.index[w].0);
                    self.index.get_mut(v).expect("visited").1 = low;
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(name(w));
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.circles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    let listed: Vec<String> = walk.circles.iter().map(|c| c.join(" ↔ ")).collect();
    assert!(listed.is_empty(), "files that use each other in a circle:\n{}", listed.join("\n"));
}

#[test]
fn only_platform_os_speaks_to_the_os() {
    // What names an OS API: a port to another OS must only touch `platform::os`.
    const OS_APIS: [&str; 10] = [
        "std::os::unix",
        "std::os::windows",
        "libc::",
        "rustix::",
        "signal::unix",
        "UnixListener",
        "UnixStream",
        "cfg(unix)",
        "cfg(windows)",
        "cfg(target_os",
    ];
    let mut found = Vec::new();
    for (module, text) in sources() {
        if module.starts_with(&["platform".to_owned(), "os".to_owned()]) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if let Some(api) = OS_APIS.iter().find(|api| line.contains(*api)) {
                found.push(format!("{} (non-test line {}): {api}", name(&module), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "OS APIs outside platform::os:\n{}", found.join("\n"));
}

/// Files stay readable: at most ~800 lines of code before their tests, and no
/// function over 100 lines unless a comment just above it says why ("Long:").
#[test]
fn files_and_functions_stay_small() {
    const FILE_LINES: usize = 800;
    const FUNCTION_LINES: usize = 100;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut over = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let lines: Vec<&str> = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).collect();
            let shown = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
            if lines.len() > FILE_LINES {
                over.push(format!("{shown}: {} lines of code (at most {FILE_LINES})", lines.len()));
            }
            let mut i = 0;
            while i < lines.len() {
                let line = lines[i];
                let indent = line.len() - line.trim_start().len();
                let trimmed = line.trim_start();
                let is_fn = ["fn ", "pub fn ", "async fn ", "pub async fn ", "pub(crate) fn ", "pub(super) fn "]
                    .iter()
                    .chain(&["pub(crate) async fn ", "pub(super) async fn ", "const fn ", "pub const fn "])
                    .any(|p| trimmed.starts_with(p));
                if is_fn && !trimmed.ends_with(';') {
                    let close = format!("{}}}", " ".repeat(indent));
                    let end = (i + 1..lines.len()).find(|&j| lines[j] == close).unwrap_or(i);
                    let length = end + 1 - i;
                    let reason = lines[..i].iter().rev().take_while(|l| {
                        let t = l.trim_start();
                        t.starts_with("//") || t.starts_with("#[")
                    });
                    let explained = reason.into_iter().any(|l| l.contains("Long:"));
                    if length > FUNCTION_LINES && !explained {
                        over.push(format!(
                            "{shown}:{}: a function of {length} lines (at most {FUNCTION_LINES})",
                            i + 1
                        ));
                    }
                    i = end;
                }
                i += 1;
            }
        }
    }
    over.sort();
    assert!(over.is_empty(), "split these, or say why above the function (\"Long: …\"):\n{}", over.join("\n"));
}
