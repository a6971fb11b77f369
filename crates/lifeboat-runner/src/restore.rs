//! Restoring one file's bytes: read the opened object, decompress `.zst`, hash, write into
//! scratch, in one pass over bounded buffers. The source format opens the object
//! ([`crate::format::files`]); this is the pipeline it feeds.
//!
//! The bytes are hashed exactly as they are written (plain local objects: as they sit in the
//! scratch file after the kernel copied them, see `copy`), so the digest proves what landed
//! in the scratch area (or, in verify-only mode, what would have). Memory per file is a few
//! buffers or one mapped window, whatever the file's size.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use lifeboat_core::evidence::{FileResult, Outcome};
use lifeboat_core::runbook::ScratchSync;
use lifeboat_hash::Hasher;
use lifeboat_storage::{Object, StorageError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Progress;
use crate::error::{DrillError, ScratchError};
use crate::plan::Expected;
use crate::stop::until_cancelled;

mod unzstd;
use unzstd::Unzstd;

/// The zstd output buffer, and the largest read of a small local file.
const CHUNK: usize = 1 << 20;
/// Local objects at least this large are memory-mapped, a window at a time; smaller ones are
/// read into a buffer of their size (mapping costs more than it saves there).
const MAP_MIN: u64 = 64 << 10;
/// One mapped window of a local object: large enough that BLAKE3 splits it across cores with
/// little fork/join overhead, small enough that a few files in flight stay far below the
/// memory budget (mapped pages count toward RSS only while their window is mapped).
pub(crate) const WINDOW: usize = 8 << 20;
/// Restored bytes handed to the disk at a time: writeback of each such range is started as
/// soon as it is written, so the final `fdatasync` waits for the tail only.
const WRITEBACK: u64 = 8 << 20;
/// Chunks of a remote stream allowed in flight between the network and the hashing thread.
const STREAM_QUEUE: usize = 8;

/// One file restored and checked: a finding, passed or failed.
#[derive(Debug)]
pub struct Restored {
    /// What the file's check found.
    pub result: FileResult,
    /// The restored file was flushed to disk (`fdatasync`) before it was verified.
    pub synced: bool,
}

impl Restored {
    /// `expect`'s file, failed before any byte of it was verified (nothing was written).
    pub fn failed(expect: &Expected, object: Option<String>, reason: String) -> Self {
        Restored {
            result: expect.failed(object, reason),
            synced: false,
        }
    }
}

/// Where a restored file goes, and when it is made durable.
#[derive(Clone, Copy, Debug)]
pub struct Dest<'a> {
    /// The recovery point's folder in the scratch area.
    pub root: &'a Path,
    /// `scratch.sync`.
    pub sync: ScratchSync,
}

/// How a point's files are restored: where to (`dest`; `None`: verify only, nothing
/// written), who hears of the bytes, and what stops it.
#[derive(Clone, Copy)]
pub struct Landing<'a> {
    /// The point's folder in the scratch area; `None`: stream and hash only.
    pub dest: Option<Dest<'a>>,
    /// Told of every restored byte.
    pub progress: &'a Arc<dyn Progress>,
    /// Stops the restore within a chunk: the drill's stop, or the `restore` step's timeout.
    pub cancel: &'a CancellationToken,
}

/// An object opened for restoring: its bytes, its name (as the evidence records it), and
/// whether it is a zstd stream to decompress.
pub struct Opened {
    /// The object's bytes.
    pub object: Object,
    /// `PATH` or `PATH.zst`, relative to the point: the evidence's `object`.
    pub name: String,
    /// Decompress it (`.zst`) while restoring.
    pub compressed: bool,
}

