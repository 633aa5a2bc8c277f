//! Outlines, imports and calls of the languages indexed through their tags
//! queries (C, C++, C#, Ruby, PHP, Kotlin, Swift, Bash): one small real-shaped
//! file each. The index's walk gives the same as the outline for them by
//! construction (`tags::walk` uses `query_tags`), so these pin the queries.

use expect_test::{Expect, expect};

use super::*;

fn check(language: Language, source: &str, expected: Expect) {
    let doc = SyntaxDocument::new(language, source.to_owned());
    assert!(!doc.tree().is_some_and(|t| t.root_node().has_error()), "{language:?}: the sample parses cleanly");
    let (outline, calls) = analyze(&doc);
    let mut out = String::new();
    for (symbol, parent) in outline.flatten() {
        out.push_str(&format!(
            "{} {} {}-{}{}\n",
            symbol.kind.name(),
            symbol.name,
            symbol.start.line + 1,
            symbol.end.line + 1,
            parent.map(|p| format!(" in {p}")).unwrap_or_default()
        ));
    }
    for import in &outline.imports {
        out.push_str(&format!("import {}: {}\n", import.line + 1, import.text));
    }
    let mut called: Vec<String> = calls.into_iter().map(|(name, _)| name).collect();
    called.sort();
    called.dedup();
    out.push_str(&format!("calls {}\n", called.join(" ")));
    expected.assert_eq(&out);
}

