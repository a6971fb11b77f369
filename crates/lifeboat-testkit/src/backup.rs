//! Backup sets on disk: a source folder whose child folders are recovery points, each holding
//! real objects and a manifest, plus the ways real backups go wrong.
//!
//! Everything panics on I/O errors, with the path in the message: this is fixture code, and
//! a fixture that cannot be written should stop the test on the spot.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{blake3_hex, prng, sha256_hex};

/// The manifest formats lifeboat reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `sha256sum` output, conventionally named `SHA256SUMS`.
    Sha256sum,
    /// `b3sum` output, conventionally named `B3SUMS`.
    B3sum,
}

impl Format {
    /// The conventional file name of a manifest in this format.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Sha256sum => "SHA256SUMS",
            Format::B3sum => "B3SUMS",
        }
    }

    /// The runbook's `manifest.format` value.
    pub fn runbook_name(self) -> &'static str {
        match self {
            Format::Sha256sum => "sha256sum",
            Format::B3sum => "b3sum",
        }
    }

    /// The evidence record's `algorithm` value.
    pub fn algorithm(self) -> &'static str {
        match self {
            Format::Sha256sum => "sha256",
            Format::B3sum => "blake3",
        }
    }

    pub fn digest_hex(self, bytes: &[u8]) -> String {
        match self {
            Format::Sha256sum => sha256_hex(bytes),
            Format::B3sum => blake3_hex(bytes),
        }
    }
}

/// One source folder (what a runbook's `file://` URL points at).
#[derive(Clone, Debug)]
pub struct BackupSet {
    root: PathBuf,
}

impl BackupSet {
    /// Creates `root` (and its parents) if needed. `root` should be absolute, as a `file://`
    /// URL needs it.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("create {}: {e}", root.display()));
        BackupSet { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `file://` + the absolute root path, for a runbook's `source.url`.
    pub fn url(&self) -> String {
        file_url(&self.root)
    }

    /// Starts a recovery point: creates `root/<id>/`.
    pub fn point(&self, id: &str) -> Point {
        let dir = self.root.join(id);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Point {
            id: id.to_owned(),
            dir,
            entries: Vec::new(),
            manifest: None,
            binary_marker: false,
        }
    }
}

/// `file://` URL of an absolute path. Refuses characters that would need percent-encoding,
/// so a test never depends on how lifeboat decodes them.
pub fn file_url(path: &Path) -> String {
    let s = path.to_str().expect("fixture paths are UTF-8");
    assert!(path.is_absolute(), "file URL of a relative path: {s}");
    assert!(
        !s.contains([' ', '%', '#', '?']),
        "fixture root would need percent-encoding: {s}"
    );
    format!("file://{s}")
}

/// An object the point holds and its manifest lists.
#[derive(Clone, Debug)]
pub struct Entry {
    /// `/`-separated, relative to the point, as the manifest names it.
    pub path: String,
    /// Length of the uncompressed bytes.
    pub len: u64,
    pub sha256: String,
    pub blake3: String,
    /// Stored as `PATH.zst`.
    pub zst: bool,
}

impl Entry {
    pub fn digest(&self, format: Format) -> &str {
        match format {
            Format::Sha256sum => &self.sha256,
            Format::B3sum => &self.blake3,
        }
    }
}

/// One recovery point being built. Builder methods (`file`, `zst_file`, `manifest`...) take
/// and return `self`; the corruption methods take `&self` and are meant for after the
/// manifest is written, so the manifest keeps describing the good bytes.
#[derive(Debug)]
pub struct Point {
    id: String,
    dir: PathBuf,
    entries: Vec<Entry>,
    manifest: Option<(PathBuf, Format)>,
    binary_marker: bool,
}

impl Point {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the object for a relative manifest path lives (without any `.zst`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The objects the manifest lists (or will list), in path order.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        v.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        v
    }

    /// The listed paths, in byte order.
    pub fn paths(&self) -> Vec<String> {
        self.entries().into_iter().map(|e| e.path.clone()).collect()
    }

    pub fn entry(&self, rel: &str) -> &Entry {
        self.entries
            .iter()
            .find(|e| e.path == rel)
            .unwrap_or_else(|| panic!("point {} has no entry {rel}", self.id))
    }

