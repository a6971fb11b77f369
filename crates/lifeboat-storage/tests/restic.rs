//! restic repositories made by the real `restic` CLI (lifeboat-testkit's `ResticRepo`), read
//! through lifeboat's own storage (`lifeboat_storage::restic`): on local disk, and uploaded
//! unchanged to s3s-fs (which checks signatures) and Azurite. The snapshots and files must be
//! what restic itself lists, everywhere; a wrong password is refused without being repeated.

use std::collections::BTreeMap;

use lifeboat_storage::restic::{
    ChunkProblem, FileChunks, FileRead, Repo, ResticError, SnapshotFilter,
};
use lifeboat_storage::{Source, SourceKind, SourceSpec};
use lifeboat_testkit::ResticRepo;
use lifeboat_testkit::cloud;
use lifeboat_testkit::restic::BIG_BIN_BYTES;

const PASSWORD: &str = "correct horse battery staple";

fn source(url: &str, kind: SourceKind, options: Vec<(&'static str, String)>) -> Source {
    let options: BTreeMap<String, String> = options
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Source::open(&SourceSpec {
        url: url.to_owned(),
        kind,
        options,
    })
    .unwrap()
}

fn local(repo: &ResticRepo) -> Source {
    source(&repo.url(), SourceKind::File, Vec::new())
}

/// (id, host) of what `restic snapshots --json FILTERS` lists, newest first.
fn restic_lists(repo: &ResticRepo, filters: &[&str]) -> Vec<(String, String)> {
    let listed: serde_json::Value = serde_json::from_str(&repo.snapshots_json(filters)).unwrap();
    let mut listed: Vec<(String, String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let t = s["time"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap();
            (
                t.to_string(),
                s["id"].as_str().unwrap().to_owned(),
                s["hostname"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    listed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    listed.into_iter().map(|(_, id, host)| (id, host)).collect()
}

async fn lifeboat_lists(repo: &Repo, filter: &SnapshotFilter) -> Vec<(String, String)> {
    let listing = repo.list_snapshots(filter).await.unwrap();
    assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
    listing
        .snapshots
        .into_iter()
        .map(|s| (s.id, s.hostname))
        .collect()
}

/// The checks every backend must pass on the fleet repository.
async fn reads_the_fleet(source: &Source, fixture: &ResticRepo) {
    let repo = Repo::open(source, PASSWORD).await.unwrap();
    assert_eq!(
        lifeboat_lists(&repo, &SnapshotFilter::default()).await,
        restic_lists(fixture, &[])
    );
    let srv = fixture.tree().join("srv").to_str().unwrap().to_owned();
    let db01_nightly = SnapshotFilter {
        host: Some("db01".into()),
        paths: vec![srv.clone()],
        tags: vec!["nightly".into()],
    };
    let expected = restic_lists(
        fixture,
        &["--host", "db01", "--path", &srv, "--tag", "nightly"],
    );
    assert_eq!(expected.len(), 3);
    assert_eq!(lifeboat_lists(&repo, &db01_nightly).await, expected);
    let weekly = SnapshotFilter {
        tags: vec!["nightly".into(), "weekly".into()],
        ..SnapshotFilter::default()
    };
    assert_eq!(
        lifeboat_lists(&repo, &weekly).await,
        restic_lists(fixture, &["--tag", "nightly,weekly"])
    );

    // The newest db01 snapshot's regular files, as `restic ls` prints them, with their sizes.
    let newest = &expected[0].0;
    let files = repo.files(newest).await.unwrap();
    let listed: Vec<(&str, u64)> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    assert_eq!(
        listed,
        [
            ("/srv/app/a.txt", 6),
            ("/srv/app/big.bin", BIG_BIN_BYTES as u64),
            ("/srv/app/conf/app.conf", 12),
        ]
    );
    let ls = fixture.restic(&["ls", newest], None);
    for f in &files {
        assert!(
            ls.lines().any(|l| l == f.path),
            "{} not in restic ls:\n{ls}",
            f.path
        );
    }
}

/// Runs `f` on a runtime of its own: the fixtures (restic, uploads) are made outside it.
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_local_repository_lists_what_restic_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let (fixture, _) = ResticRepo::fleet(tmp.path(), PASSWORD);
    run(reads_the_fleet(&local(&fixture), &fixture));
}

#[test]
fn a_wrong_password_is_refused_without_being_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let wrong = "hunter2-not-the-password";
    let err = run(Repo::open(&local(&fixture), wrong)).unwrap_err();
    assert!(matches!(err, ResticError::WrongPassword { .. }), "{err:?}");
    let said = format!("{err} {err:?}");
    assert!(!said.contains(wrong) && !said.contains(PASSWORD), "{said}");
    assert!(said.contains("password"), "{said}");
}

#[test]
fn a_folder_that_is_no_repository_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "not a repository").unwrap();
    let src = source(
        &lifeboat_testkit::file_url(tmp.path()),
        SourceKind::File,
        Vec::new(),
    );
    let err = run(Repo::open(&src, PASSWORD)).unwrap_err();
    assert!(matches!(err, ResticError::Repository { .. }), "{err:?}");
    assert!(!err.to_string().contains(PASSWORD));
}

#[test]
fn the_same_repository_reads_the_same_from_s3s_fs_and_azurite() {
    let tmp = tempfile::tempdir().unwrap();
    let (fixture, _) = ResticRepo::fleet(tmp.path(), PASSWORD);
    let servers = cloud::servers();

    let bucket = cloud::unique_name("restic");
    servers
        .s3s
        .upload_dir(&bucket, "restic/fleet", fixture.path());
    let s3 = source(
        &servers.s3s.url(&bucket, "restic/fleet"),
        SourceKind::S3,
        servers.s3s.options(),
    );
    let container = cloud::unique_name("restic");
    servers
        .azurite
        .upload_dir(&container, "restic/fleet", fixture.path());
    let az = source(
        &servers.azurite.url(&container, "restic/fleet"),
        SourceKind::Azure,
        servers.azurite.options(),
    );
    run(async {
        reads_the_fleet(&s3, &fixture).await;
        let err = Repo::open(&s3, "wrong").await.unwrap_err();
        assert!(matches!(err, ResticError::WrongPassword { .. }), "{err:?}");
        reads_the_fleet(&az, &fixture).await;
    });
}

#[test]
fn a_files_chunks_are_where_restics_index_puts_them_and_add_up_to_its_size() {
    let tmp = tempfile::tempdir().unwrap();
    let (fixture, ids) = ResticRepo::fleet(tmp.path(), PASSWORD);
    let packs = fixture.packs();
    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let mut seen = Vec::new();
        for id in [&ids[0], &ids[1], &ids[3]] {
            let big = repo
                .file_chunks(id, "/srv/app/big.bin")
                .await
                .unwrap()
                .expect("big.bin is a regular file");
            assert_eq!(big.size, BIG_BIN_BYTES as u64);
            assert!(
                big.chunks.len() > 1,
                "more than restic's largest chunk is several chunks"
            );
            let mut plain = 0u64;
            for c in &big.chunks {
                let pack = c.pack.as_deref().expect("every chunk is indexed");
                let listed = packs
                    .iter()
                    .find(|p| p.id == pack)
                    .and_then(|p| p.blobs.iter().find(|b| b.id == c.chunk))
                    .unwrap_or_else(|| panic!("restic's index does not put {} in {pack}", c.chunk));
                assert_eq!(listed.kind, "data");
                assert_eq!(
                    (u64::from(c.offset), u64::from(c.length)),
                    (listed.offset, listed.length)
                );
                // restic's nonce (16 bytes) and MAC (16 bytes) wrap every stored chunk.
                plain += u64::from(c.plain_length.unwrap_or(c.length - 32));
            }
            assert_eq!(plain, big.size);
            seen.push(big.chunks);
        }
        // Deduplicated: the same chunks in the same packs in every snapshot.
        assert!(seen.windows(2).all(|w| w[0] == w[1]));

        // Not a regular file: nothing. Not there at all: an error, like a damaged tree.
        assert_eq!(
            repo.file_chunks(&ids[3], "/srv/app/conf").await.unwrap(),
            None
        );
        assert!(repo.file_chunks(&ids[3], "/srv/app/missing").await.is_err());
    });
}

