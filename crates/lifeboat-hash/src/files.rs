//! Hashing local files: memory-mapped where that is possible and worth it, buffered reads
//! otherwise; whole trees on a local rayon pool.

use std::cell::RefCell;
use std::fs::File;
use std::io::Read;

use rayon::prelude::*;

use super::*;

/// Files smaller than this are read, not mapped: for them `mmap` + `munmap` + page faults
/// cost more than one `read` into a warm buffer (b3sum draws the line at 16 KiB too).
const MMAP_MIN_BYTES: u64 = 16 * 1024;

/// The buffer of the read path: large enough that BLAKE3's SIMD and the syscall count are
/// not the limit, small enough to keep memory flat with one buffer per thread.
const READ_BUF_BYTES: usize = 1024 * 1024;

thread_local! {
    /// One read buffer per thread, reused across files: `hash_tree` over many small files
    /// would otherwise allocate and zero 1 MiB per file.
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pub(super) fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<(String, u64)> {
    hash_file_inner(path, algorithm).map_err(|e| with_path(e, path))
}

fn hash_file_inner(path: &Path, algorithm: Algorithm) -> io::Result<(String, u64)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let mut hasher = Hasher::new(algorithm);
    // Special files (pipes, devices, /proc) report sizes that mean nothing, and empty files
    // cannot be mapped: both take the read path, as does any file whose mapping fails.
    if meta.is_file()
        && meta.len() >= MMAP_MIN_BYTES
        && let Ok(window) = map_range(&file, 0, meta.len())
    {
        // `Hasher::update` spreads a big BLAKE3 input across the current rayon pool; SHA-256
        // is sequential by nature and runs over the map in one call (through its small
        // bounce buffer, see `SHA256_BOUNCE_MIN_BYTES`).
        hasher.update(&window);
        window.check()?;
        return Ok((hasher.finalize_hex(), window.len() as u64));
    }
    let size = read_into(file, &mut hasher)?;
    Ok((hasher.finalize_hex(), size))
}

/// The windows of a local file, mapped one at a time: the way the fastest hashers read (no
/// copy into a buffer), with memory bounded by one window however large the file — mapped
/// pages count toward RSS only while their window is alive.
///
/// An iterator of `io::Result<Window>`; a window is unmapped when dropped. The caller keeps
/// at most a window or two alive, so a 2 GiB file costs a window's worth of memory.
pub struct Windows<'a> {
    file: &'a File,
    len: u64,
    offset: u64,
    window: u64,
}

impl std::fmt::Debug for Windows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windows")
            .field("len", &self.len)
            .field("offset", &self.offset)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<'a> Windows<'a> {
    pub(super) fn new(file: &'a File, len: u64, window: usize) -> Self {
        // Offsets must be page-aligned; 64 KiB multiples are, on every platform we run on.
        let window = (window as u64).max(1 << 16) & !((1 << 16) - 1);
        Windows {
            file,
            len,
            offset: 0,
            window,
        }
    }
}

impl Iterator for Windows<'_> {
    type Item = io::Result<Window>;

    fn next(&mut self) -> Option<io::Result<Window>> {
        if self.offset >= self.len {
            return None;
        }
        let len = (self.len - self.offset).min(self.window);
        let map = map_range(self.file, self.offset, len);
        self.offset += len;
        if map.is_err() {
            // One error ends the sequence.
            self.offset = self.len;
        }
        Some(map)
    }
}

/// One mapped window of a file; derefs to its bytes.
///
/// A page of it that cannot be read (the file shrank under the mapping, or its disk failed)
/// reads as zeros instead of killing the process with SIGBUS; [`Window::check`] then says so.
/// Call it after the bytes were used and before trusting anything computed from them.
#[derive(Debug)]
pub struct Window {
    // Declared first, so the range is unregistered before it is unmapped.
    guard: crate::guard::Guard,
    map: memmap2::Mmap,
}

impl Window {
    fn new(map: memmap2::Mmap) -> Window {
        Window {
            guard: crate::guard::Guard::new(map.as_ptr() as usize, map.len()),
            map,
        }
    }

    /// `Err` if a page of the window could not be read while it was mapped: the bytes seen
    /// were not the file's, and nothing computed from them may be trusted.
    pub fn check(&self) -> io::Result<()> {
        if self.guard.faulted() {
            return Err(io::Error::other(
                "the file could not be read through its mapping: it shrank while it was read, \
                 or its storage returned an I/O error",
            ));
        }
        Ok(())
    }
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

pub(super) fn map_window(file: &File, offset: u64, len: usize) -> io::Result<Window> {
    if !offset.is_multiple_of(1 << 16) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("window offset {offset} is not a multiple of 64 KiB"),
        ));
    }
    map_range(file, offset, len as u64)
}