/// Restores `opened`'s bytes to `lands` (`/`-separated, below the point's folder) as
/// `landing` says, hashing them on the way, and checks them against `expect`. `Err`: storage
/// became unreachable or the scratch area failed, and the drill cannot complete.
///
/// Once `landing.cancel` fires it returns [`DrillError::Interrupted`], from the blocking
/// worker at its next chunk. It always waits for that worker, so nothing writes into the
/// scratch area after it returns.
pub async fn restore_object(
    opened: Opened,
    expect: &Expected,
    lands: &str,
    landing: &Landing<'_>,
) -> Result<Restored, DrillError> {
    let Opened {
        object,
        name: object_name,
        compressed,
    } = opened;
    let components = lands;
    let cancel = landing.cancel;
    let progress = landing.progress.clone();
    let dest = landing.dest;
    let sync = dest.map(|d| d.sync);
    let dest = match dest {
        None => None,
        Some(Dest { root, .. }) => {
            let full: PathBuf = components
                .split('/')
                .fold(root.to_path_buf(), |p, c| p.join(c));
            match create_dest(&full, crate::scratch::restored_mode(object_mode(&object))) {
                Ok(f) => Some(f),
                // The run folder is private and fresh: only this point's own entries can be
                // in the way (`a` and `a/b` both listed, as S3 allows), or a name the scratch
                // filesystem cannot hold. A finding about this file, not a broken scratch area.
                Err(e) if in_the_way(&e) => {
                    return Ok(Restored::failed(
                        expect,
                        Some(object_name),
                        format!("cannot restore {components} into the scratch area: {e}"),
                    ));
                }
                Err(source) => {
                    return Err(ScratchError::Create { path: full, source }.into());
                }
            }
        }
    };

    let object_bytes = object.size();
    let input = match object {
        Object::File { file, size } => Input::File(file, size),
        Object::Stream { mut stream, .. } => {
            let (tx, rx) = mpsc::channel(STREAM_QUEUE);
            let cancel = cancel.clone();
            // On cancellation the sender is dropped, which ends the worker's `blocking_recv`.
            tokio::spawn(async move {
                while let Ok(Some(item)) = until_cancelled(&cancel, stream.next()).await {
                    let stop = item.is_err();
                    if tx.send(item).await.is_err() || stop {
                        break;
                    }
                }
            });
            Input::Channel(rx)
        }
    };

    let algorithm = expect.algorithm;
    let cancel = cancel.clone();
    let worker = tokio::task::spawn_blocking(move || {
        // Counted for as long as this thread hashes the file: with as many files in flight as
        // cores, each is hashed on its own thread rather than split across all of them.
        let busy = lifeboat_hash::Busy::start();
        let mut sink = Sink {
            hasher: Hasher::new(algorithm),
            file: dest,
            writeback: sync == Some(ScratchSync::File),
            bytes: 0,
            flushed: 0,
            released: 0,
            progress,
            cancel,
        };
        let mut r = pump(input, compressed, &mut sink);
        drop(busy); // waiting for the disk below is not hashing
        // A stream cut short by cancellation ends like a complete one: never verify it.
        if sink.cancel.is_cancelled() {
            r = Err(PipeError::Interrupted);
        }
        // With `scratch.sync: file` a restore is only proven once its bytes are durable where
        // they were written (with `none` the kernel writes them back when it sees fit). On
        // this blocking thread, not the async worker: an `fdatasync` there stalls every file
        // the drill has in flight (measured: 2,998 files, 8.5 s of serial `fdatasync` out of
        // 11.1 s wall).
        let mut synced = false;
        if r.is_ok()
            && sink.writeback
            && let Some(f) = &sink.file
        {
            r = f.sync_data().map_err(PipeError::Flush);
            synced = r.is_ok();
            if synced {
                release_cached(f, 0, 0);
            }
        }
        (r, sink, synced)
    });
    let (result, sink, synced) = match worker.await {
        Ok(x) => x,
        Err(e) => return Err(DrillError::Worker(e)),
    };
    let object = Some(object_name.clone());
    let failed =
        |object: Option<String>, reason: String| Ok(Restored::failed(expect, object, reason));
    match result {
        Ok(()) => {
            let bytes = sink.bytes;
            let (actual, reason) = verdict(expect, sink.hasher.finalize_hex(), bytes);
            Ok(Restored {
                synced,
                result: FileResult {
                    path: expect.path.clone(),
                    outcome: if reason.is_none() {
                        Outcome::Passed
                    } else {
                        Outcome::Failed
                    },
                    algorithm,
                    expected: expect.digest.clone(),
                    actual,
                    bytes,
                    object_bytes: Some(object_bytes),
                    object,
                    reason,
                    always: false,
                },
            })
        }
        Err(
            e @ (PipeError::Zstd(_)
            | PipeError::WindowTooLarge { .. }
            | PipeError::Truncated
            | PipeError::Read(_)),
        ) => failed(object, finding(e, &object_name)),
        Err(PipeError::Storage(e)) => Err(e.into()),
        Err(PipeError::Write(source)) => Err(ScratchError::Write {
            path: components.to_owned(),
            source,
        }
        .into()),
        Err(PipeError::Flush(source)) => Err(ScratchError::Flush {
            path: components.to_owned(),
            source,
        }
        .into()),
        Err(PipeError::Interrupted) => Err(DrillError::Interrupted),
    }
}

