//! Where indexing time goes, per language: read, parse, and index analysis.
//! `cargo run --release -p context --example profile_index -- <dir>`

use std::{
    collections::BTreeMap,
    path::Path,
    time::{Duration, Instant},
};

use context::{Language, SyntaxDocument, index::FileEntry};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: profile_index <dir>");
    let mut files = Vec::new();
    collect(Path::new(&dir), &mut files);
    let mut rows: BTreeMap<&'static str, (u64, u64, Duration, Duration, Duration)> = BTreeMap::new();
    for path in &files {
        let name = path.to_string_lossy();
        let language = Language::from_path(&name);
        if language == Language::PlainText {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if text.len() > 2 * 1024 * 1024 {
            continue;
        }
        let started = Instant::now();
        let doc = SyntaxDocument::new(language, text);
        let parsed = started.elapsed();
        let started = Instant::now();
        let entry = FileEntry::from_document(&doc);
        let analysed = started.elapsed();
        let started = Instant::now();
        let shallow = FileEntry::shallow(language, doc.text());
        let scanned = started.elapsed();
        let row = rows.entry(language.name()).or_default();
        row.0 += 1;
        row.1 += doc.text().len() as u64;
        row.2 += parsed;
        row.3 += analysed;
        row.4 += scanned;
        std::hint::black_box((entry, shallow));
    }
    println!("| language | files | MB | parse MB/s | analyse MB/s | shallow scan MB/s |");
    for (language, (n, bytes, parse, analyse, scan)) in rows {
        let mb = bytes as f64 / 1e6;
        println!(
            "| {language} | {n} | {mb:.1} | {:.1} | {:.1} | {:.1} |",
            mb / parse.as_secs_f64(),
            mb / analyse.as_secs_f64(),
            mb / scan.as_secs_f64()
        );
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            collect(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}