/// Reads `path` of snapshot `id` chunk by chunk: the plaintext verified, and what failed.
async fn read_all(repo: &Repo, id: &str, path: &str) -> (Vec<u8>, FileRead) {
    let file = repo.file_chunks(id, path).await.unwrap().unwrap();
    read_chunks(repo, file).await
}

/// Reads `file` with [`Repo::read_file`]: its bytes as handed on, and what the read found.
async fn read_chunks(repo: &Repo, file: FileChunks) -> (Vec<u8>, FileRead) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reader = {
        let repo = repo.clone();
        tokio::spawn(async move { repo.read_file(&file, tx).await })
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = rx.recv().await {
        bytes.extend_from_slice(&chunk);
    }
    (bytes, reader.await.unwrap().unwrap())
}

#[test]
fn a_file_reads_back_chunk_by_chunk_and_damage_names_the_chunk_and_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let (fixture, ids) = ResticRepo::fleet(tmp.path(), PASSWORD);
    let newest = &ids[3];
    let big = lifeboat_testkit::prng::random_bytes(BIG_BIN_BYTES, 15);
    let (big_chunks, day_chunks) = run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let (bytes, read) = read_all(&repo, newest, "/srv/app/big.bin").await;
        assert_eq!(read.failure, None);
        assert_eq!(read.verified, BIG_BIN_BYTES as u64);
        assert!(bytes == big, "big.bin did not read back as backed up");
        let (bytes, _) = read_all(&repo, newest, "/srv/app/a.txt").await;
        assert_eq!(bytes, b"day 3\n");
        let chunks = |path| {
            let repo = repo.clone();
            async move {
                repo.file_chunks(newest, path)
                    .await
                    .unwrap()
                    .unwrap()
                    .chunks
            }
        };
        (
            chunks("/srv/app/big.bin").await,
            chunks("/srv/app/a.txt").await,
        )
    });
    assert!(big_chunks.len() >= 2 && day_chunks.len() == 1);

    // A flipped byte inside big.bin's second chunk: it no longer authenticates.
    let hit = &big_chunks[1];
    let hit_pack = hit.pack.clone().unwrap();
    fixture.flip_pack_byte(&hit_pack, u64::from(hit.offset) + 40);
    // a.txt's pack (written by the newest backup; big.bin's came with the first) deleted.
    let day_pack = day_chunks[0].pack.clone().unwrap();
    assert_ne!(
        day_pack, hit_pack,
        "a.txt and big.bin should be in different packs"
    );
    fixture.delete_pack(&day_pack);

    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let (bytes, read) = read_all(&repo, newest, "/srv/app/big.bin").await;
        let failure = read.failure.expect("a damaged chunk fails the file");
        // The first chunk was verified and handed on; the second failed, and reading stopped.
        assert_eq!(bytes.len() as u64, read.verified);
        assert!(read.verified > 0 && bytes[..] == big[..bytes.len()]);
        assert_eq!(
            (failure.index, failure.chunk.as_str()),
            (1, hit.chunk.as_str())
        );
        assert_eq!(failure.pack.as_deref(), Some(hit_pack.as_str()));
        assert!(
            matches!(failure.problem, ChunkProblem::Undecryptable { .. }),
            "{failure}"
        );
        let said = failure.to_string();
        assert!(
            said.contains(&hit.chunk) && said.contains(&hit_pack),
            "{said}"
        );

        let (bytes, read) = read_all(&repo, newest, "/srv/app/a.txt").await;
        let failure = read.failure.expect("a missing pack fails the file");
        assert!(bytes.is_empty());
        assert_eq!(failure.problem, ChunkProblem::PackMissing, "{failure}");
        assert!(failure.to_string().contains(&day_pack), "{failure}");
    });
}

