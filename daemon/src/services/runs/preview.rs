//! An edit as the model writes it: `propose_edit`'s arguments read while they
//! stream (incomplete JSON, the replacement text cut where it has got to),
//! checked against the agent's write grants as the finished call is, and sent
//! on as [`Event::RunEdit`](protocol::client::Event::RunEdit) pieces for a live
//! diff. Nothing is applied: the finished run's edits are what the user reviews.

use std::collections::HashMap;

use jiter::{JsonValue, PartialMode};
use protocol::{agents::TextEdit, documents::Range};
use serde_json::{Map, Value};

/// Arguments longer than this are not followed while they stream: a larger
/// edit shows when the run ends.
const MAX_FOLLOWED_BYTES: usize = 256 * 1024;
/// The arguments are read again once they grew by this much, or by an eighth
/// of what was read (and once when the call is complete): the whole of them
/// is parsed each time, so the reads of a long edit stay linear in its length.
const REREAD_BYTES: usize = 24;

/// The `propose_edit` calls of one run streaming so far.
#[derive(Debug, Default)]
pub(super) struct Previews {
    round: u32,
    calls: HashMap<(u32, usize), Followed>,
}

#[derive(Debug, Default)]
struct Followed {
    /// How much of the arguments was read last time.
    read: usize,
    /// The file and lines, once known (and allowed).
    target: Option<(String, Range)>,
    /// How much of the replacement was sent (bytes).
    sent: usize,
    /// Refused, or too long to follow: nothing more is sent.
    given_up: bool,
}

/// The next piece of an edit being written.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub call: String,
    pub uri: String,
    pub range: Range,
    pub text: String,
}

impl Previews {
    /// The model's next turn: its calls are numbered from 0 again.
    pub(super) fn next_round(&mut self) {
        self.round += 1;
    }

    /// What is new in call `index`'s `arguments` so far, if anything: `resolve`
    /// turns complete arguments into the edit (or refuses, as the tool would).
    pub(super) fn update(
        &mut self,
        index: usize,
        (arguments, done): (&str, bool),
        resolve: impl FnOnce(&Value) -> Result<TextEdit, String>,
    ) -> Option<Piece> {
        let followed = self.calls.entry((self.round, index)).or_default();
        if followed.given_up {
            return None;
        }
        if arguments.len() > MAX_FOLLOWED_BYTES {
            followed.given_up = true;
            return None;
        }
        let step = REREAD_BYTES.max(followed.read / 8);
        if !done && arguments.len() < followed.read + step {
            return None;
        }
        followed.read = arguments.len();
        let so_far = partial_arguments(arguments)?;
        let new_text = so_far.get("new_text")?.as_str()?;
        if followed.target.is_none() {
            if !["path", "start_line", "end_line"].iter().all(|key| so_far.contains_key(*key)) {
                return None;
            }
            match resolve(&Value::Object(so_far.clone())) {
                Ok(edit) => followed.target = Some((edit.uri, edit.range)),
                Err(_) => {
                    // The finished call is refused the same way, and says why.
                    followed.given_up = true;
                    return None;
                }
            }
        }
        let text = new_text.get(followed.sent..).filter(|t| !t.is_empty())?.to_owned();
        followed.sent = new_text.len();
        let (uri, range) = followed.target.clone()?;
        Some(Piece { call: format!("{}.{index}", self.round), uri, range, text })
    }
}

/// A tool call's arguments so far, as far as they can be trusted: every
/// complete entry, and a last one only if it is the replacement text (cut
/// where it has got to). A number or path at the very end may still grow.
/// `None` when what came so far is not the start of an object.
pub(super) fn partial_arguments(arguments: &str) -> Option<Map<String, Value>> {
    if arguments.trim_end().ends_with('}')
        && let Ok(Value::Object(complete)) = serde_json::from_str::<Value>(arguments)
    {
        return Some(complete);
    }
    partial_object(arguments)
}

