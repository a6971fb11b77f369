//! Frame headers read as zstd reads them, large windows decoded within the budget, and the
//! truncated / too-large verdicts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeboat_core::Algorithm;
use lifeboat_hash::Hasher;
use zstd::zstd_safe::CParameter;

use super::*;
use crate::NoProgress;

/// A frame compressed as a stream of unknown size with window log `log` (so the header keeps
/// that window, as `zstd --long=31` on a pipe does).
fn streamed(data: &[u8], log: u32) -> Vec<u8> {
    let mut enc = zstd::stream::raw::Encoder::new(3).unwrap();
    use zstd::stream::raw::Operation;
    enc.set_parameter(CParameter::WindowLog(log)).unwrap();
    enc.set_parameter(CParameter::EnableLongDistanceMatching(true))
        .unwrap();
    let mut out = vec![0u8; data.len() + 1024];
    let mut outb = zstd_safe::OutBuffer::around(out.as_mut_slice());
    let mut inb = zstd_safe::InBuffer::around(data);
    enc.run(&mut inb, &mut outb).unwrap();
    assert_eq!(inb.pos(), data.len());
    while enc.finish(&mut outb, true).unwrap() != 0 {}
    let n = outb.pos();
    out.truncate(n);
    out
}

/// A one-shot frame of known size: single segment, the window is the content size.
fn one_shot(data: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(data, 3).unwrap()
}

fn sink() -> Sink {
    Sink {
        hasher: Hasher::new(Algorithm::Sha256),
        file: None,
        writeback: false,
        bytes: 0,
        flushed: 0,
        released: 0,
        progress: Arc::new(NoProgress),
        cancel: CancellationToken::new(),
    }
}

fn budget(capacity: u64) -> &'static Budget {
    Box::leak(Box::new(Budget::new(capacity)))
}

/// Decodes `stream` fed in `chunk`-byte pieces: the verdict, and the SHA-256 (hex) of the
/// bytes out.
fn decode(
    stream: &[u8],
    chunk: usize,
    budget: &'static Budget,
) -> (Result<(), PipeError>, Vec<u8>) {
    let mut s = sink();
    let mut d = Unzstd::new(budget, CancellationToken::new()).unwrap();
    let mut r = Ok(());
    for piece in stream.chunks(chunk.max(1)) {
        r = d.feed(piece, &mut s);
        if r.is_err() {
            break;
        }
    }
    if r.is_ok() {
        r = d.finish(&mut s);
    }
    (r, s.hasher.finalize_hex().into_bytes())
}

fn sha256_hex(b: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(Algorithm::Sha256);
    h.update(b);
    h.finalize_hex().into_bytes()
}

#[test]
fn headers_say_the_window_zstd_will_need() {
    let data = lifeboat_testkit::prng::text_bytes(5000, 1);
    for log in [10, 20, 27, 28, 31] {
        let frame = streamed(&data, log);
        assert_eq!(
            frame_header(&frame),
            Header::Frame { window: 1 << log },
            "window log {log}"
        );
        for cut in 0..6 {
            assert_eq!(frame_header(&frame[..cut]), Header::NeedMore, "cut {cut}");
        }
    }
    // Single segment: the content size, in each of its field widths (2 bytes: +256).
    for len in [0usize, 200, 1000, 70_000] {
        let frame = one_shot(&vec![7u8; len]);
        assert_eq!(
            frame_header(&frame),
            Header::Frame { window: len as u64 },
            "{len} bytes"
        );
    }
    // A mantissa: 2^27 + 3 × 2^24.
    let mut frame = streamed(&data, 27);
    frame[5] = (17 << 3) | 3;
    assert_eq!(
        frame_header(&frame),
        Header::Frame {
            window: (1 << 27) + 3 * (1 << 24)
        }
    );
    // Skippable frames and garbage are for the decoder to judge.
    assert_eq!(
        frame_header(&[0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0]),
        Header::Other
    );
    assert_eq!(frame_header(b"not zstd at all"), Header::Other);
}

