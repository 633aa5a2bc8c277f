//! Agent packages (`.tgz` from a registry, `paired market install`):
//! `daemon::services::market::archive::unpack` into a fresh folder, with the limits the
//! daemon uses.
//!
//! An input starting with the gzip magic is the package as is; anything else
//! is taken as the tar stream and gzipped first, so the fuzzer reaches tar
//! headers without having to get gzip's checksum right.
//!
//! Invariants: whatever the archive, nothing is written outside the folder;
//! there are only plain files and folders in it (no links, no devices); each
//! path returned is relative and exists; on error the folder is gone; what was
//! unpacked packs and unpacks again to the same files.
#![no_main]

use std::{
    io::Write,
    path::{Component, Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use daemon::services::market::archive::{self, Limits};
use libfuzzer_sys::fuzz_target;

fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry")).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = std::fs::symlink_metadata(&path).expect("metadata").file_type();
        let rel = path.strip_prefix(root).expect("inside").to_path_buf();
        if kind.is_dir() {
            out.push((rel, None));
            walk(&path, root, out);
        } else {
            assert!(kind.is_file(), "{} is neither a file nor a folder", path.display());
            out.push((rel, Some(std::fs::read(&path).expect("read"))));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(&[0x1f, 0x8b]) {
        data.to_vec()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).expect("gzip");
        gz.finish().expect("gzip")
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let parent = paired_fuzz::scratch().join(format!("archive-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir(&parent).expect("mkdir");
    // A sibling the archive must never reach.
    std::fs::write(parent.join("outside"), b"untouched").expect("write");
    let dest = parent.join("staging");
    let result = archive::unpack(&bytes, &dest, Limits::default());
    let mut siblings: Vec<_> = std::fs::read_dir(&parent).expect("read_dir").map(|e| e.expect("entry").file_name()).collect();
    siblings.sort();
    match &result {
        Ok(paths) => {
            assert_eq!(siblings, ["outside", "staging"], "something was written beside the folder");
            for rel in paths {
                assert!(rel.components().all(|c| matches!(c, Component::Normal(_))), "{}", rel.display());
                assert!(std::fs::symlink_metadata(dest.join(rel)).is_ok(), "{} was not written", rel.display());
            }
            let mut files = Vec::new();
            walk(&dest, &dest, &mut files);
            // Packed again (reproducibly), it unpacks to the same files.
            let packed = archive::pack(&dest).expect("what was unpacked packs");
            let again = parent.join("again");
            archive::unpack(&packed, &again, Limits::default()).expect("a packed folder unpacks");
            let mut files_again = Vec::new();
            walk(&again, &again, &mut files_again);
            let visible = |f: &&(PathBuf, Option<Vec<u8>>)| !f.0.to_string_lossy().starts_with('.');
            let files: Vec<_> = files.iter().filter(visible).collect();
            let files_again: Vec<_> = files_again.iter().filter(visible).collect();
            assert_eq!(files, files_again, "pack and unpack changed the package");
        }
        Err(_) => {
            assert_eq!(siblings, ["outside"], "a refused archive left something behind");
        }
    }
    assert_eq!(std::fs::read(parent.join("outside")).expect("read"), b"untouched");
    std::fs::remove_dir_all(&parent).expect("cleanup");
});
