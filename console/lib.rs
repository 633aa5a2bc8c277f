//! The web console's front-end as the binaries carry it: the files of `dist/`
//! (built from `src/` by `npm run build`, committed, so building the binaries
//! needs no Node.js) and the headers every console reply carries, the same on
//! the daemon and the hub.

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "dist/"]
struct Dist;

/// No inline script, nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers of every reply under `/console/`.
pub const HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// The values of every cookie called `name` in a request's `Cookie` header
/// lines: all of them, since another page may set a bogus one beside the
/// real one (a session is whichever of them is valid).
pub fn cookies<'a>(headers: impl Iterator<Item = &'a str>, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers.flat_map(|line| line.split(';')).filter_map(move |pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The file at `path` under `/console/` (`""` is the page) and its media type.
pub fn asset(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
    let name = if path.is_empty() { "index.html" } else { path };
    let file = Dist::get(name)?;
    let kind = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
    Some((file.data, kind))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_cookie_of_the_name_is_found() {
        let lines = ["a=1; paired_console=bogus", "paired_console_x=2;  paired_console=real"];
        let found: Vec<&str> = super::cookies(lines.into_iter(), "paired_console").collect();
        assert_eq!(found, ["bogus", "real"]);
    }

    #[test]
    fn the_page_and_its_script_are_embedded() {
        let (page, kind) = super::asset("").expect("index.html");
        assert_eq!(kind, "text/html; charset=utf-8");
        assert!(String::from_utf8_lossy(&page).contains("<script type=\"module\" src=\"app.js\">"));
        assert!(super::asset("app.js").is_some() && super::asset("app.css").is_some());
        assert!(super::asset("../Cargo.toml").is_none() && super::asset("src/main.ts").is_none());
    }
}
