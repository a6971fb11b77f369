//! Buffers kept between reads. The restic reader reads packs in runs of up to
//! [`MAX_RUN`](crate::restic::MAX_RUN) bytes and opens every chunk into a buffer of its own,
//! each handed on as [`Bytes`] and dropped once the chunk is verified and written. A fresh
//! buffer each time costs the kernel a page fault and a zeroed page per 4 KiB (glibc maps
//! buffers this large afresh and unmaps them on free); kept here and used again, the pages
//! stay mapped. Measured in benches/README.md ("Buffers kept between reads").

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

/// The largest buffer kept: a whole run of a pack. A larger one is freed as usual.
const MAX_KEPT: usize = (crate::restic::MAX_RUN as usize) + 64;

/// The smallest buffer kept: glibc's default mmap threshold. Smaller ones come from its heap
/// without a fresh mapping, so keeping them saves nothing, and a pool of many tiny buffers
/// (a repository of small files) would make every take and drop a long scan.
const MIN_KEPT: usize = 128 << 10;

/// Most bytes kept, over all buffers and threads: what a drill may hold beyond what it
/// uses, after its reads.
const KEPT_BYTES: usize = 64 << 20;

/// The buffers kept and their capacities added up; at most `KEPT_BYTES / MIN_KEPT` of them.
struct Kept {
    buffers: Vec<Vec<u8>>,
    held: usize,
}

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    buffers: Vec::new(),
    held: 0,
});

/// A buffer that goes back to the kept ones when dropped (as the owner of a [`Bytes`], when
/// the last slice of it is).
pub(crate) struct KeptBuffer(Vec<u8>);

impl KeptBuffer {
    /// An empty buffer able to hold `len` bytes without growing when one is kept (the
    /// smallest that can), else the largest kept or a new one.
    pub(crate) fn with_capacity(len: usize) -> KeptBuffer {
        if len < MIN_KEPT {
            return KeptBuffer(Vec::with_capacity(len));
        }
        let found = {
            let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
            let buffers = &kept.buffers;
            let fits = buffers
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            let largest = || {
                buffers
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, b)| b.capacity())
                    .map(|(i, _)| i)
            };
            let taken = fits.or_else(largest).map(|i| kept.buffers.swap_remove(i));
            if let Some(b) = &taken {
                kept.held -= b.capacity();
            }
            taken
        };
        let mut buffer = found.unwrap_or_default();
        buffer.clear();
        buffer.reserve(len);
        KeptBuffer(buffer)
    }

    /// The buffer itself, to fill.
    pub(crate) fn vec(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// Its bytes, handed on; the buffer is kept again once they are all dropped.
    pub(crate) fn into_bytes(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for KeptBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for KeptBuffer {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0);
        if !(MIN_KEPT..=MAX_KEPT).contains(&buffer.capacity()) {
            return;
        }
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.held + buffer.capacity() <= KEPT_BYTES {
            kept.held += buffer.capacity();
            kept.buffers.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_used_again_and_its_bytes_are_never_seen_by_the_next() {
        let mut first = KeptBuffer::with_capacity(1 << 20);
        first.vec().extend_from_slice(&[7; 1 << 20]);
        let bytes = first.into_bytes();
        let at = bytes.as_ptr();
        // A slice alive keeps the buffer out of the pool.
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(&slice[..], &[7; 10]);
        drop(slice);
        let mut again = KeptBuffer::with_capacity(1000);
        assert!(again.vec().is_empty());
        assert!(again.vec().capacity() >= 1000);
        // Other tests may take buffers at the same time: only say it is used again when
        // this one is the one handed back.
        if again.vec().as_ptr() == at {
            assert!(again.vec().capacity() >= 1 << 20);
        }
        // Too large to keep: freed, never pooled.
        let mut huge = KeptBuffer::with_capacity(MAX_KEPT + 1);
        huge.vec().push(1);
        drop(huge);
        // Too small to keep: malloc's heap serves it without a fresh mapping.
        let mut small = KeptBuffer::with_capacity(100);
        small.vec().push(1);
        drop(small);
        let kept = KEPT.lock().unwrap();
        assert!(
            kept.buffers
                .iter()
                .all(|b| (MIN_KEPT..=MAX_KEPT).contains(&b.capacity()))
        );
        assert_eq!(
            kept.held,
            kept.buffers.iter().map(Vec::capacity).sum::<usize>()
        );
        assert!(kept.held <= KEPT_BYTES);
    }
}