/// What `bytes` restored bytes hashing to `actual` say against `expect`: the evidence's
/// `actual` (`None` with no checksum to compute) and the file's failure reason, if any. A
/// size the manifest lists is checked first: a file cut short or grown says so, whatever
/// its checksum.
fn verdict(expect: &Expected, actual: String, bytes: u64) -> (Option<String>, Option<String>) {
    let size = match expect.size {
        Some(listed) if listed != bytes => Some(format!(
            "size mismatch: the manifest lists {listed} bytes, {bytes} were restored"
        )),
        _ => None,
    };
    if expect.algorithm == lifeboat_core::Algorithm::None {
        return (None, size);
    }
    let hash = (!actual.eq_ignore_ascii_case(&expect.digest)).then(|| "hash mismatch".to_owned());
    (Some(actual), size.or(hash))
}

/// The reason a file fails for a [`PipeError`] about the object's own bytes (`object_name`):
/// the words of the evidence's `reason`, and of `lifeboat manifest --decompressed`.
fn finding(e: PipeError, object_name: &str) -> String {
    match e {
        PipeError::Zstd(msg) => format!("corrupt zstd stream in {object_name}: {msg}"),
        PipeError::WindowTooLarge { window: Some(w) } => format!(
            "zstd window too large in {object_name}: a frame declares a window of {} MiB \
             ({w} bytes), over the {} MiB (2^{} bytes) zstd can decode",
            w >> 20,
            1u64 << (unzstd::MAX_WINDOW_LOG - 20),
            unzstd::MAX_WINDOW_LOG
        ),
        PipeError::WindowTooLarge { window: None } => format!(
            "zstd window too large in {object_name}: a frame needs a larger window than its \
             header declares"
        ),
        PipeError::Truncated => {
            format!("truncated zstd stream: {object_name} ends inside a frame")
        }
        PipeError::Read(e) => format!("I/O error reading {object_name}: {e}"),
        e => format!("cannot read {object_name}: {e:?}"),
    }
}

/// Why [`hash_decompressed`] could not hash an object's decompressed bytes: the reason a
/// drill restoring it would record (`corrupt zstd stream in …`, `zstd window too large in …`,
/// `truncated zstd stream: …`, `I/O error reading …`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Undecodable(String);

/// The digest (lowercase hex) and length of the bytes the zstd object `file` (`size` bytes,
/// named `object_name` in messages) decompresses to: what a drill restoring it would hash,
/// decoded the way the restore decodes (frames with windows over 128 MiB share the
/// process-wide budget, over 2 GiB refused), in one pass over mapped windows or a buffer, so
/// memory stays bounded whatever the size. Synchronous; for `lifeboat manifest
/// --decompressed`, which runs it on its hashing threads.
pub fn hash_decompressed(
    file: File,
    size: u64,
    object_name: &str,
    algorithm: lifeboat_core::Algorithm,
) -> Result<(String, u64), Undecodable> {
    let mut sink = Sink {
        hasher: Hasher::new(algorithm),
        file: None,
        writeback: false,
        bytes: 0,
        flushed: 0,
        released: 0,
        progress: Arc::new(crate::NoProgress),
        cancel: CancellationToken::new(),
    };
    pump(Input::File(file, size), true, &mut sink)
        .map_err(|e| Undecodable(finding(e, object_name)))?;
    Ok((sink.hasher.finalize_hex(), sink.bytes))
}

/// Errors creating a restored file that its own name causes: another restored file or folder
/// where it or one of its folders goes, or a name too long for the scratch filesystem.
fn in_the_way(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTDIR | libc::EEXIST | libc::EISDIR | libc::ENAMETOOLONG)
    )
}