    /// Total uncompressed bytes of the listed objects.
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.len).sum()
    }

    /// A plain object, listed in the manifest.
    pub fn file(mut self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        let bytes = bytes.as_ref();
        write_file(&self.path(rel), bytes);
        self.record(rel, bytes, false);
        self
    }

    /// A plain object of `len` pseudo-random bytes from `seed`.
    pub fn random_file(self, rel: &str, len: usize, seed: u64) -> Self {
        self.file(rel, prng::random_bytes(len, seed))
    }

    /// A plain object of `len` bytes of generated text from `seed`.
    pub fn text_file(self, rel: &str, len: usize, seed: u64) -> Self {
        self.file(rel, prng::text_bytes(len, seed))
    }

    /// An object stored zstd-compressed as `PATH.zst`; the manifest lists `PATH` with the
    /// digest of the uncompressed bytes. The frame carries a content checksum, as the `zstd`
    /// CLI writes by default, so damage is caught by the decoder and not only by the hash.
    pub fn zst_file(mut self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        let bytes = bytes.as_ref();
        write_file(&zst_path(&self.path(rel)), &zstd_compress(bytes));
        self.record(rel, bytes, true);
        self
    }

    /// An object on disk that the manifest does not list (a stray file, a decoy, or a
    /// second copy such as both `PATH` and `PATH.zst`).
    pub fn unlisted(self, rel: &str, bytes: impl AsRef<[u8]>) -> Self {
        write_file(&self.path(rel), bytes.as_ref());
        self
    }

    /// Writes the next manifest with the `HEX *PATH` binary marker instead of `HEX  PATH`.
    pub fn binary_marker(mut self) -> Self {
        self.binary_marker = true;
        self
    }

    /// Writes `SHA256SUMS` or `B3SUMS` in the point, listing what was written so far in
    /// path order. With no files this writes an empty manifest.
    pub fn manifest(self, format: Format) -> Self {
        self.manifest_named(format, format.file_name())
    }

    /// Like [`Point::manifest`], under another relative name.
    pub fn manifest_named(mut self, format: Format, rel: &str) -> Self {
        let mut text = String::new();
        for e in self.entries() {
            text.push_str(&manifest_line(
                e.digest(format),
                &e.path,
                self.binary_marker,
            ));
            text.push('\n');
        }
        let path = self.path(rel);
        write_file(&path, text.as_bytes());
        self.manifest = Some((path, format));
        self
    }

    pub fn manifest_path(&self) -> &Path {
        &self.written_manifest().0
    }

    fn written_manifest(&self) -> &(PathBuf, Format) {
        self.manifest
            .as_ref()
            .unwrap_or_else(|| panic!("point {}: no manifest written yet", self.id))
    }

    fn record(&mut self, rel: &str, bytes: &[u8], zst: bool) {
        self.entries.retain(|e| e.path != rel);
        self.entries.push(Entry {
            path: rel.to_owned(),
            len: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            blake3: blake3_hex(bytes),
            zst,
        });
    }

    // --- corruption, after the manifest ---

    /// XORs one byte of the plain object `rel` with 0xFF.
    pub fn flip_byte(&self, rel: &str, offset: u64) -> &Self {
        let path = self.path(rel);
        let mut bytes = read(&path);
        let i = usize::try_from(offset).expect("offset fits usize");
        assert!(
            i < bytes.len(),
            "{}: offset {i} past the end",
            path.display()
        );
        bytes[i] ^= 0xFF;
        write_file(&path, &bytes);
        self
    }

    /// Cuts the plain object `rel` to `len` bytes.
    pub fn truncate(&self, rel: &str, len: u64) -> &Self {
        truncate_file(&self.path(rel), len);
        self
    }

    /// Deletes the object for `rel`, whether stored plain or as `.zst`.
    pub fn remove(&self, rel: &str) -> &Self {
        let plain = self.path(rel);
        let mut removed = false;
        for p in [zst_path(&plain), plain] {
            if p.exists() {
                fs::remove_file(&p).unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
                removed = true;
            }
        }
        assert!(removed, "point {}: no object for {rel}", self.id);
        self
    }

    /// Damages the compressed frame of `rel.zst`: inverts 16 bytes in its middle, past the
    /// frame header, so the decoder fails (block corruption or checksum mismatch).
    pub fn corrupt_zst(&self, rel: &str) -> &Self {
        let path = zst_path(&self.path(rel));
        let mut bytes = read(&path);
        assert!(bytes.len() > 64, "{}: too small to corrupt", path.display());
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 16] {
            *b ^= 0xFF;
        }
        write_file(&path, &bytes);
        self
    }

    /// Cuts `rel.zst` to half its length: an incomplete frame.
    pub fn truncate_zst(&self, rel: &str) -> &Self {
        let path = zst_path(&self.path(rel));
        let len = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
            .len();
        truncate_file(&path, len / 2);
        self
    }

    /// Appends one raw line (a newline is added) to the manifest: an unsafe path, a malformed
    /// line, an entry for an object that does not exist...
    pub fn append_manifest_line(&self, line: &str) -> &Self {
        let path = self.manifest_path();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        writeln!(f, "{line}").unwrap_or_else(|e| panic!("append {}: {e}", path.display()));
        self
    }

    /// A correctly formatted manifest line for `rel` with the digest of `bytes` in this
    /// point's manifest format, whether or not `rel` is a safe path.
    pub fn manifest_line_for(&self, rel: &str, bytes: &[u8]) -> String {
        let format = self.written_manifest().1;
        manifest_line(&format.digest_hex(bytes), rel, false)
    }

    /// Sets the manifest's last-modified time, for `recovery_points.time: modified`.
    pub fn set_manifest_mtime(&self, time: SystemTime) -> &Self {
        let path = self.manifest_path();
        let f = fs::File::options()
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        f.set_modified(time)
            .unwrap_or_else(|e| panic!("set mtime of {}: {e}", path.display()));
        self
    }
}