#[test]
fn a_2_gib_window_frame_decodes_and_holds_the_budget_only_while_it_needs_it() {
    let data = lifeboat_testkit::prng::text_bytes(300_000, 2);
    let frame = streamed(&data, 31);
    let b = budget(1 << 31);
    let mut s = sink();
    let mut d = Unzstd::new(b, CancellationToken::new()).unwrap();
    d.feed(&frame[..10], &mut s).unwrap();
    assert_eq!(
        b.used(),
        1 << 31,
        "the frame's window is taken as it starts"
    );
    d.feed(&frame[10..], &mut s).unwrap();
    d.finish(&mut s).unwrap();
    assert_eq!(s.hasher.finalize_hex().into_bytes(), sha256_hex(&data));
    drop(d);
    assert_eq!(b.used(), 0, "given back when the decoder goes");

    // Small windows never touch the budget.
    let b = budget(1 << 31);
    let (r, out) = decode(&streamed(&data, 27), 4096, b);
    r.unwrap();
    assert_eq!(out, sha256_hex(&data));
    assert_eq!(b.used(), 0);
}

#[test]
fn frames_with_different_windows_and_tiny_frames_decode_whatever_the_chunking() {
    let a = lifeboat_testkit::prng::text_bytes(100_000, 3);
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    // Frames shorter than a header, back to back, then large-window frames.
    for part in [&b""[..], b"a", b"", b"hello"] {
        stream.extend(one_shot(part));
        expected.extend_from_slice(part);
    }
    stream.extend(streamed(&a, 20));
    stream.extend(streamed(&a, 29));
    stream.extend(one_shot(b"!"));
    expected.extend_from_slice(&a);
    expected.extend_from_slice(&a);
    expected.push(b'!');
    for chunk in [1, 7, 18, 19, 4096, stream.len()] {
        let (r, out) = decode(&stream, chunk, budget(1 << 31));
        r.unwrap_or_else(|e| panic!("chunk {chunk}: {e:?}"));
        assert_eq!(out, sha256_hex(&expected), "chunk {chunk}");
    }
}

#[test]
fn truncated_streams_are_truncated_and_oversized_windows_are_too_large() {
    let data = lifeboat_testkit::prng::text_bytes(50_000, 4);
    let frame = streamed(&data, 28);
    for cut in [0, 3, 5, 12, frame.len() / 2, frame.len() - 1] {
        let (r, _) = decode(&frame[..cut], 1000, budget(1 << 31));
        assert!(matches!(r, Err(PipeError::Truncated)), "cut {cut}: {r:?}");
    }
    // Two whole frames and the first bytes of a third: truncated, not fine.
    let mut two = one_shot(b"x");
    two.extend(one_shot(b"y"));
    two.extend_from_slice(&frame[..3]);
    let (r, _) = decode(&two, 5, budget(1 << 31));
    assert!(matches!(r, Err(PipeError::Truncated)), "{r:?}");

    let mut big = frame.clone();
    big[5] = 22 << 3; // 2^32
    let (r, _) = decode(&big, 4096, budget(1 << 31));
    assert!(
        matches!(r, Err(PipeError::WindowTooLarge { window: Some(w) }) if w == 1 << 32),
        "{r:?}"
    );
    // Bad bytes stay corrupt.
    let (r, _) = decode(b"this is not a zstd stream", 4096, budget(1 << 31));
    assert!(matches!(r, Err(PipeError::Zstd(_))), "{r:?}");
}

#[test]
fn a_decoder_waits_for_the_budget_and_an_interruption_ends_the_wait() {
    let b = budget(1 << 31);
    let cancel = CancellationToken::new();
    let held = b.take(1 << 31, &cancel).unwrap();
    // Another frame needing 2^30 waits while the whole budget is held...
    let waiter = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let g = b.take(1 << 30, &cancel).map(|g| g.bytes);
            (g, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let (got, waited) = waiter.join().unwrap();
    assert_eq!(got.unwrap(), 1 << 30);
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(b.used(), 0);

    // ...and gives up when the drill is interrupted.
    let held = b.take(1 << 31, &cancel).unwrap();
    let waiter = {
        let cancel = cancel.clone();
        std::thread::spawn(move || b.take(1, &cancel).map(|g| g.bytes))
    };
    std::thread::sleep(Duration::from_millis(100));
    cancel.cancel();
    assert!(matches!(
        waiter.join().unwrap(),
        Err(PipeError::Interrupted)
    ));
    drop(held);
    assert_eq!(b.used(), 0);
}
