//! The workspace indexer's pass over a parsed file: definitions, calls and
//! imports in one walk of the tree.
//!
//! The grammars' tags queries ([`crate::symbols`], used for outlines) say what a
//! definition and a call are; this module holds the same rules as tables keyed
//! by node kind, so that indexing a file costs one cursor walk instead of a
//! query match over every node (the query engine was as expensive as the parse
//! itself), and it skips subtrees the queries can never match in (Rust macro
//! token trees, comments, strings). A differential test (`tags/tests.rs`)
//! checks that both give the same definitions, calls and imports on fixtures,
//! broken code and real code.

use std::num::NonZeroU16;

use tree_sitter::{Node, TreeCursor};

use crate::{
    Language, SyntaxDocument,
    symbols::{Import, SymbolKind},
};

/// A definition as the walk finds it, before nesting.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub bytes: std::ops::Range<usize>,
    pub name: DefinitionName,
    pub kind: SymbolKind,
    pub line: u32,
    pub end_line: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum DefinitionName {
    /// Bytes of the file's text.
    Text(std::ops::Range<usize>),
    /// Made up from the tree (an impl block's head).
    Owned(String),
}

/// What one walk of a file found.
#[derive(Debug, Default)]
pub(crate) struct Tags {
    /// In document order of their start, outermost first; kinds as the tags
    /// query names them (nesting adjusts functions and methods).
    pub definitions: Vec<Definition>,
    /// Bytes of each called name, and its zero-based line.
    pub calls: Vec<(std::ops::Range<usize>, u32)>,
    pub imports: Vec<Import>,
}

/// What a node kind means to the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    None,
    /// Never holds a definition, call or import: not entered.
    Skip,
    /// A definition when its `name` field is one of the name kinds.
    Definition(Tag),
    /// Language-specific checks in [`Walker::special`].
    Special(Check),
    Call(CallShape),
    Import,
}

/// The tags queries' `@definition.*` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Class,
    Function,
    Method,
    Interface,
    Module,
    Macro,
    Constant,
    Type,
    Impl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Rust `function_item`: a method in a `declaration_list` (impl, trait or
    /// mod body), a function elsewhere, as the tags query tags them.
    RustFunction,
    /// Rust `impl_item`: named by its head.
    RustImpl,
    /// Python `assignment` directly in a module-level expression statement.
    PythonConstant,
    /// JS `variable_declarator` in a `lexical_declaration`/`variable_declaration`
    /// whose value is a function.
    JsDeclarator,
    /// JS `assignment_expression` whose right side is a function.
    JsAssignment,
    /// JS `pair` whose value is a function.
    JsPair,
    /// JS `method_definition` (not the constructor).
    JsMethod,
    /// JS `export_statement` of an assignment of a plain value.
    JsExportConstant,
}

/// How a call names its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallShape {
    /// Rust `call_expression`: `f()` or `x.f()`.
    Rust,
    /// Rust `macro_invocation`: `f!()`.
    RustMacro,
    /// Python `call`: `f()` or `x.f()`.
    Python,
    /// Go `call_expression`: `f()`, `(f)()`, `x.f()`, `(x.f)()`.
    Go,
    /// Java `method_invocation` with arguments.
    Java,
    /// JS/TS `call_expression`: `f()` (not `require`) or `x.f()`.
    Js,
}

/// A language's rules, by node kind id.
pub(crate) struct Rules {
    roles: Vec<Role>,
    /// Kind ids allowed as a definition's name, per [`Tag`] use: a kind id set.
    name_kinds: Vec<bool>,
    /// Kinds whose name may be any named node (JS classes: `name: (_)`).
    any_name: Vec<bool>,
    /// [`kind`] bits per kind id.
    flags: Vec<u32>,
    fields: Fields,
}

impl Rules {
    fn is(&self, node: Node<'_>, kind: u32) -> bool {
        self.flags.get(node.kind_id() as usize).is_some_and(|f| f & kind != 0)
    }
}

