//! Languages PAIRED parses, how a file maps to one, and each one's queries.

use std::sync::OnceLock;

use tree_sitter::Query;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Language {
    Rust,
    Python,
    TypeScript,
    Tsx,
    JavaScript,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Kotlin,
    Swift,
    Bash,
    /// Anything else: kept as text, no tree.
    PlainText,
}

/// A grammar with its compiled queries.
pub struct Support {
    pub grammar: tree_sitter::Language,
    /// The grammar's own tags query (for TypeScript, JavaScript's plus TypeScript's).
    pub tags: Query,
    /// Import statements, captured as `@import`.
    pub imports: Query,
    /// The tags and import queries' rules as tables, for the indexer's walk.
    pub(crate) rules: crate::tags::Rules,
}

impl Language {
    pub const PARSED: [Language; 15] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Kotlin,
        Language::Swift,
        Language::Bash,
    ];

    /// Languages the index walks with its own tables ([`crate::tags`]); the
    /// others are indexed through their tags query (slower, the same result).
    pub(crate) fn tabled(self) -> bool {
        matches!(
            self,
            Language::Rust
                | Language::Python
                | Language::TypeScript
                | Language::Tsx
                | Language::JavaScript
                | Language::Go
                | Language::Java
        )
    }

    /// By file extension; unknown extensions are plain text.
    pub fn from_path(path: &str) -> Language {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        match ext.as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" => Language::Python,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" => Language::Cpp,
            "cs" => Language::CSharp,
            "rb" | "rake" | "gemspec" => Language::Ruby,
            "php" | "phtml" => Language::Php,
            "kt" | "kts" => Language::Kotlin,
            "swift" => Language::Swift,
            "sh" | "bash" => Language::Bash,
            _ => Language::PlainText,
        }
    }

    /// By LSP `languageId`, falling back to the path's extension.
    pub fn from_language_id(id: &str, path: &str) -> Language {
        match id {
            "rust" => Language::Rust,
            "python" => Language::Python,
            "typescript" => Language::TypeScript,
            "typescriptreact" => Language::Tsx,
            "javascript" | "javascriptreact" => Language::JavaScript,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" => Language::C,
            "cpp" | "cuda-cpp" => Language::Cpp,
            "csharp" => Language::CSharp,
            "ruby" => Language::Ruby,
            "php" => Language::Php,
            "kotlin" => Language::Kotlin,
            "swift" => Language::Swift,
            "shellscript" | "sh" | "bash" => Language::Bash,
            _ => Language::from_path(path),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::JavaScript => "javascript",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Kotlin => "kotlin",
            Language::Swift => "swift",
            Language::Bash => "bash",
            Language::PlainText => "text",
        }
    }

    /// The grammar and queries, compiled once per process.
    pub fn support(self) -> Option<&'static Support> {
        static SUPPORT: [OnceLock<Support>; Language::PARSED.len()] =
            [const { OnceLock::new() }; Language::PARSED.len()];
        let index = Language::PARSED.iter().position(|l| *l == self)?;
        Some(SUPPORT[index].get_or_init(|| build(self)))
    }
}

/// A JavaScript or TypeScript module's exported values (`export const User =
/// z.object(…)`): names other files import. Those that are functions are the
/// grammar's own function tags ([`crate::symbols`] leaves them to those).
const EXPORTED_VALUES: &str = "(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)))\n(program (export_statement (variable_declaration (variable_declarator name: (identifier) @name) @definition.constant)))";

/// JavaScript's and TypeScript's imports: ES modules', re-exports, and
/// CommonJS's `require("…")` of one string (the index's walk finds the same).
const JS_IMPORTS: &str = "(import_statement) @import (export_statement source: (_)) @import (call_expression function: (identifier) @_require arguments: (arguments . (string) .) (#eq? @_require \"require\")) @import";