/// The permission bits a local object has on disk; `None` for a cloud object (it has none).
fn object_mode(object: &Object) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    match object {
        Object::File { file, .. } => file.metadata().ok().map(|m| m.permissions().mode()),
        Object::Stream { .. } => None,
    }
}

/// Creates the destination file, mode `mode` (see [`crate::scratch::restored_mode`]), and its
/// folders (0700). `create_new` refuses to follow or reuse anything already there, so a
/// restore can never write through an existing link. The mode is set as the file is made,
/// never widened later: the descriptor that made it may write whatever the bits say.
fn create_dest(full: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = full.parent() {
        crate::scratch::create_folders(parent)?;
    }
    // Readable too: the copy path maps what it copied to hash it.
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(full)
}

enum Input {
    File(File, u64),
    Channel(mpsc::Receiver<Result<Bytes, StorageError>>),
}

#[derive(Debug)]
enum PipeError {
    Read(io::Error),
    Storage(StorageError),
    Zstd(String),
    /// A frame needs a larger window than zstd decodes (`Some(bytes)`, from its header), or
    /// than its header said (`None`): see `unzstd`.
    WindowTooLarge {
        window: Option<u64>,
    },
    Truncated,
    Write(io::Error),
    Flush(io::Error),
    Interrupted,
}

struct Sink {
    hasher: Hasher,
    file: Option<File>,
    /// `scratch.sync: file`: start writeback as bytes are written, `fdatasync` at the end.
    writeback: bool,
    bytes: u64,
    /// Bytes up to here have had their writeback started.
    flushed: u64,
    /// Bytes up to here are on disk and their pages handed back ([`Sink::written`]).
    released: u64,
    progress: Arc<dyn Progress>,
    /// Checked before each chunk, so an interrupted restore stops within one chunk (at most
    /// a mapped window, [`WINDOW`]).
    cancel: CancellationToken,
}

impl Sink {
    fn put(&mut self, data: &[u8]) -> Result<(), PipeError> {
        if self.cancel.is_cancelled() {
            return Err(PipeError::Interrupted);
        }
        if data.is_empty() {
            return Ok(());
        }
        if let Some(f) = &mut self.file {
            f.write_all(data).map_err(PipeError::Write)?;
        }
        self.written(data)
    }

    /// Hashes and counts bytes that are already in place: written by [`Sink::put`], or
    /// copied into the scratch file by the kernel and read back from it.
    ///
    /// With `scratch.sync: file`, every [`WRITEBACK`] bytes it starts their writeback, then
    /// waits for the range started the time before (it has had a range's time to reach the
    /// disk) and hands that range's pages back to the kernel ([`release_cached`]'s reasons),
    /// so a large file holds about two ranges of page cache while it is restored, not all of
    /// it. A write error found waiting is the file's flush failing: reported here, since the
    /// kernel reports it to this descriptor only once and the final `fdatasync` would not see
    /// it again.
    fn written(&mut self, data: &[u8]) -> Result<(), PipeError> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        if self.writeback
            && let Some(f) = &self.file
            && self.bytes - self.flushed >= WRITEBACK
        {
            start_writeback(f, self.flushed, self.bytes - self.flushed);
            if self.flushed > self.released {
                let len = self.flushed - self.released;
                wait_written_back(f, self.released, len).map_err(PipeError::Flush)?;
                release_cached(f, self.released, len);
                self.released = self.flushed;
            }
            self.flushed = self.bytes;
        }
        self.progress.bytes(data.len() as u64);
        Ok(())
    }
}

/// Hands the page cache a restored file holds back to the kernel, once the file is hashed and
/// durable (`scratch.sync: file`; the pages are clean, so nothing is lost but a later read's
/// speed).
///
/// A drill writes each restored byte once and, after its steps, never reads it again. Left
/// cached, a sample larger than free memory evicts what the host's own services keep cached;
/// and every restored byte takes a page the kernel has to find, where a page released here is
/// taken again by the next file at once. On a VM whose balloon hands free memory back to the
/// host (free page reporting) a fresh page costs a host fault: released pages halved a
/// two-core restore of the plain bench set there, 5.44 s to 2.67 s (benches/README.md, fourth
/// pass). Steps that read the restored files read them from disk, as after a real restore.
/// Only advice: an error changes nothing and is not reported. `len` bytes at `offset`; a
/// `len` of 0 releases to the end of the file.
#[cfg(target_os = "linux")]
fn release_cached(file: &File, offset: u64, len: u64) {
    let len = std::num::NonZeroU64::new(len);
    let _ = rustix::fs::fadvise(file, offset, len, rustix::fs::Advice::DontNeed);
}

