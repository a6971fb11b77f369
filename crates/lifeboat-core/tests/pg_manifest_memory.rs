//! What parsing a PostgreSQL `backup_manifest` allocates at its peak, against what the parsed
//! manifest keeps: a manifest is written by the machine the backup protects, and its shortest
//! entries (`{"Path":"a","Size":0}`) are a few bytes each, so the files it lists must never
//! all be held as JSON decodes them on top of what they are listed as.
//!
//! This test binary counts every allocation its test thread makes while parsing (a global
//! allocator over the system's, counting only on a thread that asks it to).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sha2::Digest as _;

struct Counting;

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

// The one unsafe code here: a test-only allocator, as `GlobalAlloc` requires.
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

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 200,000 of the shortest entries a manifest may list, sealed with a correct checksum.
fn shortest_entries() -> Vec<u8> {
    let files: Vec<String> = (0..200_000)
        .map(|n| format!(r#"{{"Path":"f{n}","Size":0}}"#))
        .collect();
    let mut text = format!(
        "{{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n{}\n],\n",
        files.join(",\n")
    );
    let sum = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    text.push_str(&format!("\"Manifest-Checksum\": \"{sum}\"}}\n"));
    text.into_bytes()
}

#[test]
fn parsing_a_manifest_of_the_shortest_entries_holds_little_more_than_it_lists() {
    let bytes = shortest_entries();
    NOW.set(0);
    PEAK.set(0);
    COUNTING.set(true);
    let parsed = lifeboat_core::manifest::pg::parse(&bytes).expect("the manifest parses");
    COUNTING.set(false);
    let (peak, kept) = (PEAK.get(), NOW.get());
    assert_eq!(parsed.files.len(), 200_000);
    eprintln!(
        "{} bytes of manifest, 200,000 files: kept {kept} bytes, {peak} at the peak",
        bytes.len()
    );
    // What is kept is the files as listed; the peak adds the map of their paths that finds
    // one listed twice (about as large again), nothing per file as JSON decodes it: held
    // that way too, the 200,000 files took 53 MB at the peak for these 14 MB.
    assert!(peak <= 2 * kept, "{peak} bytes at the peak for {kept} kept");
}