/// A file larger than restic's packs (16 MiB in restic 0.14) has chunks in two packs: it
/// reads back whole, each pack's run read on its own, the chunk that ends the first pack
/// (its last blob, just before the pack's header) included. A byte flipped in that chunk
/// fails the file exactly there, naming it and its pack, after every chunk before it was
/// verified and handed on and with nothing of it or after it handed on: the bytes a good
/// chunk leaves behind never stand in for the damaged one.
#[test]
fn a_file_across_two_packs_reads_back_and_the_last_chunk_of_a_pack_is_checked_too() {
    const SIZE: usize = 24 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let data = lifeboat_testkit::prng::random_bytes(SIZE, 23);
    let id = fixture.backup(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[("srv/big.bin", &data)],
    );
    let packs = fixture.packs();
    let chunks = run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let (bytes, read) = read_all(&repo, &id, "/srv/big.bin").await;
        assert_eq!(read.failure, None);
        assert_eq!(read.verified, SIZE as u64);
        assert!(bytes == data, "big.bin did not read back as backed up");
        repo.file_chunks(&id, "/srv/big.bin")
            .await
            .unwrap()
            .unwrap()
            .chunks
    });
    let first = chunks[0].pack.clone().expect("indexed");
    assert!(
        chunks
            .iter()
            .any(|c| c.pack.as_deref() != Some(first.as_str())),
        "a file larger than a pack spans two packs"
    );
    // The first pack's last blob, by the index restic wrote (restic's savers run in
    // parallel: a pack's order need not be the file's).
    let pack = packs.iter().find(|p| p.id == first).expect("listed");
    let end = pack
        .blobs
        .iter()
        .map(|b| b.offset + b.length)
        .max()
        .unwrap();
    let at = chunks
        .iter()
        .position(|c| {
            c.pack.as_deref() == Some(first.as_str())
                && u64::from(c.offset) + u64::from(c.length) == end
        })
        .expect("the pack holds only this file's chunks: one of them ends it");
    let last = &chunks[at];

    fixture.flip_pack_byte(&first, u64::from(last.offset) + u64::from(last.length) - 20);
    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let (bytes, read) = read_all(&repo, &id, "/srv/big.bin").await;
        let failure = read.failure.expect("a damaged chunk fails the file");
        assert_eq!(
            (
                failure.index,
                failure.chunk.as_str(),
                failure.pack.as_deref()
            ),
            (at, last.chunk.as_str(), Some(first.as_str()))
        );
        assert!(
            matches!(failure.problem, ChunkProblem::Undecryptable { .. }),
            "{failure}"
        );
        let before: u64 = chunks[..at]
            .iter()
            .map(|c| u64::from(c.plain_length.unwrap_or(c.length - 32)))
            .sum();
        assert_eq!((read.verified, bytes.len() as u64), (before, before));
        assert!(bytes[..] == data[..bytes.len()]);
    });
}

