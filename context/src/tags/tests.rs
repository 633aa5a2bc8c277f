//! The walk must find what the tags and import queries find: the same
//! definitions (names, kinds, lines, nesting), calls and imports. Checked on a
//! fixture per language that uses every rule, on code with syntax errors, then on
//! real code: this repository; the Go, Java, JavaScript and Python files among
//! the crate sources cargo has downloaded; Python's standard library and the
//! extension's node_modules when they are on the machine; and any folder named
//! by `PAIRED_TAGS_CORPUS` (for a full run over, say, all the crate sources).

use std::path::{Path, PathBuf};

use crate::{
    Language, SyntaxDocument,
    index::FileEntry,
    symbols::{self, Symbol},
};

/// (name, kind, first line, last line, parent index) in outline order.
type Row = (String, &'static str, u32, u32, Option<u32>);

fn by_query(doc: &SyntaxDocument) -> (Vec<Row>, Vec<(String, u32)>, Vec<symbols::Import>) {
    let (outline, mut calls) = symbols::analyze(doc);
    fn flatten(symbols: &[Symbol], parent: Option<u32>, out: &mut Vec<Row>) {
        for symbol in symbols {
            let index = out.len() as u32;
            out.push((symbol.name.clone(), symbol.kind.name(), symbol.start.line, symbol.end.line, parent));
            flatten(&symbol.children, Some(index), out);
        }
    }
    let mut rows = Vec::new();
    flatten(&outline.symbols, None, &mut rows);
    calls.sort();
    (rows, calls, outline.imports)
}

fn by_walk(doc: &SyntaxDocument) -> (Vec<Row>, Vec<(String, u32)>, Vec<symbols::Import>) {
    let entry = FileEntry::from_document(doc);
    let rows = entry
        .named_symbols()
        .map(|(name, s)| (name.to_owned(), s.kind.name(), s.line, s.end_line, s.parent()))
        .collect();
    let tags = super::walk(doc);
    let mut calls: Vec<(String, u32)> =
        tags.calls.iter().map(|(range, line)| (doc.text()[range.clone()].to_owned(), *line)).collect();
    calls.sort();
    (rows, calls, entry.imports)
}

/// Compares both ways of reading `text`; the first difference, if any.
fn compare(language: Language, text: &str) -> Result<(), String> {
    let doc = SyntaxDocument::new(language, text.to_owned());
    let (want, got) = (by_query(&doc), by_walk(&doc));
    let first_difference = |what: &str, want: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
        let (want, got) = (format!("{want:#?}"), format!("{got:#?}"));
        let line = want.lines().zip(got.lines()).position(|(a, b)| a != b).unwrap_or(0);
        let around = |s: &str| s.lines().skip(line.saturating_sub(6)).take(14).collect::<Vec<_>>().join("\n");
        format!("{what} differ\n--- tags query:\n{}\n--- walk:\n{}", around(&want), around(&got))
    };
    if want.0 != got.0 {
        return Err(first_difference("definitions", &want.0, &got.0));
    }
    if want.1 != got.1 {
        return Err(first_difference("calls", &want.1, &got.1));
    }
    if want.2 != got.2 {
        return Err(first_difference("imports", &want.2, &got.2));
    }
    Ok(())
}

#[track_caller]
fn check(language: Language, text: &str) {
    let doc = SyntaxDocument::new(language, text.to_owned());
    let (rows, calls, imports) = by_query(&doc);
    assert!(!rows.is_empty() && !calls.is_empty(), "the fixture exercises definitions and calls");
    let _ = imports;
    if let Err(difference) = compare(language, text) {
        panic!("{language:?}: {difference}");
    }
}

