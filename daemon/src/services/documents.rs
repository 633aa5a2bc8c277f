//! Open documents as the editors see them, shared by every client of the daemon.
//!
//! Sans IO: plain state and pure operations. A document stays open while any client
//! holds it; a client that goes away releases all of its documents. The text lives
//! in a [`Buffer`]: a plain `String` in `paired lsp`'s mirror, a tree-sitter
//! [`context::SyntaxDocument`] (re-parsed incrementally when its tree is next needed) in the daemon.

use std::{
    borrow::Cow,
    collections::{BTreeMap, HashMap},
};

use protocol::documents::{
    ChangeParams, CloseReply, ContentChange, Document, DocumentSummary, DocumentVersion, OpenParams, Position,
};

/// The daemon-wide id of an attached client; [`ANONYMOUS`] for calls from
/// connections that never attached (their documents live until closed).
pub type ClientId = u64;
pub const ANONYMOUS: ClientId = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    NotOpen { uri: String },
    VersionNotNewer { uri: String, current: i32, got: i32 },
    RangeOutOfOrder { uri: String, index: usize },
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocumentError::NotOpen { uri } => {
                write!(f, "document {uri} is not open; send documents/open first")
            }
            DocumentError::VersionNotNewer { uri, current, got } => write!(
                f,
                "document {uri}: change to version {got} arrived after version {current}; versions must increase (re-open the document to resynchronise)"
            ),
            DocumentError::RangeOutOfOrder { uri, index } => {
                write!(f, "document {uri}: change #{index} has its range end before its start")
            }
        }
    }
}

/// What holds a document's text.
pub trait Buffer {
    fn create(language_id: &str, uri: &str, text: String) -> Self;
    /// The text: borrowed where it is kept as text (a buffer may keep it
    /// compressed, as `paired lsp`'s mirror does for documents not being edited).
    fn text(&self) -> Cow<'_, str>;
    /// The text's length in bytes.
    fn byte_len(&self) -> usize {
        self.text().len()
    }
    /// Replaces the bytes `start..end` (on char boundaries, `start <= end`).
    fn edit(&mut self, start: usize, end: usize, new_text: &str);
    fn replace(&mut self, text: String);
}

impl Buffer for String {
    fn create(_: &str, _: &str, text: String) -> Self {
        text
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
    fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        self.replace_range(start..end, new_text);
    }
    fn replace(&mut self, text: String) {
        *self = text;
    }
}

impl Buffer for context::SyntaxDocument {
    fn create(language_id: &str, uri: &str, text: String) -> Self {
        context::SyntaxDocument::new(context::Language::from_language_id(language_id, uri), text)
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(context::SyntaxDocument::text(self))
    }
    fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        context::SyntaxDocument::edit(self, start, end, new_text);
    }
    fn replace(&mut self, text: String) {
        self.replace_all(text);
    }
}

#[derive(Debug)]
pub struct Documents<B = String> {
    open: HashMap<String, OpenDocument<B>>,
    /// Updates applied so far: each copy is stamped with the count when it
    /// changes, so "the copy changed most recently" is known after its
    /// client goes (not guessed from client ids).
    applied: u64,
}

impl<B> Default for Documents<B> {
    fn default() -> Self {
        Documents { open: HashMap::new(), applied: 0 }
    }
}

/// One URI, as each client that has it open sees it. Editors keep their own
/// buffers (two windows may hold different unsaved text), so each client's copy
/// and version are its own; readers see the copy changed most recently (the
/// last applied: two editors' updates queued together are applied smallest first).
#[derive(Debug)]
struct OpenDocument<B> {
    language_id: String,
    copies: BTreeMap<ClientId, Copy<B>>,
}

#[derive(Debug)]
struct Copy<B> {
    version: i32,
    buffer: B,
    /// When it last changed ([`Documents::applied`]).
    changed: u64,
}

impl<B> OpenDocument<B> {
    /// The copy readers see: the one changed most recently (a document is
    /// open in one or two editors: a scan of its copies is nothing).
    fn latest_client(&self) -> Option<ClientId> {
        self.copies.iter().max_by_key(|(_, copy)| copy.changed).map(|(client, _)| *client)
    }

    fn latest(&self) -> Option<&Copy<B>> {
        self.copies.get(&self.latest_client()?)
    }

    fn latest_mut(&mut self) -> Option<&mut Copy<B>> {
        let client = self.latest_client()?;
        self.copies.get_mut(&client)
    }
}

