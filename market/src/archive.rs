//! Agent packages as `.tgz` archives: packed reproducibly (the same folder
//! gives the same bytes, so a package's hash means something), unpacked
//! defensively (only plain files and folders, only below the destination,
//! with caps on entries and sizes that a gzip bomb cannot get past).

use std::{
    io::{self, Read},
    path::{Component, Path, PathBuf},
};

use flate2::{Compression, GzBuilder, read::GzDecoder};

/// What an unpacked package may amount to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_entries: 2_000, max_file_bytes: 8 << 20, max_total_bytes: 32 << 20 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}: symbolic links, hard links and special files are not allowed in agent packages")]
    NotAFileOrFolder(String),
    #[error("{0}: paths in a package must stay inside it (no `..`, no absolute paths)")]
    EscapingPath(String),
    #[error("{0}: not valid UTF-8")]
    BadName(String),
    #[error("more than {0} entries: not an agent package")]
    TooManyEntries(usize),
    #[error("{path}: larger than {limit} bytes")]
    FileTooLarge { path: String, limit: u64 },
    #[error("unpacks to more than {0} bytes (a decompression bomb?)")]
    TooLarge(u64),
    #[error("truncated archive: unexpected end of the gzip stream ({0})")]
    Truncated(io::Error),
    #[error("{0}: appears twice")]
    Duplicate(String),
    #[error("cannot pack {path}: {source}")]
    Pack { path: String, source: io::Error },
    #[error("not a valid .tgz package: {0}")]
    Corrupt(io::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
}

/// Packs `dir` into a gzip'd tar: files sorted by path, owner, group and times
/// zeroed, modes reduced to 0644/0755. Symbolic links are refused; `.git` and
/// other hidden top-level entries are left out.
pub fn pack(dir: &Path) -> Result<Vec<u8>, ArchiveError> {
    let mut files = Vec::new();
    collect(dir, Path::new(""), &mut files)?;
    files.sort();
    let gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    for rel in files {
        let path = dir.join(&rel);
        let pack_err = |source| ArchiveError::Pack { path: path.display().to_string(), source };
        let meta = std::fs::symlink_metadata(&path).map_err(pack_err)?;
        let mut header = tar::Header::new_ustar();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder.append_data(&mut header, &rel, io::empty()).map_err(pack_err)?;
        } else {
            let executable = crate::fs::mode(&meta) & 0o111 != 0;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            let file = std::fs::File::open(&path).map_err(pack_err)?;
            builder.append_data(&mut header, &rel, file).map_err(pack_err)?;
        }
    }
    let gz = builder.into_inner().map_err(|source| ArchiveError::Pack { path: dir.display().to_string(), source })?;
    gz.finish().map_err(|source| ArchiveError::Pack { path: dir.display().to_string(), source })
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), ArchiveError> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|source| ArchiveError::Pack { path: dir.display().to_string(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| ArchiveError::Pack { path: dir.display().to_string(), source })?;
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else {
            return Err(ArchiveError::BadName(entry.path().display().to_string()));
        };
        if rel.as_os_str().is_empty() && name_str.starts_with('.') {
            continue;
        }
        let child = rel.join(&name);
        let kind =
            entry.file_type().map_err(|source| ArchiveError::Pack { path: child.display().to_string(), source })?;
        if kind.is_dir() {
            out.push(child.clone());
            collect(root, &child, out)?;
        } else if kind.is_file() {
            out.push(child);
        } else {
            return Err(ArchiveError::NotAFileOrFolder(child.display().to_string()));
        }
    }
    Ok(())
}