fn build(language: Language) -> Support {
    let (grammar, tags, imports): (tree_sitter::Language, String, &str) = match language {
        Language::Rust => (
            tree_sitter_rust::LANGUAGE.into(),
            // The grammar's tags leave out trait method declarations, consts and
            // impl blocks (containers for their methods).
            format!(
                "{}\n(function_signature_item name: (identifier) @name) @definition.method\n(const_item name: (identifier) @name) @definition.constant\n(impl_item type: (_) @name) @definition.impl",
                tree_sitter_rust::TAGS_QUERY
            ),
            "(use_declaration) @import (extern_crate_declaration) @import",
        ),
        Language::Python => (
            tree_sitter_python::LANGUAGE.into(),
            tree_sitter_python::TAGS_QUERY.into(),
            "(import_statement) @import (import_from_statement) @import",
        ),
        Language::TypeScript => (
            tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            format!(
                "{}\n{}\n(type_alias_declaration name: (type_identifier) @name) @definition.type\n{EXPORTED_VALUES}",
                tree_sitter_javascript::TAGS_QUERY,
                tree_sitter_typescript::TAGS_QUERY
            ),
            JS_IMPORTS,
        ),
        Language::Tsx => (
            tree_sitter_typescript::LANGUAGE_TSX.into(),
            format!(
                "{}\n{}\n(type_alias_declaration name: (type_identifier) @name) @definition.type\n{EXPORTED_VALUES}",
                tree_sitter_javascript::TAGS_QUERY,
                tree_sitter_typescript::TAGS_QUERY
            ),
            JS_IMPORTS,
        ),
        Language::JavaScript => (
            tree_sitter_javascript::LANGUAGE.into(),
            format!("{}\n{EXPORTED_VALUES}", tree_sitter_javascript::TAGS_QUERY),
            JS_IMPORTS,
        ),
        Language::Go => (tree_sitter_go::LANGUAGE.into(), tree_sitter_go::TAGS_QUERY.into(), "(import_spec) @import"),
        Language::Java => {
            (tree_sitter_java::LANGUAGE.into(), tree_sitter_java::TAGS_QUERY.into(), "(import_declaration) @import")
        }
        Language::C => {
            (tree_sitter_c::LANGUAGE.into(), include_str!("../queries/c.scm").into(), "(preproc_include) @import")
        }
        Language::Cpp => (
            tree_sitter_cpp::LANGUAGE.into(),
            include_str!("../queries/cpp.scm").into(),
            "(preproc_include) @import (using_declaration) @import",
        ),
        Language::CSharp => (
            tree_sitter_c_sharp::LANGUAGE.into(),
            include_str!("../queries/csharp.scm").into(),
            "(using_directive) @import",
        ),
        Language::Ruby => (
            tree_sitter_ruby::LANGUAGE.into(),
            include_str!("../queries/ruby.scm").into(),
            r#"((call method: (identifier) @method) @import (#match? @method "^(require|require_relative|load)$"))"#,
        ),
        Language::Php => (
            tree_sitter_php::LANGUAGE_PHP.into(),
            include_str!("../queries/php.scm").into(),
            "(namespace_use_declaration) @import (require_once_expression) @import (require_expression) @import \
             (include_once_expression) @import (include_expression) @import",
        ),
        Language::Kotlin => {
            (tree_sitter_kotlin_ng::LANGUAGE.into(), include_str!("../queries/kotlin.scm").into(), "(import) @import")
        }
        Language::Swift => (
            tree_sitter_swift::LANGUAGE.into(),
            include_str!("../queries/swift.scm").into(),
            "(import_declaration) @import",
        ),
        Language::Bash => (
            tree_sitter_bash::LANGUAGE.into(),
            include_str!("../queries/bash.scm").into(),
            r#"((command name: (command_name (word) @command)) @import (#match? @command "^(source|[.])$"))"#,
        ),
        Language::PlainText => unreachable_plain_text(),
    };
    // The queries ship with the grammars and are tested below; failing to compile
    // one is a build defect, not a runtime condition.
    let compile = |source: &str, what: &str| {
        Query::new(&grammar, source).unwrap_or_else(|err| panic!("{} {what} query: {err}", language.name()))
    };
    let mut query = compile(&tags, "tags");
    // Only definitions and calls are used: patterns for other references (every
    // type name, say) would only cost matching time. Docs come from the text
    // above a definition, so the queries' own doc captures go too.
    for pattern in 0..query.pattern_count() {
        let source = &tags[query.start_byte_for_pattern(pattern)..query.end_byte_for_pattern(pattern)];
        if !source.contains("@definition.") && !source.contains("@reference.call") {
            query.disable_pattern(pattern);
        }
    }
    query.disable_capture("doc");
    let rules = crate::tags::Rules::new(language, &grammar);
    Support { tags: query, imports: compile(imports, "imports"), grammar, rules }
}

fn unreachable_plain_text() -> ! {
    panic!("plain text has no grammar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parsed_language_compiles_its_queries() {
        for language in Language::PARSED {
            let support = language.support().expect("support");
            assert!(support.tags.pattern_count() > 0, "{language:?}");
        }
        assert!(Language::PlainText.support().is_none());
    }

    #[test]
    fn files_and_language_ids_map_to_languages() {
        assert_eq!(Language::from_path("src/main.rs"), Language::Rust);
        assert_eq!(Language::from_path("a/B.JAVA"), Language::Java);
        assert_eq!(Language::from_path("x.tsx"), Language::Tsx);
        assert_eq!(Language::from_path("Makefile"), Language::PlainText);
        assert_eq!(Language::from_language_id("typescriptreact", "x"), Language::Tsx);
        assert_eq!(Language::from_language_id("plaintext", "a.go"), Language::Go);
    }
}
