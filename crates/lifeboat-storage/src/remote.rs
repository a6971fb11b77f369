//! Reading one remote object: a single stream, or parallel ranged GETs pinned to its e-tag.
//!
//! A single HTTP stream from S3 or Azure tops out well below what a host can hash (tens to a
//! few hundred MB/s per connection on real clouds), so a large object is fetched as fixed-size
//! parts over several connections at once, the way the AWS CLI, rclone and azcopy do. The
//! parts are handed on in order, so the consumer still sees one stream and hashes it in one
//! pass.
//!
//! Every ranged GET carries `If-Match` with the e-tag of the first response: if the object is
//! replaced while it is being read, the read fails with "changed while being read" instead of
//! splicing two versions into one hash. A part is handed on only once it arrived whole, so a
//! transient error inside a part (retried by object_store from where it stopped, with the same
//! e-tag check) never reaches the hash as a torn or duplicated byte range. Memory is bounded:
//! at most `parallel` parts in flight plus one handed on, in slices, whatever the object's size.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, GetResult, ObjectStore};

use crate::StorageError;

/// Size of one ranged GET. 8 MiB is what the AWS CLI and rclone use by default: large enough
/// that per-request latency is amortised, small enough that a few in flight stay cheap.
pub(crate) const PART_SIZE: u64 = 8 * 1024 * 1024;

/// Largest piece handed on at once: the consumer's queue is counted in pieces.
const SLICE: usize = 1024 * 1024;

/// Objects smaller than this are read with the one GET already under way.
pub(crate) const PARALLEL_THRESHOLD: u64 = 2 * PART_SIZE;

/// How objects of one source are read.
#[derive(Clone, Debug)]
pub(crate) struct ReadPlan {
    /// Ranged GETs in flight at once; 1 reads everything in one stream.
    pub parallel: usize,
    pub part_size: u64,
    pub threshold: u64,
    /// `parallel` permits shared by every object of the source: a part holds one from its
    /// request until it has been handed on, so however many files a drill reads at once,
    /// at most `parallel` parts are in memory. Acquired in part order (the semaphore is
    /// fair), so a later part never holds the permit an earlier one of its file waits for.
    pub permits: Arc<tokio::sync::Semaphore>,
}

impl ReadPlan {
    pub(crate) fn new(parallel: usize) -> ReadPlan {
        ReadPlan {
            parallel,
            part_size: PART_SIZE,
            threshold: PARALLEL_THRESHOLD,
            permits: Arc::new(tokio::sync::Semaphore::new(parallel)),
        }
    }
}

/// What errors about one object say: the source URL, the object's path below it, and the
/// secret values to scrub.
#[derive(Clone)]
pub(crate) struct Names {
    pub url: String,
    pub what: String,
    pub secrets: Arc<[String]>,
}

/// Turns the response of a plain GET into the object's byte stream.
pub(crate) fn body(
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    first: GetResult,
    plan: ReadPlan,
    names: Names,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    let size = first.meta.size;
    let e_tag = first.meta.e_tag.clone();
    let Names { url, what, .. } = names.clone();
    let error = move |e: object_store::Error| read_error(&names, e);
    let e_tag = match e_tag {
        Some(tag) if plan.parallel > 1 && size >= plan.threshold => tag,
        // Small, or a store without e-tags (ranged reads could not be pinned): one stream.
        // object_store resumes a broken stream from its offset when the e-tag still matches.
        _ => return exact_length(first.into_stream().map_err(error).boxed(), size, url, what),
    };

    // The first part comes from the GET already under way; the rest as ranged GETs.
    let first_len = plan.part_size.min(size);
    let head = take_bytes(
        first.into_stream().map_err(error.clone()).boxed(),
        first_len,
    );
    let ranges: Vec<Range<u64>> = (first_len..size)
        .step_by(plan.part_size as usize)
        .map(|start| start..(start + plan.part_size).min(size))
        .collect();

    // Drive the ranged GETs on their own task so they run while the first part is consumed.
    // `buffered` keeps `parallel` requests in flight; a finished part is handed on in slices
    // of at most SLICE bytes (views of the part, no copies), so a consumer that queues
    // items holds slices, not whole parts. The channel holds one part's worth of slices.
    let slices_per_part = (plan.part_size as usize).div_ceil(SLICE).max(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StorageError>>(slices_per_part);
    let parallel = plan.parallel;
    let permits = plan.permits;
    tokio::spawn(async move {
        let mut parts = futures::stream::iter(ranges)
            .map(|range| {
                let store = Arc::clone(&store);
                let path = path.clone();
                let e_tag = e_tag.clone();
                let error = error.clone();
                let permits = Arc::clone(&permits);
                async move {
                    // `None` only if the semaphore were closed, which it never is.
                    let permit = permits.acquire_owned().await.ok();
                    let part = fetch_part(&*store, &path, range, e_tag).await;
                    part.map(|bytes| (bytes, permit)).map_err(error)
                }
            })
            .buffered(parallel);
        while let Some(part) = parts.next().await {
            let (part, _permit) = match part {
                Ok(part) => part,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            };
            for start in (0..part.len()).step_by(SLICE) {
                let slice = part.slice(start..(start + SLICE).min(part.len()));
                // A closed channel means the reader gave up: stop fetching.
                if tx.send(Ok(slice)).await.is_err() {
                    return;
                }
            }
        }
    });
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|part| (part, rx))
    });
    exact_length(head.chain(rest).boxed(), size, url, what)
}