/// Unpacks `bytes` into `dest`, which must not exist yet. On any error the
/// partly written `dest` is removed.
pub fn unpack(bytes: &[u8], dest: &Path, limits: Limits) -> Result<Vec<PathBuf>, ArchiveError> {
    let result = unpack_into(bytes, dest, limits);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

fn unpack_into(bytes: &[u8], dest: &Path, limits: Limits) -> Result<Vec<PathBuf>, ArchiveError> {
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| ArchiveError::Write { path, source }
    };
    std::fs::create_dir(dest).map_err(write_err(dest))?;
    // The decompressed stream itself is capped: tar headers and padding count
    // too, so a bomb of empty entries stops as surely as one big file.
    let cap = limits.max_total_bytes + (limits.max_entries as u64 + 2) * 1024;
    let inflated = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = Counted { inner: GzDecoder::new(bytes), count: inflated.clone() };
    let mut archive = tar::Archive::new(counted.take(cap + 1));
    // An early end is a bomb when the cap cut the stream, else a truncated archive.
    let corrupt_or_bomb = |err: io::Error| {
        if inflated.get() > cap {
            ArchiveError::TooLarge(cap)
        } else if err.kind() == io::ErrorKind::UnexpectedEof {
            ArchiveError::Truncated(err)
        } else {
            ArchiveError::Corrupt(err)
        }
    };
    let mut written: Vec<PathBuf> = Vec::new();
    let mut total = 0u64;
    for (count, entry) in archive.entries().map_err(ArchiveError::Corrupt)?.enumerate() {
        if count >= limits.max_entries {
            return Err(ArchiveError::TooManyEntries(limits.max_entries));
        }
        let mut entry = entry.map_err(corrupt_or_bomb)?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let name = std::str::from_utf8(&raw).map_err(|_| ArchiveError::BadName(shown.clone()))?;
        let rel = safe_relative(name).ok_or_else(|| ArchiveError::EscapingPath(shown.clone()))?;
        let target = dest.join(&rel);
        if written.contains(&rel) {
            return Err(ArchiveError::Duplicate(shown));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(write_err(&target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // The size tar will read (a PAX header may override the ustar one).
                let size = entry.size();
                if size > limits.max_file_bytes {
                    return Err(ArchiveError::FileTooLarge { path: shown, limit: limits.max_file_bytes });
                }
                total += size;
                if total > limits.max_total_bytes {
                    return Err(ArchiveError::TooLarge(limits.max_total_bytes));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(write_err(parent))?;
                }
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(write_err(&target))?;
                let copied = io::copy(&mut (&mut entry).take(size), &mut file).map_err(corrupt_or_bomb)?;
                if copied != size {
                    return Err(corrupt_or_bomb(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{shown}: {copied} of {size} bytes"),
                    )));
                }
                let mode = if executable { 0o755 } else { 0o644 };
                crate::fs::set_mode(&target, mode).map_err(write_err(&target))?;
            }
            _ => return Err(ArchiveError::NotAFileOrFolder(shown)),
        }
        written.push(rel);
    }
    // The entries ended: but if the cap cut the stream, the archive was
    // truncated, not complete.
    let mut rest = archive.into_inner();
    if rest.limit() == 0 {
        return Err(ArchiveError::TooLarge(cap));
    }
    // The rest of the stream, to its gzip trailer: a stream cut short there
    // (even right after the last complete tar block) is truncated.
    io::copy(&mut rest, &mut io::sink()).map_err(corrupt_or_bomb)?;
    if rest.limit() == 0 {
        return Err(ArchiveError::TooLarge(cap));
    }
    Ok(written)
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A relative path made only of plain components, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('\\') || name.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("agent.toml"), "id = \"x\"\n").expect("write");
        std::fs::create_dir(dir.path().join("tests")).expect("mkdir");
        std::fs::write(dir.path().join("tests/case.rs"), "fn main() {}\n").expect("write");
        std::fs::create_dir(dir.path().join(".git")).expect("mkdir");
        std::fs::write(dir.path().join(".git/HEAD"), "ref").expect("write");
        dir
    }

    /// A raw tar entry, bypassing the tar crate's own path checks.
    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            let bytes = header.as_old_mut();
            bytes.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(link) = link {
                bytes.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        io::Write::write_all(&mut gz, &out).expect("gzip");
        gz.finish().expect("gzip")
    }

    fn refused(bytes: &[u8], limits: Limits) -> ArchiveError {
        let dest = tempfile::tempdir().expect("tempdir");
        let target = dest.path().join("out");
        let err = unpack(bytes, &target, limits).expect_err("refused");
        assert!(!target.exists(), "nothing is left behind after {err}");
        err
    }

    #[test]
    fn packing_is_reproducible_and_round_trips() {
        let dir = folder();
        let first = pack(dir.path()).expect("pack");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let later = std::fs::read(dir.path().join("agent.toml")).expect("read");
        std::fs::write(dir.path().join("agent.toml"), later).expect("touch");
        assert_eq!(first, pack(dir.path()).expect("pack"), "same folder, same bytes");
        let dest = tempfile::tempdir().expect("tempdir");
        let files = unpack(&first, &dest.path().join("x"), Limits::default()).expect("unpack");
        assert_eq!(files, [PathBuf::from("agent.toml"), PathBuf::from("tests"), PathBuf::from("tests/case.rs")]);
        assert!(!dest.path().join("x/.git").exists(), "hidden top-level entries are not packed");
    }

    #[test]
    fn links_are_refused_when_packing() {
        let dir = folder();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("leak")).expect("symlink");
        assert!(matches!(pack(dir.path()), Err(ArchiveError::NotAFileOrFolder(p)) if p == "leak"));
    }

    #[test]
    fn hostile_entries_are_refused_and_nothing_is_left() {
        use tar::EntryType::{Block, Char, Fifo, Link, Regular, Symlink};
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (raw_tar(&[("../evil", Regular, b"x", None)]), "must stay inside"),
            (raw_tar(&[("a/../../evil", Regular, b"x", None)]), "must stay inside"),
            (raw_tar(&[("/etc/evil", Regular, b"x", None)]), "must stay inside"),
            (raw_tar(&[("link", Symlink, b"", Some("/etc/passwd"))]), "symbolic links"),
            (raw_tar(&[("hard", Link, b"", Some("agent.toml"))]), "symbolic links"),
            (raw_tar(&[("dev", Char, b"", None)]), "special files"),
            (raw_tar(&[("dev", Block, b"", None)]), "special files"),
            (raw_tar(&[("pipe", Fifo, b"", None)]), "special files"),
            (raw_tar(&[("a", Regular, b"1", None), ("a", Regular, b"2", None)]), "appears twice"),
            (b"definitely not gzip".to_vec(), "not a valid .tgz"),
        ];
        for (bytes, expected) in cases {
            let err = refused(&bytes, Limits::default());
            assert!(err.to_string().contains(expected), "{err} should say {expected}");
        }
    }

    #[test]
    fn bombs_and_floods_stop_at_the_caps() {
        let small = Limits { max_entries: 10, max_file_bytes: 1024, max_total_bytes: 4096 };
        let big = vec![0u8; 10_000];
        let err = refused(&raw_tar(&[("big", tar::EntryType::Regular, &big, None)]), small);
        assert!(matches!(err, ArchiveError::FileTooLarge { .. }), "{err}");
        let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
        let many: Vec<_> = names.iter().map(|n| (n.as_str(), tar::EntryType::Regular, &b"x"[..], None)).collect();
        assert!(matches!(refused(&raw_tar(&many), small), ArchiveError::TooManyEntries(10)));
        let kb = vec![7u8; 1000];
        let five: Vec<String> = (0..5).map(|i| format!("g{i}")).collect();
        let total: Vec<_> = five.iter().map(|n| (n.as_str(), tar::EntryType::Regular, &kb[..], None)).collect();
        assert!(matches!(refused(&raw_tar(&total), small), ArchiveError::TooLarge(4096)));
        // 64 MiB of zeros compress to ~64 KiB: refused long before it is all inflated.
        let zeros = vec![0u8; 64 << 20];
        let bomb = raw_tar(&[("zeros", tar::EntryType::Regular, &zeros, None)]);
        assert!(bomb.len() < 1 << 20);
        let err = refused(&bomb, Limits::default());
        assert!(matches!(err, ArchiveError::FileTooLarge { .. } | ArchiveError::TooLarge(_)), "{err}");
    }

    /// Issue #14: an archive cut short was reported as "a decompression bomb?".
    #[test]
    fn a_truncated_archive_says_so_and_a_bomb_still_says_bomb() {
        let dir = folder();
        let numbers: String = (0..40_000).map(|i| format!("{}\n", i * 7919 % 10007)).collect();
        std::fs::write(dir.path().join("data.txt"), numbers).expect("write");
        let bytes = pack(dir.path()).expect("pack");
        for cut in [10, bytes.len() / 4, bytes.len() / 2, bytes.len() - 9, bytes.len() - 4, bytes.len() - 1] {
            let err = refused(&bytes[..cut], Limits::default());
            assert!(
                err.to_string().starts_with("truncated archive: unexpected end of the gzip stream"),
                "cut at {cut} of {}: {err}",
                bytes.len()
            );
        }
        // A short tar followed by a flood of zeros: the stream cap stops it.
        let small = Limits { max_entries: 10, max_file_bytes: 1024, max_total_bytes: 4096 };
        let mut flood = raw_tar(&[("a", tar::EntryType::Regular, b"x", None)]);
        let mut tar = Vec::new();
        io::Read::read_to_end(&mut GzDecoder::new(&flood[..]), &mut tar).expect("gunzip");
        tar.resize(tar.len() + (1 << 20), 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        io::Write::write_all(&mut gz, &tar).expect("gzip");
        flood = gz.finish().expect("gzip");
        let err = refused(&flood, small);
        assert!(err.to_string().contains("(a decompression bomb?)"), "{err}");
    }
}