impl<B: Buffer> Documents<B> {
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Opens `uri` for `client`. Opening it again replaces that client's copy
    /// (that is how a reconnecting editor resynchronises).
    pub fn open(&mut self, client: ClientId, params: OpenParams) -> DocumentVersion {
        let doc = self
            .open
            .entry(params.uri.clone())
            .or_insert_with(|| OpenDocument { language_id: String::new(), copies: BTreeMap::new() });
        let bytes = params.text.len() as u64;
        let buffer = B::create(&params.language_id, &params.uri, params.text);
        doc.language_id = params.language_id;
        self.applied += 1;
        doc.copies.insert(client, Copy { version: params.version, buffer, changed: self.applied });
        DocumentVersion { uri: params.uri, version: params.version, bytes }
    }

    /// Applies `client`'s changes to its copy, in order. All or nothing: on error
    /// the copy is unchanged.
    pub fn change(&mut self, client: ClientId, params: ChangeParams) -> Result<DocumentVersion, DocumentError> {
        let uri = params.uri;
        let not_open = || DocumentError::NotOpen { uri: uri.clone() };
        let doc = self.open.get_mut(&uri).ok_or_else(not_open)?;
        let copy = doc.copies.get_mut(&client).ok_or_else(not_open)?;
        if params.version <= copy.version {
            return Err(DocumentError::VersionNotNewer { uri, current: copy.version, got: params.version });
        }
        // Checked before anything is applied, so a bad change leaves the copy as it was.
        if let Some(index) = params.changes.iter().position(|c| c.range.is_some_and(|r| r.end < r.start)) {
            return Err(DocumentError::RangeOutOfOrder { uri, index });
        }
        for change in &params.changes {
            apply_change(&mut copy.buffer, change);
        }
        copy.version = params.version;
        self.applied += 1;
        copy.changed = self.applied;
        Ok(DocumentVersion { uri, version: copy.version, bytes: copy.buffer.byte_len() as u64 })
    }

    pub fn close(&mut self, client: ClientId, uri: &str) -> Result<CloseReply, DocumentError> {
        let doc = self.open.get_mut(uri).ok_or_else(|| DocumentError::NotOpen { uri: uri.to_owned() })?;
        doc.copies.remove(&client);
        let still_open = !doc.copies.is_empty();
        if !still_open {
            self.open.remove(uri);
        }
        Ok(CloseReply { uri: uri.to_owned(), still_open })
    }

    /// Releases everything `client` held; returns the documents that closed.
    pub fn release_client(&mut self, client: ClientId) -> Vec<String> {
        let mut closed = Vec::new();
        self.open.retain(|uri, doc| {
            doc.copies.remove(&client);
            let keep = !doc.copies.is_empty();
            if !keep {
                closed.push(uri.clone());
            }
            keep
        });
        closed.sort();
        closed
    }

    /// The most recently changed copy.
    pub fn get(&self, uri: &str) -> Option<Document> {
        let doc = self.open.get(uri)?;
        let copy = doc.latest()?;
        Some(Document {
            uri: uri.to_owned(),
            language_id: doc.language_id.clone(),
            version: copy.version,
            text: copy.buffer.text().into_owned(),
        })
    }

    /// The most recently changed copy's buffer and version, without copying it.
    pub fn buffer(&self, uri: &str) -> Option<(&B, i32)> {
        let copy = self.open.get(uri)?.latest()?;
        Some((&copy.buffer, copy.version))
    }

    /// The most recently changed copy's buffer, to change how it is kept.
    pub fn buffer_mut(&mut self, uri: &str) -> Option<&mut B> {
        self.open.get_mut(uri)?.latest_mut().map(|copy| &mut copy.buffer)
    }

    /// Every open document's most recently changed copy, without copying it:
    /// `(uri, language_id, version, buffer)`, by URI.
    pub fn latest(&self) -> Vec<(&str, &str, i32, &B)> {
        let mut latest: Vec<_> = self
            .open
            .iter()
            .filter_map(|(uri, doc)| {
                let copy = doc.latest()?;
                Some((uri.as_str(), doc.language_id.as_str(), copy.version, &copy.buffer))
            })
            .collect();
        latest.sort_by_key(|(uri, ..)| *uri);
        latest
    }