/// The entries of an incomplete object (see [`partial_arguments`]).
fn partial_object(arguments: &str) -> Option<Map<String, Value>> {
    let JsonValue::Object(entries) =
        JsonValue::parse_with_config(arguments.as_bytes(), false, PartialMode::TrailingStrings).ok()?
    else {
        return None;
    };
    let last = entries.len().checked_sub(1);
    let mut map = Map::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        let value = match value {
            JsonValue::Str(text) if Some(i) != last || key == "new_text" => Value::String(text.to_string()),
            JsonValue::Int(n) if Some(i) != last => Value::from(*n),
            JsonValue::Bool(b) if Some(i) != last => Value::Bool(*b),
            _ => continue,
        };
        map.insert(key.to_string(), value);
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use protocol::documents::Position;
    use serde_json::json;

    use super::*;

    fn edit(arguments: &Value) -> Result<TextEdit, String> {
        let path = arguments["path"].as_str().ok_or("pass `path`")?;
        if path.starts_with("secret") {
            return Err(format!("may not write {path}"));
        }
        let line = |key: &str| arguments[key].as_u64().map(|l| l as u32).ok_or(format!("pass `{key}`"));
        Ok(TextEdit {
            uri: format!("file:///w/{path}"),
            range: Range {
                start: Position { line: line("start_line")? - 1, character: 0 },
                end: Position { line: line("end_line")?, character: 0 },
            },
            new_text: arguments["new_text"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Feeds `arguments` in pieces of `step` bytes, as a stream would, and
    /// joins what the previews sent per call.
    fn stream(arguments: &str, step: usize) -> (Vec<Piece>, String) {
        let mut previews = Previews::default();
        let mut pieces = Vec::new();
        let mut end = 0;
        while end < arguments.len() {
            end = (end + step).min(arguments.len());
            while !arguments.is_char_boundary(end) {
                end += 1;
            }
            pieces.extend(previews.update(0, (&arguments[..end], end == arguments.len()), edit));
        }
        let joined = pieces.iter().map(|p| p.text.as_str()).collect();
        (pieces, joined)
    }

    #[test]
    fn the_replacement_streams_in_order_and_whole_whatever_the_pieces() {
        let new_text = "fn area(w: f64, h: f64) -> f64 {\n    w * h // «é» \"quoted\" \\ done\n}\n";
        // In the order of the tool's schema, as models write them.
        let text = serde_json::to_string(new_text).expect("a string");
        let arguments = format!(r#"{{"path": "src/lib.rs", "start_line": 3, "end_line": 5, "new_text": {text}}}"#);
        for step in [1, 2, 3, 7, 24, 1000] {
            let (pieces, joined) = stream(&arguments, step);
            assert_eq!(joined, new_text, "pieces of {step} bytes");
            assert!(pieces.iter().all(|p| p.uri == "file:///w/src/lib.rs" && p.call == "0.0"));
            assert!(pieces.iter().all(|p| p.range.start.line == 2 && p.range.end.line == 5));
            if step < 24 {
                assert!(pieces.len() > 1, "pieces of {step} bytes: shown as it comes, not at the end");
            }
        }
    }

    #[test]
    fn nothing_is_shown_before_the_file_and_lines_are_known_nor_for_a_file_the_agent_may_not_write() {
        // The text first, the lines after: the text waits for them, then comes whole.
        let late = r#"{"new_text": "let x = 1;\nlet y = 2;\n", "path": "a.rs", "start_line": 12, "end_line": 12}"#;
        let cut = late.find("12, \"end_line\"").expect("the start line") + 1;
        let mut previews = Previews::default();
        assert_eq!(previews.update(0, (&late[..cut], false), edit), None, "`start_line` may still be 12 or 120");
        let piece = previews.update(0, (late, true), edit).expect("the whole call");
        assert_eq!((piece.range.start.line, piece.text.as_str()), (11, "let x = 1;\nlet y = 2;\n"));

        let refused = json!({"path": "secret.env", "start_line": 1, "end_line": 1, "new_text": "KEY=stolen\n"});
        assert_eq!(stream(&refused.to_string(), 5).0, [], "what the tool would refuse is not shown either");
        assert_eq!(stream("[1, 2", 5).0, []);
        assert_eq!(stream("not json", 5).0, []);
    }

    #[test]
    fn a_partial_object_keeps_its_complete_entries_and_the_replacement_cut_short() {
        let so_far = partial_arguments(r#"{"path": "a.rs", "start_line": 1, "end_line": 4, "new_text": "ab\ncd\u00"#)
            .expect("an object so far");
        assert_eq!(
            Value::Object(so_far),
            json!({"path": "a.rs", "start_line": 1, "end_line": 4, "new_text": "ab\ncd"})
        );
        let so_far = partial_arguments(r#"{"path": "a.rs", "start_line": 1"#).expect("an object so far");
        assert_eq!(Value::Object(so_far), json!({"path": "a.rs"}), "a number at the end may still grow");
        let so_far = partial_arguments(r#"{"start_line": 1, "path": "src/li"#).expect("an object so far");
        assert_eq!(Value::Object(so_far), json!({"start_line": 1}), "so may a path");
    }
}
