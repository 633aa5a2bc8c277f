//! How large a request to the daemon would be, counted before it is sent: a
//! request over the daemon's limit would cost the connection, not just itself.

use std::borrow::Cow;

use protocol::documents::ChangeParams;

/// Room for the JSON-RPC envelope around a request's parameters, a language id
/// included (see [`MAX_LANGUAGE_ID_BYTES`]).
pub(super) const ENVELOPE_BYTES: usize = 512;

/// Language ids are short names (`rust`, `typescriptreact`); a longer one is
/// not passed on.
pub(super) const MAX_LANGUAGE_ID_BYTES: usize = 64;

/// The size of the `documents/open` request for `text`, give or take the envelope.
pub(super) fn open_request_bytes(uri: &str, text: &str) -> usize {
    ENVELOPE_BYTES + json_string_bytes(uri) + json_string_bytes(text)
}

/// The size of the `documents/open` request for a text of `len` bytes (give
/// or take the envelope) if it is over `limit`. Counted (and the text read)
/// only when it could be: a keystroke in a large document does not rescan it.
pub(super) fn over_limit<'a>(
    uri: &str,
    len: usize,
    text: impl FnOnce() -> Cow<'a, str>,
    limit: usize,
) -> Option<usize> {
    // No character takes more than six bytes escaped.
    if ENVELOPE_BYTES + 6 * (uri.len() + len + 4) <= limit {
        return None;
    }
    Some(open_request_bytes(uri, &text())).filter(|bytes| *bytes > limit)
}

pub(super) fn change_request_bytes(params: &ChangeParams) -> usize {
    let changes: usize = params.changes.iter().map(|c| ENVELOPE_BYTES + json_string_bytes(&c.text)).sum();
    ENVELOPE_BYTES + json_string_bytes(&params.uri) + changes
}

/// The length of `text` as a JSON string, escapes included (as serde_json writes it).
fn json_string_bytes(text: &str) -> usize {
    // Without branches, a block at a time (at most 5 extra bytes each, so a
    // block's sum fits a `u32`): the compiler vectorises it. Counted for every
    // document opened; a `match` per byte was a tenth of the proxy's CPU in
    // the editor bench's burst (measured).
    let extra: usize = text
        .as_bytes()
        .chunks(1 << 16)
        .map(|block| block.iter().map(|&b| u32::from(escape_extra(b))).sum::<u32>() as usize)
        .sum();
    2 + text.len() + extra
}

/// The bytes serde_json writes for `b` beyond the one: `\"`, `\\`, the short
/// escapes of control characters, `\u00XX` for the others.
fn escape_extra(b: u8) -> u8 {
    let quote = u8::from(b == b'"') | u8::from(b == b'\\');
    let short =
        u8::from(b == b'\n') | u8::from(b == b'\r') | u8::from(b == b'\t') | u8::from(b == 0x08) | u8::from(b == 0x0c);
    quote + u8::from(b < 0x20) * (5 - 4 * short)
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_sizes_count_json_escapes() {
        assert_eq!(super::json_string_bytes("a\"\\\n\u{1}é"), 2 + 1 + 2 + 2 + 2 + 6 + 2);
        // Against what serde_json writes, for every byte value a string can hold.
        let every: String = (0..=0x7f_u8).map(char::from).chain("é😀\u{7f}\u{2028}".chars()).collect();
        for text in [every.clone(), every.repeat(700)] {
            assert_eq!(super::json_string_bytes(&text), serde_json::to_string(&text).expect("json").len());
        }
        let text = "\"".repeat(1000);
        let read = || std::borrow::Cow::Borrowed(text.as_str());
        assert_eq!(super::over_limit("file:///a", text.len(), read, 1_000_000), None);
        let bytes = super::over_limit("file:///a", text.len(), read, 2000).expect("over");
        assert_eq!(bytes, super::ENVELOPE_BYTES + 11 + 2002);
    }
}