/// Node kinds the special rules look at, as bits of [`Rules::flags`].
mod kind {
    pub const IDENTIFIER: u32 = 1 << 0;
    pub const FIELD_EXPRESSION: u32 = 1 << 1;
    pub const FIELD_IDENTIFIER: u32 = 1 << 2;
    pub const ATTRIBUTE: u32 = 1 << 3;
    pub const MODULE: u32 = 1 << 4;
    pub const EXPRESSION_STATEMENT: u32 = 1 << 5;
    pub const PARENTHESIZED_EXPRESSION: u32 = 1 << 6;
    pub const SELECTOR_EXPRESSION: u32 = 1 << 7;
    pub const ARGUMENT_LIST: u32 = 1 << 8;
    pub const PROPERTY_IDENTIFIER: u32 = 1 << 9;
    pub const MEMBER_EXPRESSION: u32 = 1 << 10;
    /// `arrow_function` or `function_expression`.
    pub const FUNCTION_VALUE: u32 = 1 << 11;
    /// `lexical_declaration` or `variable_declaration`.
    pub const DECLARATION: u32 = 1 << 12;
    pub const ASSIGNMENT_EXPRESSION: u32 = 1 << 13;
    /// What `export x = …` may assign and still be a constant: number,
    /// string, identifier, undefined, null, new, binary or call expression.
    pub const PLAIN_VALUE: u32 = 1 << 14;
    pub const DECLARATION_LIST: u32 = 1 << 15;
    pub const EXPORT_STATEMENT: u32 = 1 << 16;

    pub const NAMES: [(&str, u32); 25] = [
        ("identifier", IDENTIFIER | PLAIN_VALUE),
        ("field_expression", FIELD_EXPRESSION),
        ("field_identifier", FIELD_IDENTIFIER),
        ("attribute", ATTRIBUTE),
        ("module", MODULE),
        ("expression_statement", EXPRESSION_STATEMENT),
        ("parenthesized_expression", PARENTHESIZED_EXPRESSION),
        ("selector_expression", SELECTOR_EXPRESSION),
        ("argument_list", ARGUMENT_LIST),
        ("property_identifier", PROPERTY_IDENTIFIER),
        ("member_expression", MEMBER_EXPRESSION),
        ("arrow_function", FUNCTION_VALUE),
        ("function_expression", FUNCTION_VALUE),
        ("lexical_declaration", DECLARATION),
        ("variable_declaration", DECLARATION),
        ("assignment_expression", ASSIGNMENT_EXPRESSION),
        ("number", PLAIN_VALUE),
        ("string", PLAIN_VALUE),
        ("undefined", PLAIN_VALUE),
        ("null", PLAIN_VALUE),
        ("new_expression", PLAIN_VALUE),
        ("binary_expression", PLAIN_VALUE),
        ("call_expression", PLAIN_VALUE),
        ("declaration_list", DECLARATION_LIST),
        ("export_statement", EXPORT_STATEMENT),
    ];
}

struct Fields {
    name: Option<NonZeroU16>,
    function: Option<NonZeroU16>,
    field: Option<NonZeroU16>,
    attribute: Option<NonZeroU16>,
    macro_: Option<NonZeroU16>,
    arguments: Option<NonZeroU16>,
    property: Option<NonZeroU16>,
    left: Option<NonZeroU16>,
    right: Option<NonZeroU16>,
    key: Option<NonZeroU16>,
    value: Option<NonZeroU16>,
    type_: Option<NonZeroU16>,
    /// `export … from "./x"`'s module.
    source: Option<NonZeroU16>,
}

fn child<'t>(node: Node<'t>, field: Option<NonZeroU16>) -> Option<Node<'t>> {
    node.child_by_field_id(field?.get())
}