#[test]
fn rust_rules() {
    check(
        Language::Rust,
        r#"
use std::collections::HashMap;
extern crate alloc;

/// A point.
pub struct Point { x: f64 }
enum Shape { Circle }
union Bits { i: u32 }
type Map = HashMap<String, u32>;
const LIMIT: usize = 4;

pub trait Area {
    fn area(&self) -> f64;
    fn twice(&self) -> f64 { self.area() * 2.0 }
}

impl Area for Point {
    fn area(&self) -> f64 { helper(self.x) }
}

impl<T> Wrapper<T> {
    fn new() -> Self { Self::make(vec![T::default()]) }
}

mod inner {
    use super::Point;
    pub fn helper(x: f64) -> f64 { x.abs().max(0.0) }
    mod deeper { fn hidden() { println!("{}", format!("x")); } }
}

macro_rules! square { ($x:expr) => { $x * $x }; }

macro_rules! defines {
    ($name:ident) => { fn $name() { call_inside_token_tree(); } };
}

extern "C" { fn c_function(x: i32) -> i32; }
extern "C" { fn with_body() {} }

fn main() {
    use std::fmt::Write;
    fn nested() {}
    let closure = |x| compute(x);
    let s = "call_in_string()"; // call_in_comment()
    #[cfg(test)]
    let _ = (helper)(1.0);
    closure(square!(2));
    Point { x: 1.0 }.area();
}
"#,
    );
}

#[test]
fn python_rules() {
    check(
        Language::Python,
        r#"
import os
from collections import OrderedDict as OD

LIMIT = 10
TYPED: int = 3
a = b = 4

class Greeter(Base):
    """Says hello."""
    count = 0

    def greet(self, name):
        inner = 1
        return self.format(name).strip()

    @staticmethod
    def make():
        return Greeter()

def main():
    import sys
    value = compute(f"{helper(1)}")
    print(value)
    def local():
        pass

if __name__ == "__main__":
    main()
"#,
    );
}

#[test]
fn go_rules() {
    check(
        Language::Go,
        r#"
package main

import (
	"fmt"
	str "strings"
)

// Point is a point.
type Point struct{ X int }

type Shape interface{ Area() float64 }

type (
	Celsius float64
	Names   []string
)

// Area of nothing.
func (p Point) Area() float64 { return float64(p.X) }

func main() {
	fmt.Println(str.ToUpper("x"))
	(helper)()
	(fmt.Sprintf)("%d", 1)
	f := func() { inner() }
	f()
	_ = "call_in_string()"
}

func helper() {}
"#,
    );
}

#[test]
fn java_rules() {
    check(
        Language::Java,
        r#"
package app;

import java.util.List;
import static java.lang.Math.max;

/** A greeter. */
public class Greeter implements Runnable {
    private final String name;

    public Greeter(String name) { this.name = name; }

    public void run() {
        System.out.println(format(name));
        helper();
    }

    static String format(String s) { return s.trim(); }

    class Inner { void go() { run(); } }
}

interface Shape { double area(); }

enum Color { RED; void paint() { mix(); } }
"#,
    );
}

const JS_FIXTURE: &str = r#"
import fs from "fs";
import { join } from './path';

const fsx = require("fs-extra");
require("./side-effect");
const computed = require(name);
export const LIMIT = 10;
export let counter = start(), step = () => 1;
function late() { return require("late"); }

/** Adds. */
function add(a, b) { return sum(a, b); }
function* numbers() { yield 1; }
const arrow = (x) => double(x);
let named = function inner() { return helper(); };
var old = function () {};
const notFunction = compute();
module.exports.exported = function () {};
handler = () => {};
export default thing = makeThing();
export default other = () => {};

class Greeter extends Base {
  constructor(name) { super(name); this.name = name; }
  greet() { return this.format(this.name).trim(); }
  #secret() {}
  static create() { return new Greeter("x"); }
}

const Anonymous = class Named {};

const api = {
  fetch: async function () { return get(); },
  parse: (text) => JSON.parse(text),
  value: 3,
};

obj?.method?.();
tag`template ${call()}`;
"#;

#[test]
fn javascript_rules() {
    check(Language::JavaScript, JS_FIXTURE);
}