    /// Every open document with its text, by URI.
    pub fn snapshot(&self) -> Vec<Document> {
        self.latest()
            .into_iter()
            .map(|(uri, language_id, version, buffer)| Document {
                uri: uri.to_owned(),
                language_id: language_id.to_owned(),
                version,
                text: buffer.text().into_owned(),
            })
            .collect()
    }

    pub fn list(&self) -> Vec<DocumentSummary> {
        let mut list: Vec<_> = self
            .open
            .iter()
            .filter_map(|(uri, doc)| {
                let copy = doc.latest()?;
                Some(DocumentSummary {
                    uri: uri.clone(),
                    language_id: doc.language_id.clone(),
                    version: copy.version,
                    bytes: copy.buffer.byte_len() as u64,
                    clients: doc.copies.len() as u32,
                })
            })
            .collect();
        list.sort_by(|a, b| a.uri.cmp(&b.uri));
        list
    }
}

pub fn apply_change<B: Buffer>(buffer: &mut B, change: &ContentChange) {
    match change.range {
        None => buffer.replace(change.text.clone()),
        Some(range) => {
            let text = buffer.text();
            let (start, end) = match locate(&text, 0, 0, range.start) {
                // The end's line is looked for from the start's.
                Some((start, line_start)) => {
                    (start, locate(&text, line_start, range.start.line, range.end).map_or(text.len(), |(end, _)| end))
                }
                None => (text.len(), text.len()),
            };
            let end = end.max(start);
            drop(text);
            buffer.edit(start, end, &change.text);
        }
    }
}

/// Applies LSP edits (UTF-16 positions) to `text` as an editor applies a
/// workspace edit (every range of the text as it is; a position past the end
/// is the end); `None` if two overlap.
pub fn apply_edits(text: &str, edits: &[&protocol::agents::TextEdit]) -> Option<String> {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            let start = byte_offset(text, e.range.start);
            let end = byte_offset(text, e.range.end).max(start);
            (start, end, e.new_text.as_str())
        })
        .collect();
    spans.sort_by_key(|&(start, end, _)| (start, end));
    if spans.windows(2).any(|pair| pair[0].1 > pair[1].0) {
        return None;
    }
    let mut out = text.to_owned();
    for (start, end, new_text) in spans.into_iter().rev() {
        out.replace_range(start..end, new_text);
    }
    Some(out)
}

/// The byte offset of an LSP position (UTF-16 columns). As LSP prescribes, a
/// column past the end of its line means the end of the line, and a line past the
/// end of the text means the end of the text. A column inside a surrogate pair
/// rounds to the character's start.
pub fn byte_offset(text: &str, position: Position) -> usize {
    locate(text, 0, 0, position).map_or(text.len(), |(offset, _)| offset)
}

/// [`byte_offset`] with the start of the position's line, looking from
/// `from`, the start of line `line` (`line <= position.line`); `None` for a
/// line past the end of the text.
fn locate(text: &str, from: usize, line: u32, position: Position) -> Option<(usize, usize)> {
    let line_start = line_start(text.as_bytes(), from, line, position.line)?;
    let line_end = memchr::memchr(b'\n', &text.as_bytes()[line_start..]).map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut units = 0u32;
    for (offset, ch) in line.char_indices() {
        let next = units + ch.len_utf16() as u32;
        if next > position.character {
            return Some((line_start + offset, line_start));
        }
        units = next;
    }
    Some((line_start + line.len(), line_start))
}

/// Where line `target` starts, looking from `at`, the start of line `line`;
/// `None` if the text ends first. Whole blocks with fewer line ends than are
/// left to pass are counted, not searched one line end at a time (an edit
/// far down a file was a search per line above it, on the documents thread).
fn line_start(bytes: &[u8], mut at: usize, mut line: u32, target: u32) -> Option<usize> {
    const BLOCK: usize = 256;
    while line < target {
        let left = (target - line) as usize;
        if let Some(block) = bytes.get(at..at + BLOCK) {
            let ends = block.iter().filter(|&&b| b == b'\n').count();
            if ends < left {
                (at, line) = (at + BLOCK, line + ends as u32);
                continue;
            }
        }
        at += memchr::memchr(b'\n', &bytes[at..])? + 1;
        line += 1;
    }
    Some(at)
}