/// Neighbouring chunks of one pack are read from storage in one ranged read (counted by the
/// repository's own tally of pack reads), and still each decrypted and checked: big.bin reads
/// back as `restic dump` gives it with fewer reads than chunks, and a byte flipped inside a
/// chunk read as part of a larger run still names that chunk and its pack.
#[test]
fn chunks_sharing_a_pack_are_read_in_one_ranged_read_and_still_checked_one_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (fixture, ids) = ResticRepo::fleet(tmp.path(), PASSWORD);
    let newest = &ids[3];
    let dumped = fixture.restic_bytes(&["dump", newest, "/srv/app/big.bin"]);
    let chunks = run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let file = repo
            .file_chunks(newest, "/srv/app/big.bin")
            .await
            .unwrap()
            .unwrap();
        let chunks = file.chunks.clone();
        let before = repo.pack_reads();
        let (bytes, read) = read_chunks(&repo, file).await;
        let reads = repo.pack_reads() - before;
        assert_eq!(read.failure, None);
        assert!(bytes == dumped, "big.bin differs from restic dump");
        let mut packs: Vec<&str> = chunks.iter().filter_map(|c| c.pack.as_deref()).collect();
        packs.sort_unstable();
        packs.dedup();
        assert!(chunks.len() >= 2, "{chunks:?}");
        assert!(
            reads < chunks.len() as u64,
            "{reads} pack reads for {} chunks",
            chunks.len()
        );
        // big.bin's chunks are close together in their pack(s), though not in file order
        // (restic's workers fill a pack as they finish): one read per pack.
        assert_eq!(reads, packs.len() as u64, "{chunks:?}");
        chunks
    });

    // The second chunk shares a pack with the first (big.bin's 9 MiB fill less than restic's
    // 16 MiB packs): damage to it, inside a run read whole, is still found and named.
    let hit = &chunks[1];
    let hit_pack = hit.pack.clone().unwrap();
    assert_eq!(chunks[0].pack.as_deref(), Some(hit_pack.as_str()));
    fixture.flip_pack_byte(&hit_pack, u64::from(hit.offset) + 40);
    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let file = repo
            .file_chunks(newest, "/srv/app/big.bin")
            .await
            .unwrap()
            .unwrap();
        let before = repo.pack_reads();
        let (bytes, read) = read_chunks(&repo, file).await;
        let failure = read.failure.expect("a damaged chunk fails the file");
        assert_eq!(bytes[..], dumped[..bytes.len()]);
        assert_eq!(
            read.verified,
            u64::from(chunks[0].plain_length.unwrap_or(chunks[0].length - 32))
        );
        assert_eq!(
            (
                failure.index,
                failure.chunk.as_str(),
                failure.pack.as_deref()
            ),
            (1, hit.chunk.as_str(), Some(hit_pack.as_str()))
        );
        assert!(
            matches!(failure.problem, ChunkProblem::Undecryptable { .. }),
            "{failure}"
        );
        // Read in one run with the first chunk, not chunk by chunk.
        assert!(
            repo.pack_reads() - before < 2,
            "{}",
            repo.pack_reads() - before
        );
    });
}

/// restic packs small files together: eight 20 KiB files land in one pack. Restored at once
/// from object storage, the files read the pack's shared 1 MiB block once between them; from
/// local disk, each reads exactly its own chunk (the page cache is the shared copy there, and
/// a whole block per small file copied ~50 times the bytes the file needs). Either way each
/// file reads back as `restic dump` gives it, every chunk, the pack's last among them,
/// checked on its own.
#[test]
fn small_files_sharing_a_pack_read_it_once_from_object_storage_and_exactly_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let contents: Vec<(String, Vec<u8>)> = (0..8u64)
        .map(|k| {
            let bytes = lifeboat_testkit::prng::random_bytes(20 << 10, 100 + k);
            (format!("srv/small/f{k}.bin"), bytes)
        })
        .collect();
    let files: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let id = fixture.backup("2026-11-20 02:00:00", "db1", &[], &files);
    let dumped: Vec<Vec<u8>> = contents
        .iter()
        .map(|(p, _)| fixture.restic_bytes(&["dump", &id, &format!("/{p}")]))
        .collect();
    let paths: Vec<String> = contents.iter().map(|(p, _)| format!("/{p}")).collect();
    let servers = cloud::servers();
    let bucket = cloud::unique_name("restic");
    servers
        .s3s
        .upload_dir(&bucket, "restic/small", fixture.path());
    let s3 = source(
        &servers.s3s.url(&bucket, "restic/small"),
        SourceKind::S3,
        servers.s3s.options(),
    );
    run(async {
        let remote = reads_at_once(&s3, &id, &paths, &dumped).await;
        assert!(
            remote < paths.len() as u64,
            "{remote} pack reads from S3 for {} small files in one pack",
            paths.len()
        );
        let disk = reads_at_once(&local(&fixture), &id, &paths, &dumped).await;
        assert_eq!(
            disk,
            paths.len() as u64,
            "from disk each small file reads exactly its own chunk"
        );
    });
}

