//! `file://` URIs and paths, both ways.

use std::path::{Path, PathBuf};

/// The path of a `file://` URI (percent-decoded), or of an absolute path given as is.
pub fn to_path(uri_or_path: &str) -> Option<PathBuf> {
    if uri_or_path.starts_with('/') {
        return Some(PathBuf::from(uri_or_path));
    }
    let rest = uri_or_path.strip_prefix("file://")?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

/// The `file://` URI of an absolute path, percent-encoding what URIs cannot hold.
pub fn from_path(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => uri.push(byte as char),
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for path in ["/home/u/my project/a.rs", "/tmp/é/x#y.py", "/a"] {
            let uri = from_path(Path::new(path));
            assert_eq!(to_path(&uri).as_deref(), Some(Path::new(path)), "{uri}");
        }
        assert_eq!(from_path(Path::new("/a b")), "file:///a%20b");
        assert_eq!(to_path("file://localhost/x").as_deref(), Some(Path::new("/x")));
        assert_eq!(to_path("/abs").as_deref(), Some(Path::new("/abs")));
        assert_eq!(to_path("untitled:1"), None);
    }
}