/// One line of `sha256sum` / `b3sum` output, escaped the way coreutils does for names holding
/// `\`, a newline or a carriage return.
pub fn manifest_line(digest_hex: &str, path: &str, binary_marker: bool) -> String {
    let marker = if binary_marker { '*' } else { ' ' };
    if path.contains(['\\', '\n', '\r']) {
        let escaped = path
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        format!("\\{digest_hex} {marker}{escaped}")
    } else {
        format!("{digest_hex} {marker}{path}")
    }
}

/// `path` with `.zst` appended to its file name.
pub fn zst_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".zst");
    PathBuf::from(s)
}

/// zstd level 3 with a content checksum.
pub fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
    let mut enc = zstd::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    enc.include_checksum(true).expect("zstd checksum flag");
    enc.write_all(bytes).expect("zstd write");
    enc.finish().expect("zstd finish")
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn truncate_file(path: &Path, len: u64) {
    let f = fs::File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.set_len(len)
        .unwrap_or_else(|e| panic!("truncate {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_objects_and_a_manifest_sha256sum_would_accept() {
        let dir = tempfile::tempdir().unwrap();
        let set = BackupSet::new(dir.path().join("src"));
        let p = set
            .point("p1")
            .file("etc/app.conf", b"port = 8080\n")
            .random_file("data/blob.bin", 4096, 1)
            .zst_file("db/dump.sql", b"INSERT INTO t VALUES (1);\n".repeat(100))
            .manifest(Format::Sha256sum);

        assert!(p.path("etc/app.conf").is_file());
        assert!(!p.path("db/dump.sql").exists());
        let zst = fs::read(zst_path(&p.path("db/dump.sql"))).unwrap();
        let plain = zstd::decode_all(&zst[..]).unwrap();
        assert_eq!(sha256_hex(&plain), p.entry("db/dump.sql").sha256);

        let manifest = fs::read_to_string(p.manifest_path()).unwrap();
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("  data/blob.bin"));
        assert!(lines[1].ends_with("  db/dump.sql"));
        assert_eq!(
            lines[2],
            format!("{}  etc/app.conf", sha256_hex(b"port = 8080\n"))
        );

        if which("sha256sum") {
            // Check the plain objects with the real tool (it cannot read the .zst one).
            let out = std::process::Command::new("sha256sum")
                .args(["-c", "--ignore-missing", "SHA256SUMS"])
                .current_dir(p.dir())
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
    }

    #[test]
    fn corruptions_change_what_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let set = BackupSet::new(dir.path());
        let p = set
            .point("p")
            .random_file("a", 100, 1)
            .random_file("b", 100, 2)
            .random_file("c", 100, 3)
            .zst_file("d", prng::text_bytes(10_000, 4))
            .zst_file("e", prng::text_bytes(10_000, 5))
            .manifest(Format::B3sum);
        assert!(p.manifest_path().ends_with("B3SUMS"));

        p.flip_byte("a", 10).truncate("b", 7).remove("c");
        assert_ne!(
            blake3_hex(&fs::read(p.path("a")).unwrap()),
            p.entry("a").blake3
        );
        assert_eq!(fs::metadata(p.path("b")).unwrap().len(), 7);
        assert!(!p.path("c").exists());

        p.corrupt_zst("d").truncate_zst("e");
        for rel in ["d", "e"] {
            let zst = fs::read(zst_path(&p.path(rel))).unwrap();
            assert!(zstd::decode_all(&zst[..]).is_err(), "{rel} still decodes");
        }

        p.append_manifest_line("not a manifest line");
        let text = fs::read_to_string(p.manifest_path()).unwrap();
        assert_eq!(text.lines().nth(5), Some("not a manifest line"));

        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        p.set_manifest_mtime(t);
        assert_eq!(
            fs::metadata(p.manifest_path()).unwrap().modified().unwrap(),
            t
        );
    }

    #[test]
    fn escapes_names_like_coreutils() {
        assert_eq!(manifest_line("ab", "x y", false), "ab  x y");
        assert_eq!(manifest_line("ab", "x", true), "ab *x");
        assert_eq!(manifest_line("ab", "a\\b\nc", false), "\\ab  a\\\\b\\nc");
    }

    fn which(tool: &str) -> bool {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }
}