/// From local disk, files read at once hold at most the repository's read-ahead budget of
/// pack bytes that are not yet checked, however many of them there are: three files of 24
/// MiB whose readers take nothing read 48 MiB each ahead of their checks without it (a
/// window of 16 MiB and the next), at most the budget with it. Once the readers take their
/// bytes, the windows waiting for the budget read and every file reads back whole.
#[test]
fn files_read_at_once_from_disk_read_ahead_at_most_the_budget() {
    const SIZE: usize = 24 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let data: Vec<Vec<u8>> = (0..3)
        .map(|i| lifeboat_testkit::prng::random_bytes(SIZE, 40 + i))
        .collect();
    let names: Vec<String> = (0..3).map(|i| format!("srv/f{i}.bin")).collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&data)
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let id = fixture.backup("2026-11-20 02:00:00", "db01", &[], &files);
    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let budget = repo
            .read_ahead_budget()
            .expect("a local repository has a budget");
        let mut chunks = Vec::new();
        for name in &names {
            chunks.push(
                repo.file_chunks(&id, &format!("/{name}"))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        // Readers that take nothing: each file's check stops at its first chunk.
        let before = repo.pack_bytes_read();
        let mut stalled = Vec::new();
        for file in chunks.clone() {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let repo = repo.clone();
            stalled.push((
                rx,
                tokio::spawn(async move { repo.read_file(&file, tx).await }),
            ));
        }
        // Until nothing more is read for half a second (at most 20 s).
        let (mut last, mut quiet) = (u64::MAX, 0);
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = repo.pack_bytes_read();
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
            if quiet >= 5 {
                break;
            }
        }
        let ahead = last - before;
        assert!(ahead > 0, "nothing was read");
        let unbounded = 3 * (2 * SIZE as u64);
        if budget < unbounded {
            assert!(
                ahead <= budget,
                "{ahead} bytes read ahead of their checks, over the {budget}-byte budget"
            );
        }
        // Readers gone: each read stops, and gives its budget back (a file still waiting
        // for the budget reads once the others have given theirs).
        let (receivers, readers): (Vec<_>, Vec<_>) = stalled.into_iter().unzip();
        drop(receivers);
        for reader in readers {
            reader.await.unwrap().unwrap();
        }
        let read = futures::future::join_all(chunks.into_iter().map(|f| read_chunks(&repo, f)));
        for ((bytes, read), data) in read.await.iter().zip(&data) {
            assert_eq!(read.failure, None);
            assert!(bytes == data, "a file read at once did not read back");
        }
    });
}

/// Reads `paths` of snapshot `id` all at once, as a drill restores them, checks each against
/// what `restic dump` gave (`dumped`), and returns how many pack reads that took.
async fn reads_at_once(source: &Source, id: &str, paths: &[String], dumped: &[Vec<u8>]) -> u64 {
    let repo = Repo::open(source, PASSWORD).await.unwrap();
    let mut chunks = Vec::new();
    for p in paths {
        chunks.push(repo.file_chunks(id, p).await.unwrap().unwrap());
    }
    let mut packs: Vec<String> = chunks
        .iter()
        .flat_map(|f| f.chunks.iter().filter_map(|c| c.pack.clone()))
        .collect();
    packs.sort_unstable();
    packs.dedup();
    assert_eq!(packs.len(), 1, "the small files are not in one pack");
    let before = repo.pack_reads();
    let read = futures::future::join_all(chunks.into_iter().map(|f| read_chunks(&repo, f)));
    let read = read.await;
    let reads = repo.pack_reads() - before;
    for ((bytes, read), dumped) in read.iter().zip(dumped) {
        assert_eq!(read.failure, None);
        assert!(bytes == dumped, "a small file differs from restic dump");
    }
    reads
}

/// Chunks are decrypted and decompressed by lifeboat itself, not by rustic_core: in a
/// compressed repository (format 2: every data chunk zstd-compressed, the index giving its
/// plaintext length) and an uncompressed one (format 1), files of several chunks, of one,
/// of highly compressible and of random bytes, and an empty file all read back as `restic
/// dump` gives them.
#[test]
fn both_repository_formats_read_back_as_restic_dump_gives_them() {
    for v1 in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let fixture = if v1 {
            ResticRepo::init_v1(tmp.path(), PASSWORD)
        } else {
            ResticRepo::init(tmp.path(), PASSWORD)
        };
        let random = lifeboat_testkit::prng::random_bytes(BIG_BIN_BYTES, 31);
        let text = b"a line of a log file, again and again\n".repeat(300_000);
        let files: Vec<(&str, &[u8])> = vec![
            ("srv/random.bin", &random),
            ("srv/text.log", &text),
            ("srv/small.txt", b"small\n"),
            ("srv/empty", b""),
        ];
        let id = fixture.backup("2026-11-20 02:00:00", "db1", &[], &files);
        run(async {
            let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
            for (path, bytes) in &files {
                let path = format!("/{path}");
                let file = repo.file_chunks(&id, &path).await.unwrap().unwrap();
                // Format 1 stores nothing compressed; format 2 compresses the log (the index
                // then records its chunks' plaintext lengths).
                let compressed = file.chunks.iter().filter(|c| c.plain_length.is_some());
                match (v1, path.as_str()) {
                    (true, _) => assert_eq!(compressed.count(), 0, "{:?}", file.chunks),
                    (false, "/srv/text.log") => {
                        assert_eq!(compressed.count(), file.chunks.len(), "{:?}", file.chunks)
                    }
                    _ => {}
                }
                let (read, found) = read_chunks(&repo, file).await;
                assert_eq!(found.failure, None, "v1 {v1}: {path}");
                assert!(read == fixture.restic_bytes(&["dump", &id, &path]));
                assert!(read == *bytes, "v1 {v1}: {path} differs");
                assert_eq!(found.verified, bytes.len() as u64);
            }
        });
    }
}