#[cfg(not(target_os = "linux"))]
fn release_cached(_file: &File, _offset: u64, _len: u64) {}

/// Waits until `len` bytes at `offset` of `file`, whose writeback [`start_writeback`]
/// started, are written to disk (not the disk's own cache, nor the file's metadata: the final
/// `fdatasync` does that). Its error is the write's.
#[cfg(target_os = "linux")]
fn wait_written_back(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    sync_file_range(file, offset, len, flags)
}

#[cfg(not(target_os = "linux"))]
fn wait_written_back(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk, without waiting.
///
/// Without it a large restored file sits dirty in the page cache (the background threshold is
/// 10% of RAM) until the final `fdatasync`, which then waits for all of it while nothing else
/// runs; started early, the disk works while the rest of the file is read and hashed. Only a
/// hint: errors surface when the range is waited for ([`wait_written_back`]) or at
/// `fdatasync`.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    let _ = sync_file_range(file, offset, len, libc::SYNC_FILE_RANGE_WRITE);
}

/// `sync_file_range(2)` on `len` bytes at `offset` of `file`; a range past what `off_t`
/// holds is left alone.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn sync_file_range(file: &File, offset: u64, len: u64, flags: libc::c_uint) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: a plain syscall on a file descriptor `file` keeps open for the call's duration;
    // no memory is passed.
    if unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Feeds every chunk of `input` (decompressed if `compressed`) into `sink`.
fn pump(mut input: Input, compressed: bool, sink: &mut Sink) -> Result<(), PipeError> {
    if let Input::File(f, size) = &input
        && !compressed
        && *size >= MAP_MIN
        && copy::restore(f, *size, sink)?
    {
        return Ok(());
    }
    let mut decoder = if compressed {
        Some(Unzstd::new(&unzstd::BUDGET, sink.cancel.clone())?)
    } else {
        None
    };
    let mut feed = |data: &[u8], sink: &mut Sink| match &mut decoder {
        Some(d) => d.feed(data, sink),
        None => sink.put(data),
    };
    if let Input::File(f, size) = &input
        && *size >= MAP_MIN
    {
        // Straight from the page cache: no copy into a buffer, as b3sum reads.
        for window in lifeboat_hash::map_windows(f, *size, WINDOW) {
            let window = window.map_err(PipeError::Read)?;
            let fed = feed(&window, sink);
            // A page that could not be read (the object shrank after it was opened, or its
            // disk failed) was fed as zeros: that, not what the zeros led to, is the finding.
            window.check().map_err(PipeError::Read)?;
            fed?;
        }
        return finish(decoder, sink);
    }
    // Small files: one buffer of their size (plus one byte, so a file that grew is still read
    // to its end), not a zeroed 1 MiB per file.
    let mut buf = match &input {
        Input::File(_, size) => vec![0u8; (*size as usize + 1).min(CHUNK)],
        Input::Channel(_) => Vec::new(),
    };
    loop {
        let chunk: Bytes;
        let data: &[u8] = match &mut input {
            Input::File(f, _) => {
                let n = read_full(f, &mut buf).map_err(PipeError::Read)?;
                if n == 0 {
                    break;
                }
                &buf[..n]
            }
            Input::Channel(rx) => match rx.blocking_recv() {
                None => break,
                Some(Err(e)) => return Err(PipeError::Storage(e)),
                Some(Ok(b)) => {
                    chunk = b;
                    &chunk
                }
            },
        };
        feed(data, sink)?;
    }
    finish(decoder, sink)
}

fn finish(decoder: Option<Unzstd>, sink: &mut Sink) -> Result<(), PipeError> {
    match decoder {
        Some(mut d) => d.finish(sink),
        None => Ok(()),
    }
}

