//! Completions already made: asked again with the same text around the cursor,
//! or after the user typed the start of one (the rest is served at once).

use std::collections::VecDeque;

use context::fim::Stop;

/// How many completions are kept.
const ENTRIES: usize = 64;
/// How much of the text before and after the cursor tells two requests apart.
const BEFORE: usize = 512;
const AFTER: usize = 128;

/// The text around a cursor, as far as the cache tells requests apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    uri: String,
    before: String,
    after: String,
}

impl Key {
    pub(super) fn new(uri: &str, prefix: &str, suffix: &str) -> Key {
        let mut from = prefix.len().saturating_sub(BEFORE);
        while !prefix.is_char_boundary(from) {
            from += 1;
        }
        let mut to = suffix.len().min(AFTER);
        while !suffix.is_char_boundary(to) {
            to -= 1;
        }
        Key { uri: uri.to_owned(), before: prefix[from..].to_owned(), after: suffix[..to].to_owned() }
    }
}

#[derive(Default)]
pub(super) struct Cache {
    entries: VecDeque<(Key, String, Stop)>,
}

impl Cache {
    pub(super) fn put(&mut self, key: Key, text: &str, stop: Stop) {
        self.entries.retain(|(k, _, _)| *k != key);
        self.entries.push_front((key, text.to_owned(), stop));
        self.entries.truncate(ENTRIES);
    }

    /// The completion for `key`: one made for the same place, or the rest of
    /// one whose start the user has typed since.
    pub(super) fn get(&self, key: &Key) -> Option<(String, Stop)> {
        for (entry, text, stop) in &self.entries {
            if entry.uri != key.uri || entry.after != key.after {
                continue;
            }
            if entry.before == key.before {
                return Some((text.clone(), *stop));
            }
            // Typed since: the new text before the cursor is the old one plus
            // the start of the completion.
            for (typed, _) in text.char_indices().skip(1).chain([(text.len(), ' ')]) {
                let Some(rest) = key.before.strip_suffix(&text[..typed]) else { continue };
                let same_place = entry.before.ends_with(rest) || rest.ends_with(entry.before.as_str());
                if same_place && typed < text.len() && !rest.is_empty() {
                    return Some((text[typed..].to_owned(), *stop));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_place_and_typed_through_are_hits_and_elsewhere_is_not() {
        let mut cache = Cache::default();
        let key = Key::new("file:///a.rs", "fn main() {\n    let x = ", "\n}\n");
        cache.put(key.clone(), "compute(1, 2);", Stop::Line);
        assert_eq!(cache.get(&key), Some(("compute(1, 2);".to_owned(), Stop::Line)));
        let typed = Key::new("file:///a.rs", "fn main() {\n    let x = comp", "\n}\n");
        assert_eq!(cache.get(&typed), Some(("ute(1, 2);".to_owned(), Stop::Line)));
        let other = Key::new("file:///a.rs", "fn main() {\n    let y = comp", "\n}\n");
        assert_eq!(cache.get(&other), None, "a different line before the cursor");
        let moved = Key::new("file:///a.rs", "fn main() {\n    let x = ", "\n}\nfn other() {}\n");
        assert_eq!(cache.get(&moved), None, "different text after the cursor");
        let typed_all = Key::new("file:///a.rs", "fn main() {\n    let x = compute(1, 2);", "\n}\n");
        assert_eq!(cache.get(&typed_all), None, "nothing left to complete");
        let elsewhere = Key::new("file:///b.rs", "fn main() {\n    let x = ", "\n}\n");
        assert_eq!(cache.get(&elsewhere), None);
    }
}