/// A chunk rewritten by someone holding the repository's key (a compromised backup host):
/// validly encrypted and authenticated, but its plaintext no longer hashes to its id. The
/// read stops at that chunk with `chunk hash mismatch`, naming it and its pack, having
/// handed on only the chunks before it.
#[test]
fn a_forged_chunk_authenticates_but_fails_its_hash_naming_chunk_and_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init_v1(tmp.path(), PASSWORD);
    let big = lifeboat_testkit::prng::random_bytes(BIG_BIN_BYTES, 15);
    let id = fixture.backup("2026-11-20 02:00:00", "db1", &[], &[("srv/big.bin", &big)]);
    let chunks = run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let file = repo
            .file_chunks(&id, "/srv/big.bin")
            .await
            .unwrap()
            .unwrap();
        file.chunks
    });
    assert!(chunks.len() >= 2, "{chunks:?}");
    let hit = &chunks[1];
    fixture.forge_data(&hit.chunk, |plain| plain[100] ^= 0x20);
    run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        let (bytes, read) = read_all(&repo, &id, "/srv/big.bin").await;
        let failure = read.failure.expect("a forged chunk fails the file");
        assert_eq!(
            (
                failure.index,
                failure.chunk.as_str(),
                failure.pack.as_deref()
            ),
            (1, hit.chunk.as_str(), hit.pack.as_deref())
        );
        let ChunkProblem::HashMismatch { actual } = &failure.problem else {
            panic!("{failure}");
        };
        assert_ne!(actual, &hit.chunk);
        let said = failure.to_string();
        assert!(
            said.starts_with("chunk hash mismatch: chunk 1 (")
                && said.contains(&hit.chunk)
                && said.contains(hit.pack.as_deref().unwrap()),
            "{said}"
        );
        // Only the first chunk, verified, was handed on.
        assert_eq!(read.verified, u64::from(chunks[0].length - 32));
        assert!(bytes[..] == big[..bytes.len()] && bytes.len() as u64 == read.verified);
    });
}

/// An edit of a key file's JSON.
type KeyEdit = fn(&mut serde_json::Value);

/// A key file is written by whoever can write the repository. One asking scrypt for more
/// memory than a machine has (N = 2^31, r = 8: 2 TiB per lane) made the allocation fail and
/// abort the process; N = 0 tripped an assertion in rustic_core; another function than scrypt
/// was not looked at. Each is now refused before any derivation, the file named.
#[test]
fn a_key_file_asking_for_too_much_or_the_wrong_thing_is_refused_before_deriving() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let key = fixture.key_file();
    let name = key.file_name().unwrap().to_str().unwrap().to_owned();
    let original = std::fs::read(&key).unwrap();
    let cases: [(KeyEdit, &str); 4] = [
        (
            |k| k["N"] = (1u64 << 31).into(),
            "2 TiB per lane (N = 2^31, r = 8)",
        ),
        (|k| k["N"] = 0.into(), "no scrypt parameter N"),
        (|k| k["p"] = (1u64 << 20).into(), "N·r·p = 2^38.0"),
        (|k| k["kdf"] = "argon2id".into(), "\"argon2id\""),
    ];
    for (edit, expected) in cases {
        fixture.edit_key(&key, &name, edit);
        let started = std::time::Instant::now();
        let err = run(Repo::open(&local(&fixture), PASSWORD)).unwrap_err();
        assert!(matches!(err, ResticError::Repository { .. }), "{err:?}");
        let said = err.to_string();
        assert!(
            said.contains(&format!("the key file keys/{name} ")) && said.contains(expected),
            "{said} lacks {expected}"
        );
        assert!(!said.contains(PASSWORD), "{said}");
        // Refused unread by scrypt: far below one derivation of restic's own key.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        std::fs::write(&key, &original).unwrap();
    }
    run(Repo::open(&local(&fixture), PASSWORD)).unwrap();
}

/// A key file is listed and read as every file of a repository is: a link in its place (to a
/// key file outside the repository that the password opens) is never followed and a FIFO
/// never opened (nothing waits on a writer), and an oversized one is refused unread, naming
/// the file.
#[test]
fn a_key_file_that_is_a_link_a_fifo_or_huge_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(&tmp.path().join("a"), PASSWORD);
    let key = fixture.key_file();
    let outside = tmp.path().join("outside-key");
    std::fs::copy(&key, &outside).unwrap();
    let name = key.file_name().unwrap().to_str().unwrap().to_owned();
    for kind in ["link", "fifo", "huge"] {
        std::fs::remove_file(&key).unwrap();
        match kind {
            "link" => std::os::unix::fs::symlink(&outside, &key).unwrap(),
            "fifo" => {
                let made = std::process::Command::new("mkfifo")
                    .arg(&key)
                    .status()
                    .unwrap();
                assert!(made.success());
            }
            _ => std::fs::write(&key, vec![b' '; 65 << 10]).unwrap(),
        }
        let started = std::time::Instant::now();
        let err = run(Repo::open(&local(&fixture), PASSWORD)).unwrap_err();
        if kind != "huge" {
            // Not listed as a key file at all (a listing holds regular files only and never
            // follows a link), so neither is opened, and the key the link points at, which
            // the password opens, is never tried.
            assert!(matches!(err, ResticError::WrongPassword { .. }), "{err:?}");
        } else {
            assert!(
                matches!(err, ResticError::Repository { .. }),
                "{kind}: {err:?}"
            );
            let said = err.to_string();
            assert!(
                said.contains(&format!("the key file keys/{name} "))
                    && said.contains("over the 65536-byte limit"),
                "{kind}: {said}"
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{kind}"
        );
    }
}

