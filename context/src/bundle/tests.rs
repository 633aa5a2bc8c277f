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

/// A bundle at the cursor (`$` in the text of `path`) over a small workspace of
/// `files`, the way the daemon builds one for an open document.
fn check_workspace(files: &[(&str, &str)], path: &str, budget: usize, expected: Expect) {
    let raw = files.iter().find(|(p, _)| *p == path).map(|(_, t)| *t).expect("the file at the cursor");
    let cursor = raw.find('$').expect("a $ marks the cursor");
    let files: Vec<(&str, String)> = files.iter().map(|(p, t)| (*p, t.replacen('$', "", 1))).collect();
    let mut index = WorkspaceIndex::default();
    for (file, text) in &files {
        if MANIFESTS.contains(file) {
            index.set_manifest(file, text.clone());
        }
        index.upsert(file, FileEntry::parse(Language::from_path(file), text));
    }
    let read = |wanted: &str| files.iter().find(|(p, _)| *p == wanted).map(|(_, t)| t.clone());
    let doc = SyntaxDocument::new(Language::from_path(path), raw.replacen('$', "", 1));
    let bundle = build(&BundleInput {
        path,
        document: &doc,
        selection: cursor..cursor,
        question: None,
        diagnostics: &[],
        index: Some(&index),
        entry: None,
        read_file: &read,
        budget_tokens: budget,
        redact: true,
    });
    assert!(bundle.tokens <= budget, "{} > {budget}", bundle.tokens);
    expected.assert_eq(&render_text(&bundle));
}

const GEOMETRY_RS: &str = "/// A point.\npub struct Point {\n    pub x: f64,\n    pub y: f64,\n}\n\nimpl Point {\n    pub fn norm(&self) -> f64 {\n        (self.x * self.x + self.y * self.y).sqrt()\n    }\n}\n";
const MAIN_RS: &str = "use crate::geometry::Point;\n\nfn farthest(points: &[Point]) -> f64 {\n    points.iter().map(|p| p.$norm()).fold(0.0, f64::max)\n}\n\nfn main() {\n    let points = vec![Point { x: 3.0, y: 4.0 }];\n    println!(\"{}\", farthest(&points));\n}\n";
const CARGO_TOML: &str =
    "[package]\nname = \"geo\"\n\n[dependencies]\ntokio = \"1\"\n\n[dev-dependencies]\nproptest = \"1\"\n";