/// Byte columns to UTF-16 columns.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The LSP position of a byte offset (one inside a character counts as
    /// that character's start).
    pub(crate) fn position(&self, byte: usize) -> Position {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= byte).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = self.text.get(start..byte).map_or(0, |s| s.encode_utf16().count() as u32);
        Position { line: line as u32, character }
    }

    /// A line and byte column (tree-sitter's) as an LSP position.
    pub(crate) fn lsp(&self, pos: context::symbols::Pos) -> Position {
        let start = self.starts.get(pos.line as usize).copied().unwrap_or(self.text.len());
        // Never past the line's end (its newline excluded), as LSP reads it.
        let line_end = self.starts.get(pos.line as usize + 1).map_or(self.text.len(), |next| next - 1);
        let mut end = (start + pos.column as usize).min(line_end.max(start));
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let character = self.text.get(start..end).map_or(pos.column, |s| s.encode_utf16().count() as u32);
        Position { line: pos.line, character }
    }
}

/// A change of the whole text from `old` to `new`, as the one ranged edit it
/// makes: what lies between their common start and common end. `None` when
/// the edit would be most of the text (then the whole text is as cheap and
/// lets later changes supersede it).
///
/// Editors that sync whole texts send a file's every byte on each keystroke;
/// as an edit, the daemon's cost is the edit's (a splice and an incremental
/// re-parse), not the document's (a copy and a parse from scratch).
pub fn as_edit(old: &str, new: &str) -> Option<ContentChange> {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut start = common_prefix(a, b);
    // On a char boundary in both (the bytes before are the same), and not
    // between a CR and its LF (a position cannot name that place).
    while !old.is_char_boundary(start)
        || !new.is_char_boundary(start)
        || (start > 0 && a[start - 1] == b'\r' && a.get(start).is_none_or(|&byte| byte == b'\n'))
    {
        start -= 1;
    }
    let same_end = common_suffix(&a[start..], &b[start..]);
    let (mut old_end, mut new_end) = (a.len() - same_end, b.len() - same_end);
    while !old.is_char_boundary(old_end)
        || !new.is_char_boundary(new_end)
        || (old_end > 0 && a[old_end - 1] == b'\r' && a.get(old_end) == Some(&b'\n'))
    {
        (old_end, new_end) = (old_end + 1, new_end + 1);
    }
    if 2 * (new_end - start) > new.len().max(1) || 2 * (old_end - start) > old.len().max(1) {
        return None;
    }
    // Lines are counted up to the edit and through it, not indexed: the
    // proxy does this per keystroke of an editor syncing whole texts.
    let (start_line, start_line_start) =
        (newlines(&a[..start]), memchr::memrchr(b'\n', &a[..start]).map_or(0, |i| i + 1));
    let end_line = start_line + newlines(&a[start..old_end]);
    let end_line_start = memchr::memrchr(b'\n', &a[start..old_end]).map_or(start_line_start, |i| start + i + 1);
    let column = |line_start: usize, at: usize| old[line_start..at].encode_utf16().count() as u32;
    let range = protocol::documents::Range {
        start: Position { line: start_line, character: column(start_line_start, start) },
        end: Position { line: end_line, character: column(end_line_start, old_end) },
    };
    // What the daemon will make of the range must be exactly these bytes
    // (a CR ending the text, say, is no place a position can name).
    let at =
        |line_start: usize, line: u32, position: Position| locate(old, line_start, line, position).map(|(at, _)| at);
    if at(start_line_start, start_line, range.start) != Some(start)
        || at(end_line_start, end_line, range.end) != Some(old_end)
    {
        return None;
    }
    Some(ContentChange { range: Some(range), text: new[start..new_end].to_owned() })
}

/// How many line ends `bytes` has (a count the compiler vectorises).
fn newlines(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u32
}

/// How many bytes `a` and `b` start with in common (compared a block at a time).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let len = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= len && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..len].iter().zip(&b[at..len]).take_while(|(x, y)| x == y).count()
}

