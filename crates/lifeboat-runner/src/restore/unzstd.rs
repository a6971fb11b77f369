//! Decoding `.zst` objects as they stream: a decoder that notices a stream cut off inside a
//! frame, and that decodes frames with large windows within a process-wide memory budget.
//!
//! A zstd decoder keeps up to one *window* of output to copy matches from, so a frame's
//! window is the memory it needs (zstd allocates it as the frame starts and fills it as
//! output passes through). zstd's default limit is 2^27 bytes, 128 MiB: what `zstd -d`
//! accepts without `--long`/`--memory`. `zstd --long=31` on a pipe (a `tar c | zstd` backup)
//! declares 2^31, 2 GiB, the most zstd makes or decodes, and was reported `corrupt`.
//!
//! The arithmetic: a drill has up to 16 files in flight (more on machines with more than 8
//! cores), each with its own decoder. At 128 MiB each that is 2 GiB; raising every decoder's
//! limit to 2 GiB would allow 32 GiB, more than many runners have, and a hostile backup could
//! ask for all of it. So frames up to 128 MiB decode as before, and a frame needing more
//! takes its window from [`BUDGET`], 2 GiB shared by the whole process (every drill of a
//! `lifeboat schedule` too), waiting — interruptibly — while others hold it: at most
//! 16 × 128 MiB + 2 GiB = 4 GiB of windows however many such files a backup holds. A frame
//! declaring more than 2 GiB fails with `window too large`, naming both sizes: zstd cannot
//! decode it on any machine.
//!
//! Each frame's header is read before the decoder sees it (a stream may concatenate frames
//! with different windows), and the decoder's limit is set to what was granted: it then
//! refuses anything the budget did not cover.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer};

use super::{CHUNK, PipeError, Sink};

/// The window every decoder may use without asking: zstd's own default, 2^27 bytes.
const FREE_WINDOW_LOG: u32 = 27;
/// The largest window zstd decodes (`ZSTD_WINDOWLOG_MAX` on 64-bit systems): 2^31 bytes.
pub(crate) const MAX_WINDOW_LOG: u32 = 31;
/// The most a frame header occupies (`ZSTD_FRAMEHEADERSIZE_MAX`).
const HEADER_MAX: usize = 18;
/// How often a decoder waiting for the budget checks whether its drill was interrupted.
const WAIT_CHECK: Duration = Duration::from_millis(50);

/// The memory for windows over [`FREE_WINDOW_LOG`], shared by every decoder in the process:
/// one window of the largest size zstd makes.
pub(crate) static BUDGET: Budget = Budget::new(1 << MAX_WINDOW_LOG);