#[test]
fn rust_bundle() {
    let files = [("src/geometry.rs", GEOMETRY_RS), ("src/main.rs", MAIN_RS), ("Cargo.toml", CARGO_TOML)];
    check_workspace(
        &files,
        "src/main.rs",
        2000,
        expect![[r#"
        ── around the cursor lines 1-10 (~58 tokens)
        use crate::geometry::Point;

        fn farthest(points: &[Point]) -> f64 {
            points.iter().map(|p| p.norm()).fold(0.0, f64::max)
        }

        fn main() {
            let points = vec![Point { x: 3.0, y: 4.0 }];
            println!("{}", farthest(&points));
        }
        ── struct Point (src/geometry.rs) lines 2-5 (~14 tokens)
        pub struct Point {
            pub x: f64,
            pub y: f64,
        }
        ── method norm (src/geometry.rs) lines 8-10 (~23 tokens)
            pub fn norm(&self) -> f64 {
                (self.x * self.x + self.y * self.y).sqrt()
            }
        ── from src/geometry.rs: use crate::geometry::Point; (~4 tokens)
        pub struct Point
        ── project (~24 tokens)
        languages: rust (2 files)
        build files: Cargo.toml
        test frameworks: cargo test
        frameworks: tokio
        ── 123 of 2000 tokens used
    "#]],
    );
    // Trimmed: the least relevant parts go first, and the bundle says which.
    check_workspace(
        &files,
        "src/main.rs",
        80,
        expect![[r#"
        ── around the cursor lines 1-10 (~58 tokens)
        use crate::geometry::Point;

        fn farthest(points: &[Point]) -> f64 {
            points.iter().map(|p| p.norm()).fold(0.0, f64::max)
        }

        fn main() {
            let points = vec![Point { x: 3.0, y: 4.0 }];
            println!("{}", farthest(&points));
        }
        ── struct Point (src/geometry.rs) lines 2-5 (~14 tokens)
        pub struct Point {
            pub x: f64,
            pub y: f64,
        }
        ── 72 of 80 tokens used; left out: method norm (src/geometry.rs) (~23 tokens), from src/geometry.rs: use crate::geometry::Point; (~4 tokens), project (~24 tokens)
    "#]],
    );
}

#[test]
fn typescript_bundle() {
    let files = [
        (
            "src/cart.ts",
            "export interface Item {\n  price: number;\n}\n\nexport function total(items: Item[]): number {\n  return items.reduce((sum, item) => sum + item.price, 0);\n}\n",
        ),
        (
            "src/checkout.ts",
            "import { total, Item } from './cart';\n\nexport function checkout(items: Item[]): string {\n  const amount = to$tal(items);\n  return format(amount);\n}\n\nfunction format(n: number): string {\n  return n.toFixed(2);\n}\n",
        ),
        (
            "src/app.ts",
            "import { checkout } from './checkout';\n\nexport function run() {\n  return checkout([]);\n}\n",
        ),
        ("package.json", "{\"dependencies\": {\"react\": \"18\"}, \"devDependencies\": {\"jest\": \"29\"}}\n"),
    ];
    check_workspace(
        &files,
        "src/checkout.ts",
        2000,
        expect![[r#"
        ── around the cursor lines 1-10 (~53 tokens)
        import { total, Item } from './cart';

        export function checkout(items: Item[]): string {
          const amount = total(items);
          return format(amount);
        }

        function format(n: number): string {
          return n.toFixed(2);
        }
        ── interface Item (src/cart.ts) lines 1-3 (~11 tokens)
        export interface Item {
          price: number;
        }
        ── function total (src/cart.ts) lines 5-7 (~27 tokens)
        export function total(items: Item[]): number {
          return items.reduce((sum, item) => sum + item.price, 0);
        }
        ── call of checkout in src/app.ts lines 2-5 (~13 tokens)

        export function run() {
          return checkout([]);
        }
        ── from src/cart.ts: import { total, Item } from './cart'; (~17 tokens)
        export interface Item
        export function total(items: Item[]): number
        ── project (~25 tokens)
        languages: typescript (3 files)
        build files: package.json
        test frameworks: jest
        frameworks: react
        ── 146 of 2000 tokens used
    "#]],
    );
}

#[test]
fn javascript_bundle() {
    let files = [
        (
            "lib/stats.js",
            "/** The mean. */\nexport function mean(xs) {\n  return sum(xs) / xs.length;\n}\n\nexport const sum = (xs) => xs.reduce((a, b) => a + b, 0);\n",
        ),
        (
            "lib/report.js",
            "import { mean } from './stats.js';\nimport Chart from 'chart.js';\n\nexport class Report {\n  summary(values) {\n    return 'mean ' + me$an(values);\n  }\n}\n",
        ),
        ("index.js", "import { Report } from './lib/report.js';\n\nnew Report().summary([1, 2, 3]);\n"),
        // A package named like a file: `import … from 'chart.js'` is not this.
        ("lib/chart.js", "export function draw() {}\n"),
        ("package.json", "{\"dependencies\": {\"express\": \"4\"}, \"devDependencies\": {\"mocha\": \"10\"}}\n"),
    ];
    check_workspace(
        &files,
        "lib/report.js",
        2000,
        expect![[r#"
        ── around the cursor lines 1-8 (~38 tokens)
        import { mean } from './stats.js';
        import Chart from 'chart.js';

        export class Report {
          summary(values) {
            return 'mean ' + mean(values);
          }
        }
        ── function mean (lib/stats.js) lines 2-4 (~15 tokens)
        export function mean(xs) {
          return sum(xs) / xs.length;
        }
        ── call of summary in index.js lines 1-3 (~19 tokens)
        import { Report } from './lib/report.js';

        new Report().summary([1, 2, 3]);
        ── from lib/stats.js: import { mean } from './stats.js'; (~6 tokens)
        export function mean(xs)
        ── project (~25 tokens)
        languages: javascript (4 files)
        build files: package.json
        test frameworks: mocha
        frameworks: express
        ── 103 of 2000 tokens used
    "#]],
    );
}

#[test]
fn go_bundle() {
    let files = [
        (
            "geo/point.go",
            "package geo\n\n// Point is a point.\ntype Point struct {\n\tX, Y float64\n}\n\n// Norm is the distance from the origin.\nfunc (p Point) Norm() float64 {\n\treturn math.Sqrt(p.X*p.X + p.Y*p.Y)\n}\n",
        ),
        (
            "main.go",
            "package main\n\nimport \"example.com/app/geo\"\n\nfunc farthest(points []geo.Point) float64 {\n\tbest := 0.0\n\tfor _, p := range points {\n\t\tbest = max(best, p.No$rm())\n\t}\n\treturn best\n}\n\nfunc main() {\n\tprintln(farthest(nil))\n}\n",
        ),
        ("go.mod", "module example.com/app\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.9.0\n"),
    ];
    check_workspace(
        &files,
        "main.go",
        2000,
        expect![[r#"
            ── around the cursor lines 1-15 (~55 tokens)
            package main

            import "example.com/app/geo"

            func farthest(points []geo.Point) float64 {
            	best := 0.0
            	for _, p := range points {
            		best = max(best, p.Norm())
            	}
            	return best
            }

            func main() {
            	println(farthest(nil))
            }
            ── method Norm (geo/point.go) lines 9-11 (~18 tokens)
            func (p Point) Norm() float64 {
            	return math.Sqrt(p.X*p.X + p.Y*p.Y)
            }
            ── type Point (geo/point.go) lines 4-6 (~9 tokens)
            type Point struct {
            	X, Y float64
            }
            ── from geo/point.go: "example.com/app/geo" (~12 tokens)
            type Point struct
            func (p Point) Norm() float64
            ── project (~21 tokens)
            languages: go (2 files)
            build files: go.mod
            test frameworks: go test
            frameworks: gin
            ── 115 of 2000 tokens used
        "#]],
    );
}

#[test]
fn java_bundle() {
    let files = [
        (
            "src/main/java/app/Greeter.java",
            "package app;\n\n/** Greets. */\npublic class Greeter {\n  public String greet(String name) {\n    return \"Hello, \" + name;\n  }\n}\n",
        ),
        (
            "src/main/java/app/App.java",
            "package app;\n\nimport app.Greeter;\n\npublic class App {\n  public static void main(String[] args) {\n    System.out.println(new Greeter().gr$eet(args[0]));\n  }\n}\n",
        ),
        (
            "pom.xml",
            "<project><dependencies><dependency><artifactId>junit-jupiter</artifactId></dependency><dependency><artifactId>spring-boot-starter</artifactId></dependency></dependencies></project>\n",
        ),
    ];
    check_workspace(
        &files,
        "src/main/java/app/App.java",
        2000,
        expect![[r#"
        ── around the cursor lines 1-9 (~40 tokens)
        package app;

        import app.Greeter;

        public class App {
          public static void main(String[] args) {
            System.out.println(new Greeter().greet(args[0]));
          }
        }
        ── class Greeter (src/main/java/app/Greeter.java) lines 4-8 (~24 tokens)
        public class Greeter {
          public String greet(String name) {
            return "Hello, " + name;
          }
        }
        ── from src/main/java/app/Greeter.java: import app.Greeter; (~5 tokens)
        public class Greeter
        ── project (~24 tokens)
        languages: java (2 files)
        build files: pom.xml
        test frameworks: junit
        frameworks: spring boot
        ── 93 of 2000 tokens used
    "#]],
    );
}
