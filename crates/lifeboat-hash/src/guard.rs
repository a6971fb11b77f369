//! Surviving a mapped file that can no longer be read.
//!
//! Touching a page of a file mapping that the kernel cannot fill raises SIGBUS: the file was
//! truncated below the page while mapped, or its disk returned an I/O error. Left alone that
//! kills the process, and with `lifeboat schedule` the whole daemon, with no evidence written:
//! exactly the backups a verifier exists to report on. Every mapped [`Window`](crate::Window)
//! registers its address range here; a SIGBUS inside a registered range maps a zero page over
//! the faulting page (the read then goes on, over zeros) and marks the range, and the window's
//! reader turns the mark into an I/O error once it is done with the bytes. A SIGBUS anywhere
//! else goes to the handler that was there before (Rust's own, or the default: the process
//! dies, as it always did).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Ranges guarded at once. A drill keeps at most a few dozen windows alive (two per file in
/// flight); a window that finds no free slot is simply unguarded, as every window was before.
const SLOTS: usize = 256;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    faulted: AtomicBool,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        faulted: AtomicBool::new(false),
    }
}; SLOTS];

/// A registered range; unregistered on drop (before the mapping itself goes).
#[derive(Debug)]
pub(crate) struct Guard {
    slot: Option<usize>,
}

impl Guard {
    /// Guards `[addr, addr + len)`.
    pub(crate) fn new(addr: usize, len: usize) -> Guard {
        if len == 0 || !install() {
            return Guard { slot: None };
        }
        for (i, s) in TABLE.iter().enumerate() {
            if s.start
                .compare_exchange(0, addr, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                s.faulted.store(false, Ordering::Release);
                // Matched by the handler only once `end` is set; nothing touches the range
                // before `new` returns.
                s.end.store(addr + len, Ordering::Release);
                return Guard { slot: Some(i) };
            }
        }
        Guard { slot: None }
    }

    /// Whether a page of the range could not be read (it then reads as zeros).
    pub(crate) fn faulted(&self) -> bool {
        self.slot
            .is_some_and(|i| TABLE[i].faulted.load(Ordering::Acquire))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            TABLE[i].end.store(0, Ordering::Release);
            TABLE[i].start.store(0, Ordering::Release);
        }
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod handler {
    use std::sync::OnceLock;
    use std::sync::atomic::Ordering;

    use super::TABLE;

    /// The SIGBUS action before ours, called for faults outside every guarded range.
    static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

    /// Installs the handler once per process; `false` if that failed (windows go unguarded).
    pub(super) fn install() -> bool {
        PREVIOUS
            .get_or_init(|| {
                // SAFETY: sigaction with a zeroed, then filled, struct; the handler below only
                // does async-signal-safe work (atomics, mmap, sigaction).
                unsafe {
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = on_sigbus as *const () as usize;
                    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut new.sa_mask);
                    let mut old: libc::sigaction = std::mem::zeroed();
                    (libc::sigaction(libc::SIGBUS, &new, &mut old) == 0).then_some(old)
                }
            })
            .is_some()
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        for s in TABLE.iter() {
            let end = s.end.load(Ordering::Acquire);
            let start = s.start.load(Ordering::Acquire);
            if start != 0 && start <= addr && addr < end {
                let page = page_size();
                let at = addr & !(page - 1);
                // SAFETY: replaces one page inside a mapping this process owns and keeps
                // alive while the range is registered; MAP_FIXED over it is the point.
                let zero = unsafe {
                    libc::mmap(
                        at as *mut libc::c_void,
                        page,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if zero != libc::MAP_FAILED {
                    s.faulted.store(true, Ordering::Release);
                    return; // the faulting read runs again, over zeros
                }
                break;
            }
        }
        // Not ours (or the zero page could not be mapped): what would have happened anyway.
        match PREVIOUS.get().copied().flatten() {
            Some(old) if old.sa_flags & libc::SA_SIGINFO != 0 && old.sa_sigaction > 1 => {
                // SAFETY: the previous SA_SIGINFO handler, called as the kernel would.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig, info, ctx);
            }
            Some(old) if old.sa_sigaction > 1 => {
                // SAFETY: the previous plain handler.
                let f: extern "C" fn(libc::c_int) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig);
            }
            _ => {
                // SIG_DFL (or SIG_IGN, which cannot hold for a fault): restore the default
                // and return, so the faulting access raises it again and ends the process.
                // SAFETY: plain sigaction call.
                unsafe {
                    let mut dfl: libc::sigaction = std::mem::zeroed();
                    dfl.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
                }
            }
        }
    }

    fn page_size() -> usize {
        // SAFETY: sysconf is async-signal-safe and has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 { n as usize } else { 4096 }
    }
}

#[cfg(unix)]
use handler::install;

#[cfg(not(unix))]
fn install() -> bool {
    false
}