impl Rules {
    pub(crate) fn new(language: Language, grammar: &tree_sitter::Language) -> Rules {
        let count = grammar.node_kind_count();
        let mut roles = vec![Role::None; count];
        let mut name_kinds = vec![false; count];
        let mut any_name = vec![false; count];
        // Every id with a given name: aliases give one name several ids.
        let named_ids = |name: &str| -> Vec<u16> {
            (0..count as u16)
                .filter(|id| grammar.node_kind_is_named(*id) && grammar.node_kind_for_id(*id) == Some(name))
                .collect()
        };
        let set = |kinds: &[&'static str], role: Role, roles: &mut Vec<Role>| {
            for kind in kinds {
                for id in named_ids(kind) {
                    roles[id as usize] = role;
                }
            }
        };
        use {CallShape as C, Check as S, Role::*, Tag as T};
        let names: &[&str] = match language {
            Language::Rust => {
                set(&["struct_item", "enum_item", "union_item", "type_item"], Definition(T::Class), &mut roles);
                set(&["function_item"], Special(S::RustFunction), &mut roles);
                set(&["function_signature_item"], Definition(T::Method), &mut roles);
                set(&["trait_item"], Definition(T::Interface), &mut roles);
                set(&["mod_item"], Definition(T::Module), &mut roles);
                set(&["macro_definition"], Definition(T::Macro), &mut roles);
                set(&["const_item"], Definition(T::Constant), &mut roles);
                set(&["impl_item"], Special(S::RustImpl), &mut roles);
                set(&["call_expression"], Call(C::Rust), &mut roles);
                set(&["macro_invocation"], Call(C::RustMacro), &mut roles);
                set(&["use_declaration", "extern_crate_declaration"], Import, &mut roles);
                // Macro bodies are token trees: no expression nodes inside.
                set(
                    &["token_tree", "line_comment", "block_comment", "string_literal", "raw_string_literal"],
                    Skip,
                    &mut roles,
                );
                &["type_identifier", "identifier"]
            }
            Language::Python => {
                set(&["class_definition"], Definition(T::Class), &mut roles);
                set(&["function_definition"], Definition(T::Function), &mut roles);
                set(&["assignment"], Special(S::PythonConstant), &mut roles);
                set(&["call"], Call(C::Python), &mut roles);
                set(&["import_statement", "import_from_statement"], Import, &mut roles);
                set(&["comment"], Skip, &mut roles);
                &["identifier"]
            }
            Language::Go => {
                set(&["function_declaration"], Definition(T::Function), &mut roles);
                set(&["method_declaration"], Definition(T::Method), &mut roles);
                set(&["type_spec"], Definition(T::Type), &mut roles);
                set(&["call_expression"], Call(C::Go), &mut roles);
                set(&["import_spec"], Import, &mut roles);
                set(&["comment", "interpreted_string_literal", "raw_string_literal"], Skip, &mut roles);
                &["identifier", "field_identifier", "type_identifier"]
            }
            Language::Java => {
                set(&["class_declaration"], Definition(T::Class), &mut roles);
                set(&["method_declaration"], Definition(T::Method), &mut roles);
                set(&["interface_declaration"], Definition(T::Interface), &mut roles);
                set(&["method_invocation"], Call(C::Java), &mut roles);
                set(&["import_declaration"], Import, &mut roles);
                set(&["line_comment", "block_comment"], Skip, &mut roles);
                &["identifier"]
            }
            Language::JavaScript | Language::TypeScript | Language::Tsx => {
                set(&["class", "class_declaration"], Definition(T::Class), &mut roles);
                for kind in ["class", "class_declaration"] {
                    for id in named_ids(kind) {
                        any_name[id as usize] = true;
                    }
                }
                set(
                    &[
                        "function_expression",
                        "function_declaration",
                        "generator_function",
                        "generator_function_declaration",
                    ],
                    Definition(T::Function),
                    &mut roles,
                );
                set(&["method_definition"], Special(S::JsMethod), &mut roles);
                set(&["variable_declarator"], Special(S::JsDeclarator), &mut roles);
                set(&["assignment_expression"], Special(S::JsAssignment), &mut roles);
                set(&["pair"], Special(S::JsPair), &mut roles);
                set(&["export_statement"], Special(S::JsExportConstant), &mut roles);
                set(&["call_expression"], Call(C::Js), &mut roles);
                set(&["import_statement"], Import, &mut roles);
                set(&["comment"], Skip, &mut roles);
                if language != Language::JavaScript {
                    set(&["function_signature"], Definition(T::Function), &mut roles);
                    set(&["method_signature", "abstract_method_signature"], Definition(T::Method), &mut roles);
                    set(&["abstract_class_declaration"], Definition(T::Class), &mut roles);
                    set(&["module"], Definition(T::Module), &mut roles);
                    set(&["interface_declaration"], Definition(T::Interface), &mut roles);
                    set(&["type_alias_declaration"], Definition(T::Type), &mut roles);
                }
                &["identifier", "property_identifier", "type_identifier"]
            }
            // Indexed through their tags queries (`Language::tabled`).
            Language::C
            | Language::Cpp
            | Language::CSharp
            | Language::Ruby
            | Language::Php
            | Language::Kotlin
            | Language::Swift
            | Language::Bash
            | Language::PlainText => &[],
        };
        for name in names {
            for id in named_ids(name) {
                name_kinds[id as usize] = true;
            }
        }
        let mut flags = vec![0u32; count];
        for (name, bits) in kind::NAMES {
            for id in named_ids(name) {
                flags[id as usize] |= bits;
            }
        }
        let field = |name: &str| grammar.field_id_for_name(name);
        Rules {
            roles,
            name_kinds,
            any_name,
            flags,
            fields: Fields {
                name: field("name"),
                function: field("function"),
                field: field("field"),
                attribute: field("attribute"),
                macro_: field("macro"),
                arguments: field("arguments"),
                property: field("property"),
                left: field("left"),
                right: field("right"),
                key: field("key"),
                value: field("value"),
                type_: field("type"),
                source: field("source"),
            },
        }
    }
}