#[test]
fn c() {
    check(
        Language::C,
        "#include <stdio.h>\n#include \"list.h\"\n\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n\nstruct node {\n    int value;\n    struct node *next;\n};\n\ntypedef struct node node_t;\n\nstatic int sum(const node_t *list) {\n    int total = 0;\n    for (; list; list = list->next) total += list->value;\n    return total;\n}\n\nchar *name_of(int id) {\n    return lookup(id);\n}\n\nint main(void) {\n    printf(\"%d\\n\", sum(NULL));\n    return 0;\n}\n",
        expect![[r#"
            macro MAX 4-5
            struct node 6-9
            type node_t 11-11
            function sum 13-17
            function name_of 19-21
            function main 23-26
            import 1: #include <stdio.h>
            import 2: #include "list.h"
            calls lookup printf sum
        "#]],
    );
}

#[test]
fn cpp() {
    check(
        Language::Cpp,
        "#include <vector>\nusing std::vector;\n\nnamespace geo {\n\nclass Shape {\npublic:\n    virtual double area() const = 0;\n    double twice() const { return area() * 2; }\n};\n\nstruct Square : Shape {\n    double side;\n    double area() const override;\n};\n\ndouble Square::area() const { return side * side; }\n\n}  // namespace geo\n\nint main() {\n    geo::Square s;\n    s.side = 2;\n    return static_cast<int>(s.twice());\n}\n",
        expect![[r#"
            module geo 4-19
            class Shape 6-10 in geo
            method twice 9-9 in Shape
            struct Square 12-15 in geo
            function area 17-17 in geo
            function main 21-25
            import 1: #include <vector>
            import 2: using std::vector;
            calls area twice
        "#]],
    );
}

#[test]
fn csharp() {
    check(
        Language::CSharp,
        "using System;\nusing System.Collections.Generic;\n\nnamespace Shop.Orders\n{\n    public interface IPricing { decimal Price(Order order); }\n\n    public record Order(int Id, List<string> Items);\n\n    public class Checkout : IPricing\n    {\n        public Checkout() { }\n\n        public decimal Price(Order order)\n        {\n            return Sum(order.Items.Count);\n        }\n\n        private static decimal Sum(int count) => count * 2m;\n    }\n}\n",
        expect![[r#"
            module Shop.Orders 4-21
            interface IPricing 6-6 in Shop.Orders
            method Price 6-6 in IPricing
            class Order 8-8 in Shop.Orders
            class Checkout 10-20 in Shop.Orders
            method Checkout 12-12 in Checkout
            method Price 14-17 in Checkout
            method Sum 19-19 in Checkout
            import 1: using System;
            import 2: using System.Collections.Generic;
            calls Sum
        "#]],
    );
}

#[test]
fn ruby() {
    check(
        Language::Ruby,
        "require 'json'\nrequire_relative 'store'\n\nmodule Billing\n  class Invoice\n    def initialize(lines)\n      @lines = lines\n    end\n\n    def total\n      @lines.sum(&:amount)\n    end\n\n    def self.load(path)\n      new(JSON.parse(File.read(path)))\n    end\n  end\nend\n",
        expect![[r#"
            module Billing 4-18
            class Invoice 5-17 in Billing
            method initialize 6-8 in Invoice
            method total 10-12 in Invoice
            method load 14-16 in Invoice
            import 1: require 'json'
            import 2: require_relative 'store'
            calls new parse read sum
        "#]],
    );
}

#[test]
fn php() {
    check(
        Language::Php,
        "<?php\nnamespace App\\Http;\n\nuse App\\Models\\User;\nrequire_once 'helpers.php';\n\ninterface Handler { public function handle(array $request): array; }\n\nfinal class UserController implements Handler\n{\n    public function handle(array $request): array\n    {\n        $user = User::find($request['id']);\n        return respond($user->toArray());\n    }\n}\n\nfunction respond(array $data): array { return ['data' => $data]; }\n",
        expect![[r#"
            module App\Http 2-2
            interface Handler 7-7
            method handle 7-7 in Handler
            class UserController 9-16
            method handle 11-15 in UserController
            function respond 18-18
            import 4: use App\Models\User;
            import 5: require_once 'helpers.php'
            calls find respond toArray
        "#]],
    );
}

#[test]
fn kotlin() {
    check(
        Language::Kotlin,
        "package shop\n\nimport kotlin.math.max\n\ntypealias Cents = Long\n\ndata class Item(val name: String, val price: Cents)\n\nclass Cart {\n    private val items = mutableListOf<Item>()\n\n    fun add(item: Item) { items.add(item) }\n\n    fun total(): Cents = items.sumOf { it.price }\n}\n\nobject Prices {\n    fun best(a: Cents, b: Cents): Cents = max(a, b)\n}\n\nfun main() {\n    val cart = Cart()\n    cart.add(Item(\"pen\", 120))\n    println(cart.total())\n}\n",
        expect![[r#"
            type Cents 5-5
            class Item 7-7
            class Cart 9-15
            method add 12-12 in Cart
            method total 14-14 in Cart
            class Prices 17-19
            method best 18-18 in Prices
            function main 21-25
            import 3: import kotlin.math.max
            calls Cart Item add max mutableListOf println sumOf total
        "#]],
    );
}

#[test]
fn swift() {
    check(
        Language::Swift,
        "import Foundation\n\nprotocol Shape {\n    func area() -> Double\n}\n\nstruct Circle: Shape {\n    let radius: Double\n    init(radius: Double) { self.radius = radius }\n    func area() -> Double { return Double.pi * radius * radius }\n}\n\nclass Canvas {\n    var shapes: [Shape] = []\n    func total() -> Double { shapes.map { $0.area() }.reduce(0, +) }\n}\n\nfunc describe(_ shape: Shape) -> String {\n    return String(format: \"%.2f\", shape.area())\n}\n",
        expect![[r#"
            interface Shape 3-5
            method area 4-4 in Shape
            struct Circle 7-11
            method init 9-9 in Circle
            method area 10-10 in Circle
            class Canvas 13-16
            method total 15-15 in Canvas
            function describe 18-20
            import 1: import Foundation
            calls String area map reduce
        "#]],
    );
}

#[test]
fn bash() {
    check(
        Language::Bash,
        "#!/usr/bin/env bash\nset -euo pipefail\nsource ./lib.sh\n. \"$HOME/.profile\"\n\nlog() {\n  echo \"[$(date)] $*\" >&2\n}\n\nfunction build {\n  log building\n  cargo build --release\n}\n\nbuild\n",
        expect![[r#"
            function log 6-8
            function build 10-13
            import 3: source ./lib.sh
            import 4: . "$HOME/.profile"
            calls . build cargo date echo log set source
        "#]],
    );
}
