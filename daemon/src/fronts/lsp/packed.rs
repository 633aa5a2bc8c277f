//! The mirror's texts, kept LZ4-compressed while the editor is not typing in
//! them. The mirror holds every open document only to replay it to a restarted
//! daemon, so a text is read rarely; compressed, a project's source takes about
//! a third of the memory in the process each editor window runs (#18.2). The
//! document being edited stays plain: a keystroke costs no compression.

use std::borrow::Cow;

use crate::services::documents::Buffer;

/// Texts smaller than this stay plain: not worth a compression.
const MIN_PACKED_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub(super) enum Packed {
    Plain(String),
    Lz4 { bytes: Box<[u8]>, len: usize },
}

impl Packed {
    /// Compresses the text, if that makes it smaller.
    pub(super) fn pack(&mut self) {
        let Packed::Plain(text) = self else { return };
        if text.len() < MIN_PACKED_BYTES {
            return;
        }
        let bytes = lz4_flex::block::compress(text.as_bytes());
        if bytes.len() < text.len() {
            // Copied to an allocation of its size: shrinking the compressor's
            // (as large as the text) in place left a hole after each text,
            // and the mirror took twice the memory its texts need (measured).
            *self = Packed::Lz4 { bytes: Box::from(bytes.as_slice()), len: text.len() };
        }
    }

    /// Keeps the text plain, to be edited.
    pub(super) fn unpack(&mut self) {
        if let Packed::Lz4 { .. } = self {
            *self = Packed::Plain(self.text().into_owned());
        }
    }

    #[cfg(test)]
    pub(super) fn is_packed(&self) -> bool {
        matches!(self, Packed::Lz4 { .. })
    }
}

impl Buffer for Packed {
    fn create(_: &str, _: &str, text: String) -> Self {
        Packed::Plain(text)
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Packed::Plain(text) => Cow::Borrowed(text),
            Packed::Lz4 { bytes, len } => Cow::Owned(unpacked(bytes, *len)),
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            Packed::Plain(text) => text.len(),
            Packed::Lz4 { len, .. } => *len,
        }
    }

    fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        self.unpack();
        if let Packed::Plain(text) = self {
            text.replace_range(start..end, new_text);
        }
    }

    fn replace(&mut self, text: String) {
        *self = Packed::Plain(text);
    }
}

/// What [`Packed::pack`] compressed. It wrote both, so neither step can fail;
/// if one ever did, the document would replay empty rather than take the
/// proxy down, and the log says so.
fn unpacked(bytes: &[u8], len: usize) -> String {
    let raw = lz4_flex::block::decompress(bytes, len).unwrap_or_else(|err| {
        tracing::error!("a document in the mirror could not be decompressed: {err}");
        Vec::new()
    });
    String::from_utf8(raw).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: usize) -> String {
        let mut text = String::new();
        let mut i = 0;
        while text.len() < bytes {
            text.push_str(&format!("fn item_{i}(x: u32) -> u32 {{ x * {i} + \"é😀\".len() as u32 }}\n"));
            i += 1;
        }
        text
    }

    #[test]
    fn a_packed_text_reads_back_the_same_and_is_smaller() {
        let text = source(20_000);
        let mut buffer = Packed::create("rust", "file:///a.rs", text.clone());
        buffer.pack();
        let Packed::Lz4 { bytes, len } = &buffer else { panic!("packed: {buffer:?}") };
        assert_eq!(*len, text.len());
        assert!(bytes.len() * 3 < text.len(), "{} of {}", bytes.len(), text.len());
        assert_eq!(buffer.text(), text);
        assert_eq!(buffer.byte_len(), text.len());
    }

    #[test]
    fn small_or_incompressible_texts_stay_plain_and_edits_unpack() {
        let mut small = Packed::create("rust", "u", "fn a() {}\n".to_owned());
        small.pack();
        assert!(!small.is_packed());
        // No repeats to find: LZ4 would make it larger.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let noise: String = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'0' + (state >> 58) as u8)
            })
            .collect();
        let mut random = Packed::create("rust", "u", noise.clone());
        random.pack();
        assert!(!random.is_packed(), "LZ4 would make it larger");
        assert_eq!(random.text(), noise);

        let text = source(5000);
        let mut buffer = Packed::create("rust", "u", text.clone());
        buffer.pack();
        assert!(buffer.is_packed());
        buffer.edit(3, 7, "ITEM");
        assert!(!buffer.is_packed(), "the document being edited is plain");
        assert_eq!(buffer.text(), format!("fn ITEM{}", &text[7..]));
        buffer.replace("new".into());
        assert_eq!(buffer.text(), "new");
    }
}