/// Walks `doc`'s tree once.
pub(crate) fn walk(doc: &SyntaxDocument) -> Tags {
    if !doc.language().tabled() {
        return crate::symbols::query_tags(doc);
    }
    let (Some(support), Some(tree)) = (doc.language().support(), doc.tree()) else { return Tags::default() };
    let mut walker =
        Walker { language: doc.language(), rules: &support.rules, text: doc.text(), tags: Tags::default() };
    walker.run(tree.walk());
    walker.tags
}

struct Walker<'a> {
    language: Language,
    rules: &'a Rules,
    text: &'a str,
    tags: Tags,
}

impl<'a> Walker<'a> {
    fn run(&mut self, mut cursor: TreeCursor<'_>) {
        // Kinds of the nodes above the current one, root first.
        let mut ancestors: Vec<u16> = Vec::with_capacity(32);
        loop {
            let node = cursor.node();
            let role = self.rules.roles.get(node.kind_id() as usize).copied().unwrap_or(Role::None);
            let enter = match role {
                Role::None => true,
                Role::Skip => false,
                Role::Definition(tag) => {
                    self.definition(node, tag);
                    true
                }
                Role::Special(special) => {
                    self.special(node, special, &ancestors);
                    true
                }
                Role::Call(shape) => {
                    // CommonJS: `const x = require("./x")` near the top imports it.
                    if shape == CallShape::Js && ancestors.len() <= 3 && self.is_require(node) {
                        self.import(node);
                    }
                    self.call(node, shape);
                    true
                }
                Role::Import => {
                    // As the import query: statements near the top only.
                    if ancestors.len() <= 3 {
                        self.import(node);
                    }
                    false
                }
            };
            if enter && cursor.goto_first_child() {
                ancestors.push(node.kind_id());
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                ancestors.pop();
            }
        }
    }