/// How many bytes `a` and `b` end with in common.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut same = 0;
    while same + BLOCK <= len && a[len - same - BLOCK..len - same] == b[len - same - BLOCK..len - same] {
        same += BLOCK;
    }
    same + a[..len - same].iter().rev().zip(b[..len - same].iter().rev()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::documents::Range;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    fn edit(start: (u32, u32), end: (u32, u32), text: &str) -> ContentChange {
        ContentChange { range: Some(Range { start: pos(start.0, start.1), end: pos(end.0, end.1) }), text: text.into() }
    }

    fn open(docs: &mut Documents<String>, client: ClientId, text: &str) {
        docs.open(
            client,
            OpenParams { uri: "file:///a.rs".into(), language_id: "rust".into(), version: 1, text: text.into() },
        );
    }

    #[test]
    fn utf16_columns_map_to_bytes() {
        let text = "aé😀b\r\nxyz";
        assert_eq!(byte_offset(text, pos(0, 0)), 0);
        assert_eq!(byte_offset(text, pos(0, 2)), 3); // after "aé"
        assert_eq!(byte_offset(text, pos(0, 3)), 3); // inside the surrogate pair
        assert_eq!(byte_offset(text, pos(0, 4)), 7); // after the emoji
        assert_eq!(byte_offset(text, pos(0, 99)), 8); // clamped before \r\n
        assert_eq!(byte_offset(text, pos(1, 1)), 11);
        assert_eq!(byte_offset(text, pos(7, 0)), text.len());
    }

    #[test]
    fn incremental_changes_apply_in_order_and_versions_must_increase() {
        let mut docs = Documents::<String>::default();
        open(&mut docs, 1, "fn main() {}\n");
        let changes = vec![edit((0, 11), (0, 11), "\n    let x = 1;\n"), edit((0, 3), (0, 7), "start")];
        docs.change(1, ChangeParams { uri: "file:///a.rs".into(), version: 2, changes }).expect("change");
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "fn start() {\n    let x = 1;\n}\n");

        let stale = docs.change(1, ChangeParams { uri: "file:///a.rs".into(), version: 2, changes: vec![] });
        assert_eq!(stale, Err(DocumentError::VersionNotNewer { uri: "file:///a.rs".into(), current: 2, got: 2 }));
        let backwards = vec![edit((0, 5), (0, 1), "x")];
        assert!(docs.change(1, ChangeParams { uri: "file:///a.rs".into(), version: 3, changes: backwards }).is_err());
        assert_eq!(docs.get("file:///a.rs").expect("open").version, 2, "failed change leaves the document as it was");
    }

    #[test]
    fn each_client_edits_its_own_copy_and_readers_see_the_latest() {
        let mut docs = Documents::<String>::default();
        open(&mut docs, 1, "shared\n");
        open(&mut docs, 2, "shared\n");
        docs.change(
            1,
            ChangeParams { uri: "file:///a.rs".into(), version: 2, changes: vec![edit((0, 0), (0, 0), "one ")] },
        )
        .expect("client 1");
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "one shared\n");
        // Client 2's versions are its own: its version 2 is not stale.
        docs.change(
            2,
            ChangeParams { uri: "file:///a.rs".into(), version: 2, changes: vec![edit((0, 6), (0, 6), "!")] },
        )
        .expect("client 2");
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "shared!\n");
        assert!(docs.close(2, "file:///a.rs").expect("close").still_open);
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "one shared\n");
        let not_theirs = docs.change(3, ChangeParams { uri: "file:///a.rs".into(), version: 9, changes: vec![] });
        assert!(matches!(not_theirs, Err(DocumentError::NotOpen { .. })));
    }

    #[test]
    fn when_the_latest_copy_goes_readers_see_the_one_changed_most_recently_not_the_newest_client() {
        let mut docs = Documents::<String>::default();
        for client in 1..=3 {
            open(&mut docs, client, "x\n");
        }
        let set = |docs: &mut Documents<String>, client, text: &str| {
            let changes = vec![ContentChange { range: None, text: text.into() }];
            docs.change(client, ChangeParams { uri: "file:///a.rs".into(), version: 2, changes }).expect("change");
        };
        set(&mut docs, 2, "two\n");
        set(&mut docs, 1, "one\n");
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "one\n");
        // Client 3 is the newest but never changed its copy; client 2's edit is the latest left.
        assert_eq!(docs.release_client(1), Vec::<String>::new());
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "two\n");
        assert!(docs.close(2, "file:///a.rs").expect("close").still_open);
        assert_eq!(docs.get("file:///a.rs").expect("open").text, "x\n");
    }

    #[test]
    fn documents_live_while_any_client_holds_them() {
        let mut docs = Documents::<String>::default();
        open(&mut docs, 1, "x");
        open(&mut docs, 2, "x");
        assert_eq!(docs.list()[0].clients, 2);
        assert!(docs.close(1, "file:///a.rs").expect("close").still_open);
        assert_eq!(docs.release_client(2), vec!["file:///a.rs".to_owned()]);
        assert!(docs.is_empty());
    }

    /// A whole-text change as an edit gives the new text exactly, whatever
    /// the texts: CRLF line ends, characters of two, three and four bytes
    /// (two UTF-16 units), edits at the start, the end, across lines.
    #[test]
    fn a_whole_text_change_as_an_edit_gives_the_new_text() {
        const PIECES: [&str; 8] = ["a", "\n", "\r\n", "\r", "é", "€", "😀", "fn x() {}\n"];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut edits, mut whole) = (0, 0);
        for _ in 0..20_000 {
            let old: String = (0..next(40)).map(|_| PIECES[next(PIECES.len())]).collect();
            // An edit: some pieces replaced by others at a random place.
            let cut = (0..=next(old.len() + 1)).rev().find(|&i| old.is_char_boundary(i)).unwrap_or(0);
            let end = (cut..=old.len()).find(|&i| i >= cut + next(4) && old.is_char_boundary(i)).unwrap_or(old.len());
            let inserted: String = (0..next(4)).map(|_| PIECES[next(PIECES.len())]).collect();
            let new = format!("{}{inserted}{}", &old[..cut], &old[end..]);
            match as_edit(&old, &new) {
                Some(edit) => {
                    edits += 1;
                    let mut buffer = old.clone();
                    apply_change(&mut buffer, &edit);
                    assert_eq!(buffer, new, "{old:?} → {new:?} as {edit:?}");
                    // At most a CR before and an LF after what changed.
                    assert!(edit.text.len() <= inserted.len() + 2, "the edit is no larger than what changed: {edit:?}");
                }
                None => whole += 1,
            }
        }
        assert!(edits > 10_000, "most small changes become edits ({edits} edits, {whole} whole)");
    }

    #[test]
    fn a_keystroke_in_a_large_text_is_a_small_edit() {
        let old = "fn main() {\r\n    let x = 1;\r\n}\r\n".repeat(1000);
        let mut new = old.clone();
        new.insert(old.len() / 2, '😀');
        let edit = as_edit(&old, &new).expect("an edit");
        assert_eq!(edit.text, "😀");
        let at = LineIndex::new(&old).position(old.len() / 2);
        assert_eq!(edit.range, Some(protocol::documents::Range { start: at, end: at }));
        // Replaced wholesale: the whole text.
        assert_eq!(as_edit(&old, "something else"), None);
    }

    /// Positions far down a long text (lines found a block at a time) land
    /// where a search line by line puts them: lines of every length, CRLF,
    /// columns past a line's end, lines past the text's end; and a range's end
    /// looked for from its start's line lands where it would from the top.
    #[test]
    fn positions_far_down_a_long_text_land_where_a_line_by_line_search_does() {
        fn line_by_line(text: &str, position: Position) -> usize {
            let mut line_start = 0;
            for _ in 0..position.line {
                match text[line_start..].find('\n') {
                    Some(i) => line_start += i + 1,
                    None => return text.len(),
                }
            }
            let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
            let line = &text[line_start..line_end];
            let line = line.strip_suffix('\r').unwrap_or(line);
            let mut units = 0u32;
            for (offset, ch) in line.char_indices() {
                let next = units + ch.len_utf16() as u32;
                if next > position.character {
                    return line_start + offset;
                }
                units = next;
            }
            line_start + line.len()
        }
        let text: String = (0..3000)
            .map(|i| match i % 7 {
                0 => String::new(),
                1 => "x".repeat(i % 300) + "\r",
                2 => "é😀".repeat(i % 40),
                _ => "a".repeat(i % 90),
            } + "\n")
            .collect();
        let lines = text.lines().count() as u32;
        for line in (0..lines + 3).step_by(19) {
            for character in [0, 1, 5, 89, 400] {
                let start = pos(line, character);
                assert_eq!(byte_offset(&text, start), line_by_line(&text, start), "{start:?}");
                let end = pos(line + line % 300, character / 2);
                let mut buffer = text.clone();
                apply_change(
                    &mut buffer,
                    &ContentChange { range: Some(protocol::documents::Range { start, end }), text: "Z".into() },
                );
                let (from, to) = (line_by_line(&text, start), line_by_line(&text, end));
                assert_eq!(buffer, format!("{}Z{}", &text[..from], &text[to.max(from)..]), "{start:?}..{end:?}");
            }
        }
    }
}
