//! `lifeboat manifest`: the manifest a backup job publishes, listing what the drill will
//! restore and nothing else.
//!
//! A manifest must never list itself: `cd DIR && lifeboat manifest . > SHA256SUMS` has the
//! shell create an empty `SHA256SUMS` before lifeboat starts, and a manifest that lists that
//! empty file (or yesterday's manifest, or its own temporary file) fails every full drill with
//! a hash mismatch. So [`Exclusions`] leaves out, by device and inode, the files lifeboat
//! itself writes (standard output and error when they are regular files, `--output`'s
//! previous version), and by name or path whatever `--exclude` says; `--output` is written
//! only after every file was hashed, atomically ([`write()`]).
//!
//! With `decompressed`, a stored `PATH.zst` is listed as `PATH` with the digest of its
//! decompressed bytes ([`lifeboat_runner::restore::hash_decompressed`], the restore's own
//! decoder and window budget): the line a drill, which restores `PATH.zst` as `PATH`, checks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use lifeboat_core::Algorithm;
use lifeboat_safefs::{Dir, Replace};

mod pattern;
pub use pattern::Pattern;

/// What a manifest leaves out.
#[derive(Debug, Default)]
pub struct Exclusions {
    /// Files and folders by (device, inode), with why: what is being written, or what was
    /// named as a path.
    inodes: HashMap<(u64, u64), &'static str>,
    /// `--exclude` patterns, matched against names relative to the folder listed.
    patterns: Vec<Pattern>,
}

impl Exclusions {
    /// Leaves out whatever `handle` (standard output or error) writes to, when it is a regular
    /// file: `lifeboat manifest . > SHA256SUMS` must not list `SHA256SUMS`.
    pub fn being_written(&mut self, handle: std::os::fd::BorrowedFd<'_>) {
        let Ok(owned) = handle.try_clone_to_owned() else {
            return;
        };
        if let Ok(meta) = File::from(owned).metadata()
            && meta.is_file()
        {
            self.inodes
                .insert((meta.dev(), meta.ino()), "it is the manifest being written");
        }
    }

    /// Leaves out `--output`'s previous version, if there is one (a link there is not
    /// followed: it is not listed anyway, and the write replaces it).
    pub fn output(&mut self, path: &Path) {
        self.place(path, "it is the manifest being written (--output)");
    }

    /// Leaves out the file or folder at `path` (a path from the current folder, not
    /// followed if it is a link), if there is one.
    fn place(&mut self, path: &Path, why: &'static str) {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            self.inodes.insert((meta.dev(), meta.ino()), why);
        }
    }

    /// Leaves out the files and folders whose name relative to the folder listed matches
    /// `pattern` (see [`Pattern`]); a folder that matches is not entered.
    pub fn pattern(&mut self, pattern: &str) {
        self.patterns.push(Pattern::new(pattern));
    }

    /// An `--exclude` value: a pattern over the names, and, when it names an existing file or
    /// folder from the current folder, that place.
    pub fn exclude(&mut self, value: &str) {
        self.pattern(value);
        self.place(Path::new(value), "--exclude names it");
    }

    /// Why `entry` (named `rel` below the folder listed) is left out; `None`: it is listed.
    fn why(&self, rel: &Path, entry: &std::fs::DirEntry) -> io::Result<Option<&'static str>> {
        let name = rel.to_string_lossy();
        if self.patterns.iter().any(|p| p.matches(&name)) {
            return Ok(Some("it matches --exclude"));
        }
        if self.inodes.is_empty() {
            return Ok(None);
        }
        let meta = entry.metadata()?;
        Ok(self.inodes.get(&(meta.dev(), meta.ino())).copied())
    }
}

/// How a manifest is made.
#[derive(Debug)]
pub struct ManifestJob<'a> {
    /// The folder listed, recursively (links are not followed).
    pub dir: &'a Path,
    /// The digest: SHA-256 (`sha256sum` lines) or BLAKE3 (`b3sum` lines).
    pub algorithm: Algorithm,
    /// Files hashed at once; 0: one per core.
    pub jobs: usize,
    /// List a stored `PATH.zst` as `PATH`, with the digest of its decompressed bytes.
    pub decompressed: bool,
    /// What to leave out.
    pub exclusions: &'a Exclusions,
}

/// Every file of `job.dir` not left out, as `(name, digest hex)`, sorted by the bytes of the
/// name: the manifest's lines. An error names the file it is about.
pub fn build(job: &ManifestJob<'_>) -> io::Result<Vec<(String, String)>> {
    let skip = |rel: &Path, entry: &std::fs::DirEntry| -> io::Result<bool> {
        let why = job.exclusions.why(rel, entry)?;
        if let Some(why) = why {
            tracing::info!("{} is left out of the manifest: {why}", rel.display());
        }
        Ok(why.is_some())
    };
    let algorithm = job.algorithm;
    let hash = |name: &str, path: &Path| -> io::Result<(String, String)> {
        if job.decompressed
            && let Some(plain) = listed_decompressed(name, path)
        {
            let file = File::open(path)?;
            let size = file.metadata()?.len();
            let (hex, _) = lifeboat_runner::restore::hash_decompressed(file, size, name, algorithm)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok((plain, hex));
        }
        let (hex, _) = lifeboat_hash::hash_file(path, algorithm)?;
        Ok((name.to_owned(), hex))
    };
    let mut lines: Vec<(String, String)> =
        lifeboat_hash::hash_tree_with(job.dir, job.jobs, &skip, &hash)?
            .into_iter()
            .map(|(_, line)| line)
            .collect();
    // `PATH.zst` listed as `PATH` may sort elsewhere.
    lines.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(lines)
}

/// The name `PATH.zst` (stored at `path`) is listed under when decompressed: `PATH`, unless
/// something is stored at `PATH` itself, which a drill would then read for `PATH` instead
/// (so `PATH.zst` is listed as it is stored), or `PATH` would not name a file.
fn listed_decompressed(name: &str, path: &Path) -> Option<String> {
    let plain = name.strip_suffix(".zst")?;
    let last = plain.rsplit('/').next().unwrap_or(plain);
    if matches!(last, "" | "." | "..") {
        return None;
    }
    let twin: PathBuf = path.with_file_name(Path::new(last));
    match std::fs::symlink_metadata(&twin) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(plain.to_owned()),
        _ => None,
    }
}

/// Writes `lines` to `output` atomically: into a fresh temporary file beside it (created
/// exclusively, never through a link), flushed, then renamed over `output`, so a reader sees
/// the old manifest or the new one, never half of one, and a link planted at `output` is
/// replaced rather than written through. The folder `output` is in is the operator's (links
/// on the way to it are followed). Mode 0666 less the umask, as a shell redirect makes it.
pub fn write(output: &Path, lines: &[(String, String)]) -> io::Result<()> {
    let name = output.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", output.display()),
        )
    })?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = Dir::open(parent)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", parent.display())))?;
    dir.write_atomic_with(name, 0o666, Replace::Allow, |file| {
        let mut out = BufWriter::new(file);
        write_lines(&mut out, lines)?;
        out.flush()
    })
    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", output.display())))
}

/// Writes `lines` in `sha256sum` / `b3sum` format (`HEX  NAME`, escaped as coreutils does).
pub fn write_lines(out: &mut impl Write, lines: &[(String, String)]) -> io::Result<()> {
    for (name, digest) in lines {
        writeln!(
            out,
            "{}",
            lifeboat_core::manifest::format_line(digest, name)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