#[test]
fn typescript_rules() {
    let ts = format!(
        "{JS_FIXTURE}\n{}",
        r#"
interface Shape { area(): number; readonly name: string }
type Alias = { x: number };
abstract class Base { abstract draw(): void; run(): void { this.draw(); } }
declare function declared(x: number): string;
namespace Space { export function inside() { outside<number>(1); } }
declare module Other { const x: number; }
declare module "quoted" { }
enum Color { Red }
const typed = <T,>(x: T): T => identity<T>(x);
"#
    );
    check(Language::TypeScript, &ts);
    check(Language::Tsx, &format!("{ts}\nconst view = <div onClick={{() => click()}}>{{render()}}</div>;\n"));
}

#[test]
fn code_with_syntax_errors() {
    let broken = [
        (Language::Rust, "fn ok() { call(); }\nfn broken( { inner(); \nimpl X { fn m(&self) { other() }\nstruct S {"),
        (Language::Python, "def ok():\n    call()\ndef broken(:\n    inner()\nclass C:\n    def m(self): other(\n"),
        (Language::Go, "package p\nfunc ok() { call() }\nfunc broken( { inner() }\ntype T struct {\n"),
        (Language::Java, "class A { void ok() { call(); } void broken( { inner(); }\ninterface I {"),
        (
            Language::JavaScript,
            "function ok() { call(); }\nfunction broken( { inner(); }\nclass C { m() { other( } }\n",
        ),
        (Language::TypeScript, "function ok(): void { call(); }\ninterface I { m(): \nclass C { m() { other( } }\n"),
        (Language::Tsx, "function View() { return <div>{render(</div>; }\nconst f = () => go();\n"),
    ];
    for (language, text) in broken {
        assert!(SyntaxDocument::new(language, text.to_owned()).tree().is_some_and(|t| t.root_node().has_error()));
        if let Err(difference) = compare(language, text) {
            panic!("{language:?}: {difference}");
        }
    }
}

/// Source files under `root` in a language, up to `max_bytes` of them.
fn sources(root: &Path, extensions: &[&str], max_bytes: usize, out: &mut Vec<PathBuf>) {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !matches!(name.as_str(), "target" | ".git") {
                    stack.push(path);
                }
            } else if kind.is_file()
                && extensions.iter().any(|e| name.ends_with(e))
                && let Ok(meta) = entry.metadata()
                && meta.len() < 256 * 1024
            {
                total += meta.len() as usize;
                out.push(path);
                if total > max_bytes {
                    return;
                }
            }
        }
    }
}

#[test]
fn the_walk_finds_what_the_queries_find_in_real_code() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let mut files = Vec::new();
    sources(workspace, &[".rs"], 3_000_000, &mut files);
    sources(&workspace.join("editors"), &[".ts", ".js"], 500_000, &mut files);
    sources(&workspace.join("editors/vscode/node_modules"), &[".ts", ".js", ".tsx"], 1_500_000, &mut files);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    if let Some(registry) = cargo_home.map(|c| c.join("registry/src")) {
        for extension in [".go", ".java", ".js", ".py"] {
            sources(&registry, &[extension], 1_000_000, &mut files);
        }
    }
    if let Some(python) = std::fs::read_dir("/usr/lib")
        .ok()
        .and_then(|d| d.flatten().map(|e| e.path()).find(|p| p.to_string_lossy().contains("python3.")))
    {
        sources(&python, &[".py"], 1_500_000, &mut files);
    }
    if let Some(extra) = std::env::var_os("PAIRED_TAGS_CORPUS") {
        sources(Path::new(&extra), &[".rs", ".py", ".ts", ".tsx", ".js", ".go", ".java"], usize::MAX, &mut files);
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let language = Language::from_path(&path.to_string_lossy());
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if language == Language::PlainText {
            continue;
        }
        checked += 1;
        if let Err(difference) = compare(language, &text) {
            failures.push(format!("{}: {difference}", path.display()));
        }
    }
    assert!(checked > 50, "found real code to compare ({checked} files)");
    assert!(failures.is_empty(), "{} of {checked} files differ; the first:\n{}", failures.len(), failures[0]);
}