/// Reads until `buf` is full or the file ends: fewer, larger chunks downstream.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Restoring a plain local object by copying it inside the kernel (`copy_file_range`, as
/// `cp` does), then hashing the copy from the scratch file's own pages.
///
/// `write` from the object's mapping copies each byte out of user pages, faulting them in as
/// it goes, where `cp -r` lets the kernel copy page to page; the kernel's copy saves system
/// time (benches/README.md has the profile and the figures). Hashing the scratch file after
/// each window is copied keeps the write path's property and makes it stronger: the digest
/// covers the bytes as they sit in the scratch file, not a buffer they were written from.
#[cfg(target_os = "linux")]
mod copy {
    use std::fs::File;
    use std::io;

    use super::{PipeError, Sink, WINDOW};

    /// Copies `size` bytes of `src` into the sink's scratch file, window by window, hashing
    /// each window from the scratch file once it is there. `Ok(false)`: nothing was done,
    /// take the write path (no scratch file, or the kernel cannot copy between these two).
    /// Asked again for every file, at the cost of one failing syscall: one drill's scratch
    /// area on another filesystem must not turn the copy off for the next drill's.
    pub(super) fn restore(src: &File, size: u64, sink: &mut Sink) -> Result<bool, PipeError> {
        let Some(dst) = &sink.file else {
            return Ok(false);
        };
        let dst = dst.try_clone().map_err(PipeError::Write)?;
        let mut offset = 0u64;
        while offset < size {
            if sink.cancel.is_cancelled() {
                return Err(PipeError::Interrupted);
            }
            let want = (size - offset).min(WINDOW as u64) as usize;
            let copied = match copy_range(src, &dst, offset, want) {
                Ok(n) => n,
                Err(e) if offset == 0 && unsupported(&e) => return Ok(false),
                Err(e) if scratch_side(&e) => return Err(PipeError::Write(e)),
                // Reading the backup failed (EIO from its disk): a finding about the object.
                Err(e) => return Err(PipeError::Read(e)),
            };
            if copied == 0 {
                break; // the object is shorter than its size said: the digest will tell
            }
            #[cfg(test)]
            hook::AFTER_COPY.with_borrow(|hook| hook.as_ref().map(|f| f(&dst)));
            let window =
                lifeboat_hash::map_range(&dst, offset, copied).map_err(PipeError::Write)?;
            sink.written(&window)?;
            // Only someone truncating the scratch file under us could make this fail.
            window.check().map_err(PipeError::Write)?;
            offset += copied as u64;
            if copied < want {
                break;
            }
        }
        Ok(true)
    }

    /// Errors that mean "this kernel or filesystem pair cannot copy_file_range".
    fn unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM)
        )
    }

    /// Errors about the scratch area, not the backup.
    fn scratch_side(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG | libc::EROFS | libc::EBADF)
        )
    }

    /// Copies up to `len` bytes at `offset` of `src` to the same offset of `dst`; fewer only
    /// where `src` ends.
    #[allow(unsafe_code)]
    fn copy_range(src: &File, dst: &File, offset: u64, len: usize) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let mut off_in = i64::try_from(offset).map_err(io::Error::other)?;
        let mut off_out = off_in;
        let mut done = 0;
        while done < len {
            // SAFETY: both descriptors stay open for the call (borrowed `File`s); the offsets
            // are valid `loff_t`s we own, and the kernel advances them.
            let n = unsafe {
                libc::copy_file_range(
                    src.as_raw_fd(),
                    &mut off_in,
                    dst.as_raw_fd(),
                    &mut off_out,
                    len - done,
                    0,
                )
            };
            match n {
                0 => break,
                n if n > 0 => done += n as usize,
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
        Ok(done)
    }

    #[cfg(test)]
    pub(super) mod hook {
        /// Run on the scratch file after each window is copied, before it is hashed.
        pub(in super::super) type Hook = Option<Box<dyn Fn(&std::fs::File)>>;

        thread_local! {
            pub(in super::super) static AFTER_COPY: std::cell::RefCell<Hook> =
                const { std::cell::RefCell::new(None) };
        }
    }
}

/// Elsewhere every object takes the write path.
#[cfg(not(target_os = "linux"))]
mod copy {
    use std::fs::File;

    use super::{PipeError, Sink};

    pub(super) fn restore(_: &File, _: u64, _: &mut Sink) -> Result<bool, PipeError> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests;