/// One part, whole, from a GET of `range` that only succeeds while the object still has
/// `e_tag`. It is gathered into a buffer kept between reads (`kept.rs`): a fresh 8 MiB
/// buffer per part cost a page fault per 4 KiB, most of a cloud restore's faults. A body
/// longer than the range asked for is refused as soon as it is, not read whole.
async fn fetch_part(
    store: &dyn ObjectStore,
    path: &StorePath,
    range: Range<u64>,
    e_tag: String,
) -> object_store::Result<Bytes> {
    let options = GetOptions {
        if_match: Some(e_tag),
        range: Some(GetRange::Bounded(range.clone())),
        ..GetOptions::default()
    };
    let body = store.get_opts(path, options).await?.into_stream();
    gather(body, range).await
}

/// The body of a ranged GET for `range`, whole, in a kept buffer; refused if it is longer
/// (at the first piece past the end) or shorter than the range.
async fn gather(
    mut body: BoxStream<'static, object_store::Result<Bytes>>,
    range: Range<u64>,
) -> object_store::Result<Bytes> {
    let want = range.end - range.start;
    let wrong_length = |got: &str| object_store::Error::Generic {
        store: "lifeboat",
        source: format!(
            "asked for bytes {}..{} and got {got} bytes",
            range.start, range.end
        )
        .into(),
    };
    let mut part = crate::kept::KeptBuffer::with_capacity(usize::try_from(want).unwrap_or(0));
    while let Some(piece) = body.next().await {
        let piece = piece?;
        if (part.vec().len() + piece.len()) as u64 > want {
            return Err(wrong_length(&format!("more than {want}")));
        }
        part.vec().extend_from_slice(&piece);
    }
    if part.vec().len() as u64 != want {
        return Err(wrong_length(&part.vec().len().to_string()));
    }
    Ok(part.into_bytes())
}

/// The first `limit` bytes of a stream; the rest of the response is dropped unread.
fn take_bytes(
    stream: BoxStream<'static, Result<Bytes, StorageError>>,
    limit: u64,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    futures::stream::unfold((stream, limit), |(mut stream, left)| async move {
        if left == 0 {
            return None;
        }
        match stream.next().await? {
            Ok(mut chunk) => {
                if chunk.len() as u64 > left {
                    chunk.truncate(left as usize);
                }
                let left = left - chunk.len() as u64;
                Some((Ok(chunk), (stream, left)))
            }
            Err(e) => Some((Err(e), (stream, 0))),
        }
    })
    .boxed()
}

/// Fails the stream if it ends before or runs past the size the store announced: a body cut
/// short without a transport error must not pass as a shorter object.
fn exact_length(
    stream: BoxStream<'static, Result<Bytes, StorageError>>,
    size: u64,
    url: String,
    what: String,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    futures::stream::unfold((stream, 0u64, false), move |(mut stream, seen, done)| {
        let url = url.clone();
        let what = what.clone();
        async move {
            if done {
                return None;
            }
            let short = |seen: u64| StorageError::Unavailable {
                url: url.clone(),
                detail: format!("reading {what}: the store announced {size} bytes but sent {seen}"),
            };
            match stream.next().await {
                Some(Ok(chunk)) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > size {
                        Some((Err(short(seen)), (stream, seen, true)))
                    } else {
                        Some((Ok(chunk), (stream, seen, false)))
                    }
                }
                Some(Err(e)) => Some((Err(e), (stream, seen, true))),
                None if seen != size => Some((Err(short(seen)), (stream, seen, true))),
                None => None,
            }
        }
    })
    .boxed()
}

fn read_error(names: &Names, e: object_store::Error) -> StorageError {
    let what = &names.what;
    if matches!(e, object_store::Error::Precondition { .. }) {
        return StorageError::Unavailable {
            url: names.url.clone(),
            detail: format!(
                "reading {what}: the object changed while being read (its e-tag no longer matches); \
                 was the backup rewritten during the drill?"
            ),
        };
    }
    let full = crate::errors::describe(&e);
    crate::errors::classify(
        &names.url,
        &format!("reading {what}"),
        &full,
        Some(&e),
        &names.secrets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pieces: &[&[u8]]) -> BoxStream<'static, object_store::Result<Bytes>> {
        let pieces: Vec<_> = pieces
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        futures::stream::iter(pieces).boxed()
    }

    /// A part is the range's bytes exactly, joined from whatever pieces the body came in; a
    /// body longer or shorter than the range asked for (a broken or hostile server) is
    /// refused, never handed on.
    #[tokio::test]
    async fn a_part_is_exactly_its_range_or_refused() {
        let part = gather(body(&[b"abc", b"", b"defg"]), 10..17).await.unwrap();
        assert_eq!(&part[..], b"abcdefg");

        let err = gather(body(&[b"abc", b"defgh"]), 10..17).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("asked for bytes 10..17 and got more than 7 bytes"),
            "{err}"
        );
        let err = gather(body(&[b"abc"]), 10..17).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("asked for bytes 10..17 and got 3 bytes"),
            "{err}"
        );
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Err(object_store::Error::Generic {
                store: "test",
                source: "connection reset".into(),
            }),
        ])
        .boxed();
        assert!(gather(broken, 0..4).await.is_err());
    }
}
