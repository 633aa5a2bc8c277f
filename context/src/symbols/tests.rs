use expect_test::{Expect, expect};

use super::*;

/// Renders an outline: one line per symbol, indented by nesting, then imports.
fn render(outline: &Outline) -> String {
    fn walk(symbols: &[Symbol], depth: usize, out: &mut String) {
        for s in symbols {
            out.push_str(&format!(
                "{}{} {} {}:{}-{}:{} `{}`",
                "  ".repeat(depth),
                s.kind.name(),
                s.name,
                s.start.line + 1,
                s.start.column,
                s.end.line + 1,
                s.end.column,
                s.signature
            ));
            if let Some(doc) = &s.doc {
                out.push_str(&format!(" doc={doc:?}"));
            }
            out.push('\n');
            walk(&s.children, depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(&outline.symbols, 0, &mut out);
    for import in &outline.imports {
        out.push_str(&format!("import {} {:?}\n", import.line + 1, import.module));
    }
    out
}

fn check(language: Language, source: &str, expected: Expect) {
    let doc = SyntaxDocument::new(language, source.to_owned());
    expected.assert_eq(&render(&outline(&doc)));
}

fn check_enclosing(language: Language, source_with_cursor: &str, expected: &[&str]) {
    let byte = source_with_cursor.find('$').expect("cursor");
    let source = source_with_cursor.replacen('$', "", 1);
    let doc = SyntaxDocument::new(language, source);
    let outline = outline(&doc);
    let chain: Vec<&str> = outline.enclosing(byte).iter().map(|s| s.name.as_str()).collect();
    assert_eq!(chain, expected);
    // What bundles use: the query over the nodes containing the cursor only.
    let chain: Vec<String> = enclosing_at(&doc, byte).into_iter().map(|s| s.name).collect();
    assert_eq!(chain, expected, "enclosing_at");
}

#[test]
fn enclosing_symbols_in_every_language() {
    check_enclosing(
        Language::Rust,
        "mod m {\n    pub struct S;\n    impl S {\n        fn f() { $g(); }\n    }\n}\n",
        &["m", "impl S", "f"],
    );
    check_enclosing(Language::Rust, "fn outer() {\n    fn inner() { $1; }\n}\n", &["outer", "inner"]);
    check_enclosing(Language::Python, "def top():\n    pass\n$\nclass B:\n    pass\n", &[]);
    let ts = "export class Cart {\n  add(item: Item): void {\n    this.items.push($item);\n  }\n}\n";
    check_enclosing(Language::TypeScript, ts, &["Cart", "add"]);
    check_enclosing(Language::Tsx, "function View() {\n  return <div>{$x}</div>;\n}\n", &["View"]);
    check_enclosing(Language::TypeScript, "interface Shape {\n  area(): num$ber;\n}\n", &["Shape", "area"]);
    check_enclosing(Language::JavaScript, "const api = {\n  fetch: function () { return $get(); },\n};\n", &["fetch"]);
    check_enclosing(Language::JavaScript, "class A {\n  m() {\n    const f = () => $1;\n  }\n}\n", &["A", "m", "f"]);
    check_enclosing(
        Language::Go,
        "package p\n\ntype T struct{}\n\nfunc (t T) Area() int {\n\treturn $1\n}\n",
        &["Area"],
    );
    check_enclosing(
        Language::Java,
        "class Outer {\n  class Inner {\n    void go() { $run(); }\n  }\n}\n",
        &["Outer", "Inner", "go"],
    );
}

#[test]
fn rust() {
    check(
        Language::Rust,
        r#"use std::collections::HashMap;
use crate::config::{Config, load};

/// A point in the plane.
#[derive(Debug)]
pub struct Point { x: i32, y: i32 }

// not a doc comment
pub enum Shape { Circle, Square }

pub trait Area {
    fn area(&self) -> f64;
}

impl Area for Point {
    /// Always zero.
    fn area(&self) -> f64 {
        0.0
    }
}

mod geometry {
    pub fn distance(a: &Point,
                    b: &Point) -> f64 { 1.0 }
}

macro_rules! square { ($x:expr) => { $x * $x }; }
"#,
        expect![[r#"
            struct Point 6:0-6:35 `pub struct Point` doc="A point in the plane."
            enum Shape 9:0-9:33 `pub enum Shape`
            interface Area 11:0-13:1 `pub trait Area`
              method area 12:4-12:26 `fn area(&self) -> f64`
            impl impl Area for Point 15:0-20:1 `impl Area for Point`
              method area 17:4-19:5 `fn area(&self) -> f64` doc="Always zero."
            module geometry 22:0-25:1 `mod geometry`
              function distance 23:4-24:45 `pub fn distance(a: &Point, b: &Point) -> f64`
            macro square 27:0-27:49 `macro_rules! square { ($x:expr) => { $x * $x }; }`
            import 1 ["std", "collections", "HashMap"]
            import 2 ["config"]
        "#]],
    );
    check_enclosing(
        Language::Rust,
        "impl A for B {\n    fn f(&self) {\n        let $x = 1;\n    }\n}\n",
        &["impl A for B", "f"],
    );
}

#[test]
fn python() {
    check(
        Language::Python,
        r#"import os
from app.models import User

MAX = 3

class Repo:
    """Stores users."""

    def add(self, user):
        """Add one."""
        pass

    @staticmethod
    def empty():
        return Repo()

# Module helper.
def helper(x, y=2):
    return x
"#,
        expect![[r#"
            constant MAX 4:0-4:7 `MAX = 3`
            class Repo 6:0-15:21 `class Repo` doc="Stores users."
              method add 9:4-11:12 `def add(self, user)` doc="Add one."
              method empty 14:4-15:21 `def empty()`
            function helper 18:0-19:12 `def helper(x, y=2)` doc="Module helper."
            import 1 ["os"]
            import 2 ["app", "models"]
        "#]],
    );
    check_enclosing(Language::Python, "class A:\n    def f(self):\n        return $1\n", &["A", "f"]);
}

#[test]
fn typescript_and_tsx() {
    check(
        Language::TypeScript,
        r#"import { api } from './api';

/** A user. */
export interface User { id: number }

export class Service {
  /** Loads one. */
  async load(id: number): Promise<User> {
    return api(id);
  }
}

export function make(): Service { return new Service(); }
const arrow = (x: number) => x * 2;
"#,
        expect![[r#"
            interface User 4:7-4:36 `interface User` doc="A user."
            class Service 6:7-11:1 `class Service`
              method load 8:2-10:3 `async load(id: number): Promise<User>` doc="Loads one."
            function make 13:7-13:57 `function make(): Service`
            function arrow 14:6-14:34 `arrow = (x: number) =>`
            import 1 [".", "api"]
        "#]],
    );
    check(
        Language::Tsx,
        "export function Button({ label }: Props) {\n  return <button>{label}</button>;\n}\n",
        expect![[r#"
            function Button 1:7-3:1 `function Button({ label }: Props)`
        "#]],
    );
}

#[test]
fn javascript() {
    check(
        Language::JavaScript,
        r#"import fs from 'fs';
// Reads the config.
function readConfig(path) { return fs.readFileSync(path); }
class Cache { get(key) { return null; } }
"#,
        expect![[r#"
            function readConfig 3:0-3:59 `function readConfig(path)` doc="Reads the config."
            class Cache 4:0-4:41 `class Cache`
              method get 4:14-4:39 `get(key)`
            import 1 ["fs"]
        "#]],
    );
}

#[test]
fn go() {
    check(
        Language::Go,
        r#"package main

import (
	"fmt"
	"example.com/app/store"
)

// Server serves.
type Server struct{ port int }

// Start starts it.
func (s *Server) Start() error { return nil }

func main() { fmt.Println(store.X) }
"#,
        expect![[r#"
            type Server 9:5-9:30 `Server struct{ port int }` doc="Server serves."
            method Start 12:0-12:45 `func (s *Server) Start() error` doc="Start starts it."
            function main 14:0-14:36 `func main()`
            import 4 ["fmt"]
            import 5 ["example.com", "app", "store"]
        "#]],
    );
}

#[test]
fn java() {
    check(
        Language::Java,
        r#"package app;

import java.util.List;

/** Keeps orders. */
public class Orders {
    /** Counts them. */
    public int count(List<String> xs) { return xs.size(); }
    interface Listener { void on(); }
}
"#,
        expect![[r#"
            class Orders 6:0-10:1 `public class Orders` doc="Keeps orders."
              method count 8:4-8:59 `public int count(List<String> xs)` doc="Counts them."
              interface Listener 9:4-9:37 `interface Listener`
                method on 9:25-9:35 `void on()`
            import 3 ["java", "util", "List"]
        "#]],
    );
}

#[test]
fn doc_comments_of_every_shape() {
    check(
        Language::Rust,
        "/**\n * Block doc.\n */\n#[inline]\nfn a() {}\n\n/* plain block */\nfn b() {}\n\n/// Far away.\n\nfn c() {}\n",
        expect![[r#"
            function a 5:0-5:9 `fn a()` doc="Block doc."
            function b 8:0-8:9 `fn b()`
            function c 12:0-12:9 `fn c()`
        "#]],
    );
    check(
        Language::JavaScript,
        "/**\n * Adds.\n * @param a\n */\nexport function add(a) {}\n// one\n// two\nfunction two() {}\n",
        expect![[r#"
            function add 5:7-5:25 `function add(a)` doc="Adds.\n@param a"
            function two 8:0-8:17 `function two()` doc="one\ntwo"
        "#]],
    );
    // express's style: a blank line between a JSDoc block and its function;
    // a plain comment or a file's `/*!` header apart from it is no doc.
    check(
        Language::JavaScript,
        "/*!\n * content-type\n * MIT Licensed\n */\n\nfunction first () {}\n\n/**\n * Format object to media type.\n *\n * @param {object} obj\n * @return {string}\n * @public\n */\n\nfunction format (obj) {}\n\n// helpers\n\nfunction other () {}\n",
        expect![[r#"
            function first 6:0-6:20 `function first ()`
            function format 16:0-16:24 `function format (obj)` doc="Format object to media type.\n@param {object} obj\n@return {string}\n@public"
            function other 20:0-20:20 `function other ()`
        "#]],
    );
}

/// A module's exported values are symbols (another file imports them by
/// name); its private and nested ones are not.
#[test]
fn typescript_exported_values_are_constants() {
    check(
        Language::TypeScript,
        "import { z } from \"zod\";\nexport const User = z.object({ id: z.number() });\nexport type User = z.infer<typeof User>;\nconst local = 1;\nexport function f() {\n  const inner = 2;\n  return inner;\n}\nexport const g = () => local;\n",
        expect![[r#"
            constant User 2:13-2:48 `User = z.object({ id: z.number() })`
            type User 3:7-3:40 `type User = z.infer<typeof User>`
            function f 5:7-8:1 `function f()`
            function g 9:13-9:28 `g = () =>`
            import 1 ["zod"]
        "#]],
    );
}

/// CommonJS: a `require` of one string near the top imports it, as an
/// `import` would; one inside a function, or of something computed, does not.
#[test]
fn commonjs_requires_are_imports() {
    check(
        Language::JavaScript,
        "'use strict'\nvar contentType = require('..')\nconst { parse } = require('./lib/parse')\nrequire('./side-effect')\nconst dynamic = require(name)\nfunction late () {\n  return require('late')\n}\n",
        expect![[r#"
            function late 6:0-8:1 `function late ()`
            import 2 [".."]
            import 3 [".", "lib", "parse"]
            import 4 [".", "side-effect"]
        "#]],
    );
}