    fn is_name(&self, node: Node<'_>) -> bool {
        self.rules.name_kinds.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    fn definition(&mut self, node: Node<'_>, tag: Tag) {
        let Some(name) = child(node, self.rules.fields.name) else { return };
        let any = self.rules.any_name.get(node.kind_id() as usize).copied().unwrap_or(false);
        if (any && name.is_named()) || self.is_name(name) {
            self.push(node, DefinitionName::Text(name.byte_range()), tag);
        }
    }

    fn push(&mut self, node: Node<'_>, name: DefinitionName, tag: Tag) {
        let kind = match (tag, node.kind()) {
            (_, "struct_item" | "union_item") => SymbolKind::Struct,
            (_, "enum_item") => SymbolKind::Enum,
            (_, "type_item" | "type_spec") => SymbolKind::Type,
            (Tag::Class, _) => SymbolKind::Class,
            (Tag::Interface, _) => SymbolKind::Interface,
            (Tag::Module, _) => SymbolKind::Module,
            (Tag::Method, _) => SymbolKind::Method,
            (Tag::Function, _) => SymbolKind::Function,
            (Tag::Macro, _) => SymbolKind::Macro,
            (Tag::Constant, _) => SymbolKind::Constant,
            (Tag::Type, _) => SymbolKind::Type,
            (Tag::Impl, _) => SymbolKind::Impl,
        };
        self.tags.definitions.push(Definition {
            bytes: node.byte_range(),
            name,
            kind,
            line: node.start_position().row as u32,
            end_line: node.end_position().row as u32,
        });
    }

    fn special(&mut self, node: Node<'_>, special: Check, ancestors: &[u16]) {
        use kind::*;
        let rules = self.rules;
        let fields = &rules.fields;
        let is = |n: Node<'_>, kind: u32| rules.is(n, kind);
        let flag = |id: u16, kind: u32| rules.flags.get(id as usize).is_some_and(|f| f & kind != 0);
        let (name, tag) = match special {
            Check::RustFunction => {
                let in_list = ancestors.last().is_some_and(|parent| flag(*parent, DECLARATION_LIST));
                let name = child(node, fields.name).filter(|n| is(*n, IDENTIFIER));
                (name, if in_list { Tag::Method } else { Tag::Function })
            }
            Check::RustImpl => {
                if child(node, fields.type_).is_some() {
                    let head = crate::symbols::signature_of(self.text, node);
                    self.push(node, DefinitionName::Owned(head), Tag::Impl);
                }
                return;
            }
            Check::PythonConstant => {
                let &[module, statement] = ancestors else { return };
                let name = child(node, fields.left).filter(|l| is(*l, IDENTIFIER));
                (name.filter(|_| flag(module, MODULE) && flag(statement, EXPRESSION_STATEMENT)), Tag::Constant)
            }
            Check::JsDeclarator => {
                let in_declaration = ancestors.last().is_some_and(|parent| flag(*parent, DECLARATION));
                let name = child(node, fields.name).filter(|n| is(*n, IDENTIFIER));
                let function = child(node, fields.value).is_some_and(|v| is(v, FUNCTION_VALUE));
                // A module's exported value (`export const User = z.object(…)`,
                // beside `export type User = z.infer<typeof User>`): a name
                // another file imports, as a value.
                let exported = matches!(ancestors, [_, export, _] if flag(*export, EXPORT_STATEMENT));
                match (in_declaration, function) {
                    (true, true) => (name, Tag::Function),
                    (true, false) if exported => (name, Tag::Constant),
                    _ => (None, Tag::Function),
                }
            }
            Check::JsAssignment => {
                let name = child(node, fields.left).and_then(|left| {
                    if is(left, IDENTIFIER) {
                        Some(left)
                    } else if is(left, MEMBER_EXPRESSION) {
                        child(left, fields.property).filter(|p| is(*p, PROPERTY_IDENTIFIER))
                    } else {
                        None
                    }
                });
                let function = child(node, fields.right).is_some_and(|r| is(r, FUNCTION_VALUE));
                (name.filter(|_| function), Tag::Function)
            }
            Check::JsPair => {
                let name = child(node, fields.key).filter(|k| is(*k, PROPERTY_IDENTIFIER));
                let function = child(node, fields.value).is_some_and(|v| is(v, FUNCTION_VALUE));
                (name.filter(|_| function), Tag::Function)
            }
            Check::JsMethod => {
                let name = child(node, fields.name).filter(|n| is(*n, PROPERTY_IDENTIFIER));
                (name.filter(|n| &self.text[n.byte_range()] != "constructor"), Tag::Method)
            }
            // A re-export (`export * from "./x"`, `export { a } from "./x"`)
            // imports the module it names.
            Check::JsExportConstant if child(node, fields.source).is_some() => {
                if ancestors.len() <= 3 {
                    self.import(node);
                }
                return;
            }
            Check::JsExportConstant => {
                let assignment = child(node, fields.value).filter(|v| is(*v, ASSIGNMENT_EXPRESSION));
                let name = assignment.and_then(|a| {
                    let plain = child(a, fields.right).is_some_and(|r| is(r, PLAIN_VALUE));
                    child(a, fields.left).filter(|l| plain && is(*l, IDENTIFIER))
                });
                (name, Tag::Constant)
            }
        };
        if let Some(name) = name {
            self.push(node, DefinitionName::Text(name.byte_range()), tag);
        }
    }

    fn call(&mut self, node: Node<'_>, shape: CallShape) {
        use kind::*;
        let rules = self.rules;
        let fields = &rules.fields;
        let is = |n: Node<'_>, kind: u32| rules.is(n, kind);
        fn field_of<'t>(rules: &Rules, n: Node<'t>, field: Option<NonZeroU16>, kind: u32) -> Option<Node<'t>> {
            child(n, field).filter(|c| rules.is(*c, kind))
        }
        let field_of = |n, field, kind| field_of(rules, n, field, kind);
        // `f()` or `x.f()`: the callee itself when it is an identifier, else the
        // member's name when it is a `member` node (field access, attribute…).
        let callee = |member: u32, field, name: u32| {
            let f = child(node, fields.function)?;
            if is(f, IDENTIFIER) {
                Some(f)
            } else if is(f, member) {
                field_of(f, field, name)
            } else {
                None
            }
        };
        let name = match shape {
            CallShape::Rust => callee(FIELD_EXPRESSION, fields.field, FIELD_IDENTIFIER),
            CallShape::RustMacro => field_of(node, fields.macro_, IDENTIFIER),
            CallShape::Python => callee(ATTRIBUTE, fields.attribute, IDENTIFIER),
            CallShape::Go => callee(SELECTOR_EXPRESSION, fields.field, FIELD_IDENTIFIER).or_else(|| {
                // `(f)()` and `(x.f)()`.
                let f = child(node, fields.function).filter(|f| is(*f, PARENTHESIZED_EXPRESSION))?;
                let mut cursor = f.walk();
                let inner: Vec<Node<'_>> = f.named_children(&mut cursor).collect();
                inner.iter().copied().find(|n| is(*n, IDENTIFIER)).or_else(|| {
                    inner
                        .iter()
                        .filter(|n| is(**n, SELECTOR_EXPRESSION))
                        .find_map(|s| field_of(*s, fields.field, FIELD_IDENTIFIER))
                })
            }),
            CallShape::Java => field_of(node, fields.name, IDENTIFIER)
                .filter(|_| child(node, fields.arguments).is_some_and(|a| is(a, ARGUMENT_LIST))),
            // `x.f()` needs its arguments; `f()` may not be `require()`.
            CallShape::Js => callee(MEMBER_EXPRESSION, fields.property, PROPERTY_IDENTIFIER).filter(|n| {
                if is(*n, PROPERTY_IDENTIFIER) {
                    child(node, fields.arguments).is_some()
                } else {
                    &self.text[n.byte_range()] != "require"
                }
            }),
        };
        if let Some(name) = name {
            self.tags.calls.push((name.byte_range(), name.start_position().row as u32));
        }
    }

    /// `require("…")`: a call of `require` with one string.
    fn is_require(&self, node: Node<'_>) -> bool {
        let fields = &self.rules.fields;
        let callee = child(node, fields.function).is_some_and(|f| &self.text[f.byte_range()] == "require");
        callee
            && child(node, fields.arguments).is_some_and(|args| {
                args.named_child_count() == 1 && args.named_child(0).is_some_and(|a| a.kind() == "string")
            })
    }

    fn import(&mut self, node: Node<'_>) {
        let raw = &self.text[node.byte_range()];
        self.tags.imports.push(Import {
            text: raw.split_whitespace().collect::<Vec<_>>().join(" "),
            line: node.start_position().row as u32,
            module: crate::symbols::module_path(self.language, raw),
            type_only: crate::symbols::type_only_import(self.language, node, self.text),
        });
    }
}

#[cfg(test)]
mod tests;
