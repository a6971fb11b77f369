//! An allocator for a test binary that counts what its test thread allocates: for tests that
//! hold a parser to what it may hold in memory (a restic tree, a PostgreSQL manifest), by what
//! it really allocates rather than by an estimate.
//!
//! A test binary installs it, then measures with [`measure`]:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: lifeboat_testkit::counting::Counting = lifeboat_testkit::counting::Counting;
//! ```
//!
//! Only the thread inside [`measure`] is counted, so tests running beside it on other threads
//! change nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system's allocator, counting on a thread inside [`measure`].
pub struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static NOW: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let now = NOW.get() + delta;
            NOW.set(now);
            PEAK.set(PEAK.get().max(now));
        }
    });
}

// The one unsafe code in the test kit: an allocator, as `GlobalAlloc` requires.
// SAFETY: every call is passed to the system allocator unchanged; the counting only reads
// and writes thread-local cells that never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        // SAFETY: as the caller promised for `ptr` and `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a copy: the old block and the new one, then the old one freed.
        count(new_size as i64);
        count(-(layout.size() as i64));
        // SAFETY: as the caller promised for `ptr`, `layout` and `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` on this thread, counting what it allocates (with [`Counting`] installed): its
/// value, the most bytes it had allocated at once, and the bytes still allocated when it
/// returned (what its value holds, and anything it leaked). Without [`Counting`] installed,
/// both are 0.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    NOW.set(0);
    PEAK.set(0);
    COUNTING.set(true);
    let value = f();
    COUNTING.set(false);
    let (peak, now) = (PEAK.get(), NOW.get());
    (value, peak.max(0) as u64, now.max(0) as u64)
}
