//! The context engine's answers as LSP shapes: outlines as `DocumentSymbol`s,
//! symbol searches as `SymbolInformation`s.

use serde_json::Value;

/// LSP `SymbolKind` numbers for the context engine's kinds.
fn lsp_symbol_kind(kind: &str) -> u32 {
    match kind {
        "module" => 2,
        "class" => 5,
        "method" => 6,
        "enum" => 10,
        "interface" => 11,
        "function" | "macro" => 12,
        "constant" => 14,
        "impl" => 19,
        "struct" => 23,
        "type" => 26,
        _ => 13,
    }
}

/// `context/outline` → `DocumentSymbol[]`.
pub(super) fn to_document_symbols(outline: Value) -> Value {
    fn convert(symbol: &Value) -> Value {
        let children: Vec<Value> =
            symbol["children"].as_array().map(|c| c.iter().map(convert).collect()).unwrap_or_default();
        serde_json::json!({
            "name": symbol["name"],
            "detail": symbol["signature"],
            "kind": lsp_symbol_kind(symbol["kind"].as_str().unwrap_or("")),
            "range": symbol["range"],
            "selectionRange": symbol["selection_range"],
            "children": children,
        })
    }
    Value::Array(outline["symbols"].as_array().map(|s| s.iter().map(convert).collect()).unwrap_or_default())
}

/// `context/symbols` → `SymbolInformation[]`.
pub(super) fn to_symbol_information(matches: Value) -> Value {
    let convert = |m: &Value| {
        let mut info = serde_json::json!({
            "name": m["name"],
            "kind": lsp_symbol_kind(m["kind"].as_str().unwrap_or("")),
            "location": {
                "uri": m["uri"],
                "range": {
                    "start": { "line": m["line"], "character": 0 },
                    "end": { "line": m["end_line"], "character": 0 },
                },
            },
        });
        if let Some(container) = m["container"].as_str() {
            info["containerName"] = Value::from(container);
        }
        info
    };
    Value::Array(matches.as_array().map(|m| m.iter().map(convert).collect()).unwrap_or_default())
}