/// As restic, at most 20 key files are tried for a password: a repository stuffed with key
/// files cannot make a drill derive keys for ever. The planted ones here are cheap to derive
/// (N = 2) and sort before restic's own, so they are tried first and fail on the password.
#[test]
fn at_most_20_key_files_are_tried_as_restic_does() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let key = fixture.key_file();
    assert!(
        !key.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("0000")
    );
    let plant = |i: usize| {
        fixture.edit_key(&key, &format!("{i:064x}"), |k| {
            k["N"] = 2.into();
            k["r"] = 1.into();
            k["p"] = 1.into();
        })
    };
    // 19 planted and restic's own: the 20th tried opens the repository.
    for i in 0..19 {
        plant(i);
    }
    run(Repo::open(&local(&fixture), PASSWORD)).unwrap();
    // One more: restic's own would be the 21st, and is not tried.
    plant(19);
    let err = run(Repo::open(&local(&fixture), PASSWORD)).unwrap_err();
    assert!(matches!(err, ResticError::Repository { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("more key files than lifeboat tries (20, as restic)"),
        "{err}"
    );
}

/// Every snapshot of `fixture`'s local repository, opened afresh: matched and damaged.
fn every_snapshot(fixture: &ResticRepo) -> lifeboat_storage::restic::SnapshotListing {
    run(async {
        let repo = Repo::open(&local(fixture), PASSWORD).await.unwrap();
        repo.list_snapshots(&SnapshotFilter::default())
            .await
            .unwrap()
    })
}

/// The repository's snapshots, listed: `good` only, and `forged` a finding against it alone
/// whose reason says `says`.
#[track_caller]
fn assert_only_damaged(fixture: &ResticRepo, good: &str, forged: &str, says: &str) {
    let listing = every_snapshot(fixture);
    let ids: Vec<&str> = listing.snapshots.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [good]);
    assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
    assert_eq!(listing.damaged[0].id, forged);
    let reason = &listing.damaged[0].reason;
    assert!(reason.contains(says), "{reason}");
}

/// Someone holding the repository's key can write a snapshot or index file whose zstd frame
/// is a few KiB and decodes to terabytes; rustic_core decoded it whole (`decode_all`) before
/// looking at it. The vendored rustic_core (vendor/README.md) lets a whole file decode to 64
/// times its stored size or 16 MiB, whichever is more, never past 1 GiB, and stops one byte
/// past that. Here a 32 KiB frame that would decode to 1 GiB and 128 KiB is refused at 16
/// MiB: a damaged snapshot is a finding against it alone, a damaged index is an error.
#[test]
fn a_zstd_bomb_in_a_snapshot_or_index_file_is_refused_at_the_bound() {
    const BOUND: u64 = 16 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let good = fixture.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let bomb = lifeboat_testkit::restic::zstd_bomb((1 << 30) + (128 << 10));
    assert!(bomb.len() < 40 << 10);

    let forged = fixture.forge_file("snapshots", &bomb);
    assert_only_damaged(
        &fixture,
        &good,
        &forged,
        &format!("decodes to more than {BOUND} bytes"),
    );

    std::fs::remove_file(fixture.path().join("snapshots").join(&forged)).unwrap();
    assert_index_refused_past(&fixture, &bomb, BOUND);
}

/// `plain` forged as an index file of `fixture`: opening the repository is refused (exit 3),
/// the file decoding to more than `bound` bytes.
#[track_caller]
fn assert_index_refused_past(fixture: &ResticRepo, plain: &[u8], bound: u64) {
    fixture.forge_file("index", plain);
    let err = run(Repo::open(&local(fixture), PASSWORD)).unwrap_err();
    assert!(matches!(err, ResticError::Repository { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("decodes to more than {bound} bytes")),
        "{err}"
    );
}

/// A large stored file may decode to 64 times its size, but never past what a file of its
/// type can be: a snapshot past half of the 256 MiB its decoding may take (its JSON counts
/// twice), an index file past 256 MiB (restic's hold some MiB). Each of the files read at
/// once holds what it decodes to, so this is what one may hold. Here 6 MiB of padding (a
/// skippable frame) before a frame of 400 MiB of spaces: 384 MiB by the ratio alone.
#[test]
fn a_large_file_decodes_no_further_than_a_file_of_its_type_can_be() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let good = fixture.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let mut padded = vec![2];
    padded.extend(lifeboat_testkit::restic::skippable_frame(6 << 20));
    padded.extend_from_slice(&lifeboat_testkit::restic::zstd_bomb(400 << 20)[1..]);

    let forged = fixture.forge_file("snapshots", &padded);
    assert_only_damaged(
        &fixture,
        &good,
        &forged,
        &format!("decodes to more than {} bytes", 128u64 << 20),
    );

    std::fs::remove_file(fixture.path().join("snapshots").join(&forged)).unwrap();
    assert_index_refused_past(&fixture, &padded, 256 << 20);
}