/// Bytes of window memory that decoders take and give back; see the module's doc.
#[derive(Debug)]
pub(crate) struct Budget {
    capacity: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    pub(crate) const fn new(capacity: u64) -> Self {
        Budget {
            capacity,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Takes `bytes` (at most the capacity), waiting while others hold too much of it.
    /// `Err` once `cancel` fires.
    fn take(&self, bytes: u64, cancel: &CancellationToken) -> Result<Grant<'_>, PipeError> {
        let bytes = bytes.min(self.capacity);
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used + bytes > self.capacity {
            if cancel.is_cancelled() {
                return Err(PipeError::Interrupted);
            }
            used = self
                .freed
                .wait_timeout(used, WAIT_CHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *used += bytes;
        Ok(Grant {
            budget: self,
            bytes,
        })
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Window memory taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
struct Grant<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        let mut used = self
            .budget
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// What the start of a frame says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// Too few bytes yet to tell.
    NeedMore,
    /// A zstd frame needing a window of this many bytes.
    Frame { window: u64 },
    /// A skippable frame (no window), or bytes that are no frame at all: the decoder judges.
    Other,
}

/// Reads the window a frame needs from its first bytes (RFC 8878, 3.1.1.1).
pub(crate) fn frame_header(head: &[u8]) -> Header {
    let Some(magic) = head.first_chunk::<4>().map(|m| u32::from_le_bytes(*m)) else {
        return Header::NeedMore;
    };
    if magic != 0xFD2F_B528 {
        return Header::Other;
    }
    let Some(&descriptor) = head.get(4) else {
        return Header::NeedMore;
    };
    if descriptor & 0x20 == 0 {
        // Window_Descriptor: exponent and mantissa.
        let Some(&wd) = head.get(5) else {
            return Header::NeedMore;
        };
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        return Header::Frame {
            window: base + (base / 8) * u64::from(wd & 7),
        };
    }
    // Single segment: the window is the frame's content size, after the dictionary id.
    let dict_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_len = [1, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + dict_len;
    let Some(field) = head.get(at..at + size_len) else {
        return Header::NeedMore;
    };
    let mut size = [0u8; 8];
    size[..size_len].copy_from_slice(field);
    let size = u64::from_le_bytes(size);
    Header::Frame {
        window: if size_len == 2 { size + 256 } else { size },
    }
}

/// zstd's `ZSTD_error_frameParameter_windowTooLarge`; errors come back as `0 - code`.
const WINDOW_TOO_LARGE: usize =
    zstd_safe::zstd_sys::ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge as usize;

/// A streaming zstd decoder that notices a stream cut off inside a frame, and takes large
/// windows from [`BUDGET`].
pub(super) struct Unzstd {
    dctx: DCtx<'static>,
    out: Vec<u8>,
    budget: &'static Budget,
    /// Window memory held beyond the free limit, for the largest frame seen so far.
    grant: Option<Grant<'static>>,
    /// The decoder's current window limit (log2).
    window_log: u32,
    /// No frame has begun, or the last one ended: the next bytes start a frame.
    at_frame_start: bool,
    /// The start of the next frame, kept until its header can be read.
    head: Vec<u8>,
    seen_input: bool,
    cancel: CancellationToken,
}

impl Unzstd {
    pub(super) fn new(
        budget: &'static Budget,
        cancel: CancellationToken,
    ) -> Result<Self, PipeError> {
        let dctx = DCtx::try_create()
            .ok_or_else(|| PipeError::Zstd("cannot allocate a zstd decoder".into()))?;
        Ok(Unzstd {
            dctx,
            out: vec![0u8; CHUNK],
            budget,
            grant: None,
            window_log: FREE_WINDOW_LOG,
            at_frame_start: true,
            head: Vec::new(),
            seen_input: false,
            cancel,
        })
    }

    pub(super) fn feed(&mut self, mut input: &[u8], sink: &mut Sink) -> Result<(), PipeError> {
        if !input.is_empty() {
            self.seen_input = true;
        }
        loop {
            if self.at_frame_start {
                let n = (HEADER_MAX - self.head.len()).min(input.len());
                self.head.extend_from_slice(&input[..n]);
                input = &input[n..];
                let header = frame_header(&self.head);
                if header == Header::NeedMore && self.head.len() < HEADER_MAX {
                    return Ok(()); // all input is in `head`: wait for more
                }
                if let Header::Frame { window } = header {
                    self.allow(window)?;
                }
                self.at_frame_start = false;
                let head = std::mem::take(&mut self.head);
                let used = self.decode(&head, sink)?;
                if used < head.len() {
                    // A whole frame ended inside the header bytes: the rest begins the next.
                    self.head = head[used..].to_vec();
                    continue;
                }
            }
            if input.is_empty() {
                return Ok(());
            }
            let used = self.decode(input, sink)?;
            input = &input[used..];
        }
    }

    /// Lets the decoder use a `window`-byte window, taking budget for it when it is larger
    /// than the free limit and than what is held already.
    fn allow(&mut self, window: u64) -> Result<(), PipeError> {
        if window > 1 << MAX_WINDOW_LOG {
            return Err(PipeError::WindowTooLarge {
                window: Some(window),
            });
        }
        let log = window.max(1).next_power_of_two().trailing_zeros();
        if log <= self.window_log {
            return Ok(());
        }
        // Give back before taking more: two decoders each holding some and waiting for
        // more would wait for each other.
        self.grant = None;
        self.grant = Some(self.budget.take(window, &self.cancel)?);
        self.dctx
            .set_parameter(DParameter::WindowLogMax(log))
            .map_err(|code| PipeError::Zstd(zstd_safe::get_error_name(code).into()))?;
        self.window_log = log;
        Ok(())
    }

    /// Decodes from `input` until it is used up or a frame ends (then `at_frame_start`);
    /// returns the bytes used.
    fn decode(&mut self, input: &[u8], sink: &mut Sink) -> Result<usize, PipeError> {
        let mut used = 0;
        while used < input.len() {
            let mut inb = InBuffer::around(&input[used..]);
            let mut outb = OutBuffer::around(self.out.as_mut_slice());
            let hint = self
                .dctx
                .decompress_stream(&mut outb, &mut inb)
                .map_err(decode_error)?;
            used += inb.pos();
            let written = outb.pos();
            sink.put(&self.out[..written])?;
            if hint == 0 {
                self.at_frame_start = true;
                return Ok(used);
            }
        }
        Ok(used)
    }

    pub(super) fn finish(&mut self, sink: &mut Sink) -> Result<(), PipeError> {
        // Drain output the decoder still holds because `out` was full.
        loop {
            let mut inb = InBuffer::around(&[]);
            let mut outb = OutBuffer::around(self.out.as_mut_slice());
            let hint = self
                .dctx
                .decompress_stream(&mut outb, &mut inb)
                .map_err(decode_error)?;
            let written = outb.pos();
            sink.put(&self.out[..written])?;
            if written < self.out.len() {
                if written > 0 && hint == 0 {
                    self.at_frame_start = true;
                }
                break;
            }
        }
        // Nothing at all, a frame without its end, or the start of a frame without its header.
        if !self.seen_input || !self.at_frame_start || !self.head.is_empty() {
            return Err(PipeError::Truncated);
        }
        Ok(())
    }
}

fn decode_error(code: usize) -> PipeError {
    if code.wrapping_neg() == WINDOW_TOO_LARGE {
        // The header said less than the decoder found: whatever it is, not a size we allow.
        PipeError::WindowTooLarge { window: None }
    } else {
        PipeError::Zstd(zstd_safe::get_error_name(code).into())
    }
}

#[cfg(test)]
mod tests;