/// Maps `len` bytes of `file` from `offset` (page-aligned) read-only, for one sequential pass,
/// as a guarded [`Window`].
#[allow(unsafe_code)]
fn map_range(file: &File, offset: u64, len: u64) -> io::Result<Window> {
    let len = usize::try_from(len).map_err(io::Error::other)?;
    // SAFETY: `Mmap` hands out `&[u8]` over the file's pages, which Rust assumes never change,
    // but another process may write to or truncate the file while we hash it. A write makes
    // the digest describe a mix of old and new bytes — exactly what a `read` loop racing the
    // same writer yields, so no check is weakened, and the bytes are only fed to a hash
    // function (no decisions are taken on them mid-way). A truncation below the range (or a
    // disk that fails) makes the next access to the missing pages raise SIGBUS; the map is
    // returned inside a [`Window`], whose guard turns that into zeros and an error from
    // [`Window::check`] (see `guard`), never a wrong "passed". Fixing the length from the
    // metadata taken before mapping means a file that grows is hashed up to its old size.
    // lifeboat maps backup objects a drill only reads, files it just restored into its own
    // scratch area, or the tree an operator asked `lifeboat manifest` to describe, where
    // concurrent writers are not expected.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)?
    };
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(Window::new(map))
}

/// Feeds everything `reader` yields to `hasher` through this thread's 1 MiB buffer; returns
/// the byte count.
fn read_into(mut reader: impl Read, hasher: &mut Hasher) -> io::Result<u64> {
    READ_BUF.with_borrow_mut(|buf| {
        if buf.len() < READ_BUF_BYTES {
            buf.resize(READ_BUF_BYTES, 0);
        }
        let mut total = 0u64;
        loop {
            match reader.read(buf) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}

pub(super) fn hash_tree_with<R: Send>(
    dir: &Path,
    jobs: usize,
    skip: &(dyn Fn(&Path, &std::fs::DirEntry) -> io::Result<bool> + Sync),
    hash: &(dyn Fn(&str, &Path) -> io::Result<R> + Sync),
) -> io::Result<Vec<(String, R)>> {
    let files = walk_files_except(dir, skip)?;
    let mut named = Vec::with_capacity(files.len());
    for path in files {
        let rel = relative_name(dir, &path)?;
        named.push((rel, path));
    }
    // Byte order of the '/'-joined names, the order manifests and samples use; `walk_files`
    // sorts by path components, which differs (`a-b` < `a/b` here, not there).
    named.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    // A pool of our own, so `jobs` is honoured whatever the global pool is; rayon reads 0 as
    // "one thread per core". Big BLAKE3 files fork inside this pool too (`update_rayon` runs
    // on the pool it is called from), so one large file among small ones still uses every
    // thread.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("lifeboat-hash-{i}"))
        .build()
        .map_err(io::Error::other)?;
    pool.install(|| {
        named
            .into_par_iter()
            // One file per task: sizes vary wildly, so let idle threads steal file by file.
            .with_max_len(1)
            .map(|(rel, path)| hash(&rel, &path).map(|r| (rel, r)))
            .collect()
    })
}

/// `path` relative to `dir`, components joined with '/'. Non-UTF-8 names cannot be written
/// into a manifest faithfully (b3sum would replace them with U+FFFD), so they are errors.
fn relative_name(dir: &Path, path: &Path) -> io::Result<String> {
    let rel = path.strip_prefix(dir).map_err(|_| {
        io::Error::other(format!("{} is not under {}", path.display(), dir.display()))
    })?;
    let mut out = String::with_capacity(rel.as_os_str().len());
    for part in rel.components() {
        let part = part.as_os_str().to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: the file name is not valid UTF-8, so it cannot be listed in a manifest",
                    path.display()
                ),
            )
        })?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    Ok(out)
}

pub(super) fn walk_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    walk_files_except(dir, &|_, _| Ok(false))
}

/// [`walk_files`], leaving out each entry `skip` says (given its path relative to `dir` and
/// its directory entry); a folder left out is not entered.
fn walk_files_except(
    dir: &Path,
    skip: &dyn Fn(&Path, &std::fs::DirEntry) -> io::Result<bool>,
) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    // An explicit stack instead of recursion: deep trees cannot overflow the thread's stack.
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| with_path(e, &current))? {
            let entry = entry.map_err(|e| with_path(e, &current))?;
            // `DirEntry::file_type` does not follow symlinks: a link to a file or a folder is
            // neither, and is skipped. (The root itself is followed if it is a link: the
            // caller named it.)
            let kind = entry.file_type().map_err(|e| with_path(e, &entry.path()))?;
            if !(kind.is_dir() || kind.is_file()) {
                continue;
            }
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            if skip(rel, &entry).map_err(|e| with_path(e, &path))? {
                continue;
            }
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort_unstable();
    Ok(files)
}

/// Adds the path to an error's message, keeping its kind for callers that match on it.
fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
