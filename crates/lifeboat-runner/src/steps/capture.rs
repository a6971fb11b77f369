//! The end of a stream, bounded, and whether a needle was seen anywhere in it: a `run`
//! step's stdout and stderr, an `http` step's response body.

use super::run::OUTPUT_TAIL_BYTES;

/// The end of a stream, at most [`OUTPUT_TAIL_BYTES`], and whether a needle was seen anywhere
/// in it (matched across read boundaries without keeping the whole output).
pub(super) struct Capture {
    tail: Vec<u8>,
    needle: Option<Vec<u8>>,
    carry: Vec<u8>,
    pub(super) found: bool,
    total: u64,
}

impl Capture {
    pub(super) fn new(needle: Option<&str>) -> Self {
        Capture {
            tail: Vec::new(),
            needle: needle.map(|n| n.as_bytes().to_vec()),
            carry: Vec::new(),
            found: false,
            total: 0,
        }
    }

    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.tail.extend_from_slice(chunk);
        if self.tail.len() > OUTPUT_TAIL_BYTES {
            let cut = self.tail.len() - OUTPUT_TAIL_BYTES;
            self.tail.drain(..cut);
        }
        if let Some(needle) = &self.needle
            && !self.found
        {
            self.carry.extend_from_slice(chunk);
            if needle.is_empty() || self.carry.windows(needle.len()).any(|w| w == needle) {
                self.found = true;
            }
            let keep = needle.len().saturating_sub(1);
            if self.carry.len() > keep {
                let cut = self.carry.len() - keep;
                self.carry.drain(..cut);
            }
        }
    }

    pub(super) fn tail_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.tail).into_owned();
        if self.total > self.tail.len() as u64 {
            format!("…{text}")
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_tail_and_finds_needles_across_chunks() {
        let mut c = Capture::new(Some("okay"));
        c.push(b"xxo");
        c.push(b"ka");
        assert!(!c.found);
        c.push(b"y!");
        assert!(c.found);
        let mut big = Capture::new(None);
        big.push(&vec![b'a'; OUTPUT_TAIL_BYTES + 10]);
        big.push(b"END");
        assert_eq!(big.tail.len(), OUTPUT_TAIL_BYTES);
        assert!(big.tail_text().starts_with('…') && big.tail_text().ends_with("END"));
    }
}
