//! The OpenRPC description of the protocol, generated from the types in this crate.
//!
//! `protocol/openrpc.json` is this document, checked in; a test fails when it is
//! out of date (`UPDATE_EXPECT=1 cargo test -p protocol` rewrites it), and the
//! daemon serves the same document as `rpc.discover`.

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::{Method, Subscription};

/// Builds the OpenRPC 1.3 document for every method in [`crate::for_each_method!`].
pub fn document(version: &str) -> Value {
    let mut builder = Builder {
        generator: SchemaSettings::draft2020_12()
            .with(|s| s.definitions_path = "/components/schemas".into())
            .into_generator(),
        methods: Vec::new(),
    };
    macro_rules! add_method {
        ($ty:ty) => {
            builder.method::<$ty>()
        };
    }
    macro_rules! add_subscription {
        ($ty:ty) => {
            builder.subscription::<$ty>()
        };
    }
    crate::for_each_method!(add_method, add_subscription);
    crate::canonical_json(builder.finish(version))
}

/// The names of every method and subscription method (subscribe and unsubscribe).
pub fn method_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    macro_rules! add_method {
        ($ty:ty) => {
            names.push(<$ty as Method>::NAME)
        };
    }
    macro_rules! add_subscription {
        ($ty:ty) => {{
            names.push(<$ty as Subscription>::SUBSCRIBE);
            names.push(<$ty as Subscription>::UNSUBSCRIBE);
        }};
    }
    crate::for_each_method!(add_method, add_subscription);
    names
}

struct Builder {
    generator: SchemaGenerator,
    methods: Vec<Value>,
}

impl Builder {
    fn method<M: Method>(&mut self) {
        let params = self.params::<M::Params>();
        let result = self.generator.subschema_for::<M::Result>();
        self.methods.push(json!({
            "name": M::NAME,
            "summary": M::SUMMARY,
            "paramStructure": "by-name",
            "params": params,
            "result": { "name": "result", "schema": result },
        }));
    }

    fn subscription<S: Subscription>(&mut self) {
        let params = self.params::<S::Params>();
        let item = self.generator.subschema_for::<S::Item>();
        self.methods.push(json!({
            "name": S::SUBSCRIBE,
            "summary": S::SUMMARY,
            "paramStructure": "by-name",
            "params": params,
            "result": { "name": "subscription", "schema": { "type": "string" } },
            "x-notification": { "method": S::NOTIFICATION, "params": { "subscription": "string", "result": item } },
            "x-unsubscribe": S::UNSUBSCRIBE,
        }));
        self.methods.push(json!({
            "name": S::UNSUBSCRIBE,
            "summary": format!("Ends a `{}` subscription.", S::SUBSCRIBE),
            "paramStructure": "by-position",
            "params": [{ "name": "subscription", "required": true, "schema": { "type": "string" } }],
            "result": { "name": "unsubscribed", "schema": { "type": "boolean" } },
        }));
    }

    /// By-name parameters: one OpenRPC param per property of the params struct.
    fn params<P: JsonSchema>(&mut self) -> Vec<Value> {
        let schema = self.generator.root_schema_for::<P>();
        let object = schema.as_object().cloned().unwrap_or_default();
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(Value::Object(properties)) = object.get("properties") else {
            return Vec::new();
        };
        let mut names: Vec<&String> = properties.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                json!({
                    "name": name,
                    "required": required.contains(&name.as_str()),
                    "schema": properties[name],
                })
            })
            .collect()
    }

    fn finish(mut self, version: &str) -> Value {
        let schemas: Map<String, Value> = self.generator.take_definitions(true);
        json!({
            "openrpc": "1.3.2",
            "info": {
                "title": "PAIRED daemon",
                "version": version,
                "description": format!(
                    "JSON-RPC 2.0 over WebSocket and HTTP on 127.0.0.1, protocol version {}. \
                     Every request carries `Authorization: Bearer <token>` (or `?token=` on WebSocket). \
                     The same method names are LSP custom requests through `paired lsp`.",
                    crate::PROTOCOL_VERSION
                ),
            },
            "methods": self.methods,
            "components": { "schemas": schemas },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in `protocol/openrpc.json` matches the types. Run with
    /// `UPDATE_EXPECT=1` to rewrite it after changing the protocol.
    #[test]
    fn openrpc_json_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openrpc.json");
        let fresh = serde_json::to_string_pretty(&document(env!("CARGO_PKG_VERSION"))).expect("serializable") + "\n";
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &fresh).expect("write openrpc.json");
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk == fresh, "protocol/openrpc.json is stale: run `UPDATE_EXPECT=1 cargo test -p protocol`");
    }

    #[test]
    fn every_method_follows_area_verb() {
        for name in method_names() {
            let (area, verb) = name.split_once('/').unwrap_or_else(|| panic!("{name}: no `/`"));
            assert!(!area.is_empty() && !verb.is_empty() && !verb.contains('/'), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '/' || c == '_'), "{name}");
        }
    }

    #[test]
    fn document_lists_params_and_schemas() {
        let doc = document("x");
        let methods = doc["methods"].as_array().expect("methods");
        let open = methods.iter().find(|m| m["name"] == "documents/open").expect("documents/open");
        let names: Vec<_> = open["params"].as_array().expect("params").iter().map(|p| p["name"].clone()).collect();
        assert_eq!(names, vec![json!("language_id"), json!("text"), json!("uri"), json!("version")]);
        assert!(doc["components"]["schemas"]["StatusReport"].is_object(), "{doc:#}");
    }
}
