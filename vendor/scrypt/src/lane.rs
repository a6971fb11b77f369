//! lifeboat's patch (see vendor/README.md): the `N * r * 128`-byte vector a `ROMix` lane fills
//! and then reads at random. On Linux it is mapped on its own, aligned to 2 MiB, and the
//! kernel is asked to back it with transparent huge pages (`MADV_HUGEPAGE`): 16 page faults
//! instead of 8,192 for restic's 32 MiB, and the random reads of the second loop stay within
//! the TLB. Where that cannot be had (another system, a vector under 2 MiB, a failed mapping)
//! it is a plain zeroed `Vec`, as upstream's. `ROMix` overwrites the whole vector before it
//! reads any of it, so the output does not depend on how it was allocated.

use alloc::vec::Vec;

/// A lane's vector, zeroed when made.
pub(crate) enum LaneVector {
    /// Memory from the heap, as upstream allocates it.
    Heap(Vec<u8>),
    /// An anonymous mapping of its own: `len` bytes from `at`, inside `map_len` bytes from `map`.
    #[cfg(target_os = "linux")]
    Mapped {
        map: *mut libc::c_void,
        map_len: usize,
        at: *mut u8,
        len: usize,
    },
}

// SAFETY: the mapping is owned by this value alone, as a `Vec` owns its buffer.
unsafe impl Send for LaneVector {}

impl LaneVector {
    /// A zeroed vector of `len` bytes.
    pub(crate) fn new(len: usize) -> LaneVector {
        #[cfg(target_os = "linux")]
        if let Some(mapped) = LaneVector::mapped(len) {
            return mapped;
        }
        LaneVector::Heap(vec![0u8; len])
    }

    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<LaneVector> {
        const HUGE: usize = 2 << 20;
        if len < HUGE {
            return None;
        }
        // Over-sized by one huge page, so that an aligned start lies inside it.
        let map_len = len.checked_add(HUGE)?;
        // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
        // memory the program holds; the result is checked before use.
        let map = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return None;
        }
        let skip = (HUGE - (map as usize) % HUGE) % HUGE;
        // SAFETY: `skip < HUGE`, so `at .. at + len` lies within the `map_len` bytes mapped.
        let at = unsafe { map.cast::<u8>().add(skip) };
        // Advice only: if the kernel has no huge pages to give (or none enabled) the mapping
        // is backed by small pages as any other, so the result is not checked.
        // SAFETY: the range is page-aligned and inside the mapping made above.
        unsafe { libc::madvise(at.cast(), len, libc::MADV_HUGEPAGE) };
        Some(LaneVector::Mapped {
            map,
            map_len,
            at,
            len,
        })
    }

    /// The vector's bytes.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            LaneVector::Heap(v) => v,
            // SAFETY: `len` bytes from `at` are mapped readable and writable for as long as
            // `self` lives, zero-filled by the kernel (so initialised), and borrowed mutably
            // through `self` alone.
            #[cfg(target_os = "linux")]
            LaneVector::Mapped { at, len, .. } => unsafe {
                core::slice::from_raw_parts_mut(*at, *len)
            },
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for LaneVector {
    fn drop(&mut self) {
        if let LaneVector::Mapped { map, map_len, .. } = *self {
            // SAFETY: the mapping was made by `mapped` with this length and is unmapped once;
            // no slice of it outlives `self`.
            unsafe { libc::munmap(map, map_len) };
        }
    }
}