/// A snapshot decodes to at most 128 MiB, so a snapshot file stored larger than that (and its
/// nonce and MAC) holds padding restic never writes: here a real snapshot's JSON behind
/// 128 MiB of a zstd skippable frame, which decodes to the JSON alone. It is refused before
/// it is read, a finding against it alone, the honest snapshot listed.
#[test]
fn a_snapshot_file_stored_larger_than_a_snapshot_decodes_to_is_refused_unread() {
    const LIMIT: u64 = (128 << 20) + 32;
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let good = fixture.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&fixture.restic(&["cat", "snapshot", &good], None)).unwrap();
    snapshot["time"] = "2026-11-20T03:00:00Z".into();
    let json = serde_json::to_vec(&snapshot).unwrap();
    let mut plain = vec![2];
    plain.extend(lifeboat_testkit::restic::skippable_frame(128 << 20));
    plain.extend(zstd::bulk::compress(&json, 3).unwrap());
    let forged = fixture.forge_file("snapshots", &plain);
    let stored = std::fs::metadata(fixture.path().join("snapshots").join(&forged))
        .unwrap()
        .len();
    assert!(stored > LIMIT, "{stored}");
    assert_only_damaged(
        &fixture,
        &good,
        &forged,
        &format!("is {stored} bytes, over the {LIMIT}-byte limit"),
    );
}

/// A snapshot file forged of three million short distinct tags (24 MB of JSON, stored
/// compressed in a fraction of it) would take some 300 MB decoded, each tag a `String` in a
/// `BTreeSet`: refused before it is decoded (vendor/README.md), a finding against it alone,
/// the honest snapshot listed.
#[test]
fn a_snapshot_file_forged_of_many_short_strings_is_refused_before_it_is_decoded() {
    const TAKES: u64 = 256 << 20;
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let good = fixture.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&fixture.restic(&["cat", "snapshot", &good], None)).unwrap();
    let tags: Vec<String> = (0..3_000_000u32).map(|n| format!("t{n:x}")).collect();
    snapshot["tags"] = tags.into();
    snapshot["time"] = "2026-11-20T03:00:00Z".into();
    let json = serde_json::to_vec(&snapshot).unwrap();
    assert!(json.len() < 32 << 20, "{}", json.len());
    let mut plain = vec![2];
    plain.extend(zstd::bulk::compress(&json, 3).unwrap());
    let forged = fixture.forge_file("snapshots", &plain);
    assert_only_damaged(
        &fixture,
        &good,
        &forged,
        &format!("would take more than {TAKES} bytes decoded"),
    );
}

/// The bound on a whole file's decoding follows its stored size: a snapshot file of real,
/// varied JSON (here 20 MiB of tags, hex text that zstd halves) decodes past 16 MiB and is
/// listed like any other. A flat 16 MiB bound would refuse it.
#[test]
fn a_large_compressed_snapshot_within_the_ratio_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let good = fixture.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&fixture.restic(&["cat", "snapshot", &good], None)).unwrap();
    let noise: Vec<u8> = lifeboat_testkit::prng::random_bytes(10 << 20, 7)
        .iter()
        .flat_map(|b| {
            [
                b"0123456789abcdef"[usize::from(b >> 4)],
                b"0123456789abcdef"[usize::from(b & 15)],
            ]
        })
        .collect();
    let tags: Vec<&str> = noise
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    snapshot["tags"] = tags.into();
    snapshot["time"] = "2026-11-20T03:00:00Z".into();
    let json = serde_json::to_vec(&snapshot).unwrap();
    assert!(json.len() > 20 << 20);
    let mut plain = vec![2];
    plain.extend(zstd::bulk::compress(&json, 3).unwrap());
    assert!(plain.len() * 64 > json.len() && plain.len() < json.len() / 3 * 2);
    let forged = fixture.forge_file("snapshots", &plain);

    let listing = every_snapshot(&fixture);
    assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
    let ids: Vec<&str> = listing.snapshots.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [forged.as_str(), good.as_str()]);
    assert_eq!(listing.snapshots[0].tags.len(), (20 << 20) / 64);
}

/// A tree is a blob, and the index says how long it decodes: rustic_core decoded a stored
/// tree whole before comparing. A tree replaced (with the key, same stored length) by a zstd
/// frame that decodes to megabytes is refused one byte past the length the index gives, and
/// the snapshot's listing fails naming the bound.
#[test]
fn a_tree_that_decodes_past_its_indexed_length_is_refused_at_that_length() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), PASSWORD);
    let id = fixture.backup(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[("srv/app/a", b"a\n"), ("srv/app/b", b"b\n")],
    );
    let tree = fixture.tree_id(&id, "srv/app");
    let declared = fixture.restic_bytes(&["cat", "blob", &tree]).len();
    let mut decodes = 0;
    fixture.forge_blob(&tree, "tree", |stored| {
        let bomb = lifeboat_testkit::restic::zstd_bomb_of_len(stored.len());
        decodes = zstd::stream::decode_all(&bomb[..]).unwrap().len();
        bomb
    });
    assert!(decodes > 1 << 20, "{decodes}");

    let err = run(async {
        let repo = Repo::open(&local(&fixture), PASSWORD).await.unwrap();
        repo.files(&id).await.unwrap_err()
    });
    assert!(
        err.to_string()
            .contains(&format!("decodes to more than {declared} bytes")),
        "{err}"
    );
}
