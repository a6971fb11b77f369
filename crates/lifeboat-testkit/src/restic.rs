//! Real restic repositories, made by the real `restic` CLI (Debian's package; `scripts/tools.sh
//! install restic`), and real damage to them.
//!
//! A [`ResticRepo`] is a repository folder (what a runbook's `file://` URL points at) plus a
//! password file and a work folder beside it. [`ResticRepo::backup`] writes a tree of files
//! into the work folder and runs `restic backup --time T --host H --tag T` on it, so several
//! hosts, tags and times — and deduplication across snapshots, when two backups share
//! content — are what restic itself made. After that the repository can be damaged the ways
//! repositories really break: a flipped byte in a data pack, a deleted pack.
//!
//! The password reaches restic through `RESTIC_PASSWORD_FILE`, never on its command line (where
//! any user's `ps` would show it). Every restic call runs with `--no-cache`, so nothing is kept
//! under the caller's home folder. Like the rest of the testkit, this shares no code with
//! lifeboat: the repository's facts (snapshots, packs, blobs) come from restic's own `--json`
//! output, read with serde_json. Everything panics with the command and its output on failure: fixture code.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backup::file_url;

/// A restic repository on disk, with its password file and a work folder for backups.
#[derive(Debug)]
pub struct ResticRepo {
    repo: PathBuf,
    password_file: PathBuf,
    work: PathBuf,
}

/// The snapshots [`ResticRepo::fleet`] makes, oldest first: (time as restic prints it, host,
/// tags). Two hosts, overlapping tags, and `srv/app/big.bin` unchanged across db01's backups
/// (deduplicated: its chunks are stored once).
pub const FLEET: [(&str, &str, &[&str]); 4] = [
    ("2026-11-18T02:00:00Z", "db01", &["nightly"]),
    ("2026-11-19T02:00:00Z", "db01", &["nightly"]),
    ("2026-11-19T12:00:00Z", "web01", &["adhoc"]),
    ("2026-11-20T02:00:00Z", "db01", &["nightly", "weekly"]),
];

/// One pack of the repository, as restic's index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pack {
    /// The pack's id (its file name below `data/XX/`).
    pub id: String,
    /// The blobs it holds.
    pub blobs: Vec<PackBlob>,
}

/// One blob inside a pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackBlob {
    pub id: String,
    /// `"data"` or `"tree"`.
    pub kind: String,
    /// Where its (encrypted, maybe compressed) bytes start in the pack, and how many there are.
    pub offset: u64,
    pub length: u64,
}

impl Pack {
    /// Whether every blob in the pack is file content (restic keeps data and tree blobs in
    /// separate packs).
    pub fn is_data(&self) -> bool {
        !self.blobs.is_empty() && self.blobs.iter().all(|b| b.kind == "data")
    }
}

/// The size of the fleet's `srv/app/big.bin`: larger than restic's largest chunk (8 MiB), so
/// it is always stored as several chunks, whatever chunking polynomial the repository drew
/// (3 MiB was one chunk in about one repository in twelve).
pub const BIG_BIN_BYTES: usize = 9 << 20;

impl ResticRepo {
    /// `restic init` of a new repository at `dir/repo`, with the password in `dir/password`
    /// and a work folder at `dir/work`. `dir` must be absolute (the repository's `file://`
    /// URL needs it).
    pub fn init(dir: &Path, password: &str) -> ResticRepo {
        Self::init_with(dir, password, &[])
    }

    /// As [`ResticRepo::init`], in repository format 1 (`restic init --repository-version
    /// 1`): nothing compressed, so a blob's plaintext is what its pack holds, encrypted
    /// ([`ResticRepo::forge_tree`] needs that).
    pub fn init_v1(dir: &Path, password: &str) -> ResticRepo {
        Self::init_with(dir, password, &["--repository-version", "1"])
    }

    fn init_with(dir: &Path, password: &str, args: &[&str]) -> ResticRepo {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let repo = ResticRepo {
            repo: dir.join("repo"),
            password_file: dir.join("password"),
            work: dir.join("work"),
        };
        fs::write(&repo.password_file, format!("{password}\n"))
            .unwrap_or_else(|e| panic!("write {}: {e}", repo.password_file.display()));
        let mut init = vec!["init"];
        init.extend_from_slice(args);
        repo.restic(&init, None);
        repo
    }

    /// A repository with the snapshots of [`FLEET`]; returns it and the snapshot ids, oldest
    /// first. db01's snapshots hold `srv/app/{a.txt,big.bin,conf/app.conf}` (big.bin: [`BIG_BIN_BYTES`],
    /// several chunks, the same bytes every time; a.txt says which day it is); web01's holds
    /// `srv/web/index.html`.
    pub fn fleet(dir: &Path, password: &str) -> (ResticRepo, Vec<String>) {
        let repo = ResticRepo::init(dir, password);
        let big = crate::prng::random_bytes(BIG_BIN_BYTES, 15);
        let conf: &[u8] = b"port = 8080\n";
        let mut ids = Vec::new();
        for (i, (time, host, tags)) in FLEET.iter().enumerate() {
            let restic_time = time.replace('T', " ").replace('Z', "");
            let day = format!("day {i}\n");
            let files: Vec<(&str, &[u8])> = if *host == "web01" {
                vec![("srv/web/index.html", b"<h1>hello</h1>\n")]
            } else {
                vec![
                    ("srv/app/a.txt", day.as_bytes()),
                    ("srv/app/big.bin", &big),
                    ("srv/app/conf/app.conf", conf),
                ]
            };
            ids.push(repo.backup(&restic_time, host, tags, &files));
        }
        (repo, ids)
    }

    /// The repository folder.
    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// `file://` URL of the repository, for a runbook's `source.url`.
    pub fn url(&self) -> String {
        file_url(&self.repo)
    }

    /// The folder backups are taken from: a snapshot's `paths` are its top-level folders
    /// (`TREE/srv`), while inside the snapshot's tree they are `/srv/...`.
    pub fn tree(&self) -> PathBuf {
        self.work.join("tree")
    }

    /// The file holding the password (for a runbook's `password_file`).
    pub fn password_file(&self) -> &Path {
        &self.password_file
    }

    /// Backs up `files` (`/`-separated relative paths and their bytes) as one snapshot taken
    /// at `time` (`"2026-11-20 02:00:00"`, the host's local time as restic reads it) for `host`
    /// with `tags`; returns the snapshot's full id (64 hex digits). The files are written below a fresh work tree and
    /// backed up by their top-level names, so `srv/app/a.txt` is `/srv/app/a.txt` in the
    /// snapshot, whichever backup it is.
    pub fn backup(&self, time: &str, host: &str, tags: &[&str], files: &[(&str, &[u8])]) -> String {
        self.backup_with(time, host, tags, files, |_| {})
    }

    /// As [`ResticRepo::backup`], with `prepare` run on the work tree ([`ResticRepo::tree`])
    /// after `files` are written and before restic reads it: to write a manifest with the
    /// real `sha256sum`, change a file after that, make a link, a folder or a sparse file.
    /// What it adds must be below the top-level folders of `files`.
    pub fn backup_with(
        &self,
        time: &str,
        host: &str,
        tags: &[&str],
        files: &[(&str, &[u8])],
        prepare: impl FnOnce(&Path),
    ) -> String {
        let files: Vec<(&[u8], &[u8])> = files.iter().map(|(p, b)| (p.as_bytes(), *b)).collect();
        self.backup_bytes_with(time, host, tags, &files, prepare)
    }

    /// [`ResticRepo::backup`] with paths as bytes: names that are not UTF-8 (`b"srv/a\xffb"`),
    /// as a Unix file system allows and restic backs up. The top-level folders must be UTF-8.
    pub fn backup_bytes(
        &self,
        time: &str,
        host: &str,
        tags: &[&str],
        files: &[(&[u8], &[u8])],
    ) -> String {
        self.backup_bytes_with(time, host, tags, files, |_| {})
    }

    fn backup_bytes_with(
        &self,
        time: &str,
        host: &str,
        tags: &[&str],
        files: &[(&[u8], &[u8])],
        prepare: impl FnOnce(&Path),
    ) -> String {
        use std::os::unix::ffi::OsStrExt;
        let tree = self.tree();
        if tree.exists() {
            fs::remove_dir_all(&tree).unwrap_or_else(|e| panic!("clear {}: {e}", tree.display()));
        }
        let mut tops: Vec<String> = Vec::new();
        for (rel, bytes) in files {
            let shown = String::from_utf8_lossy(rel);
            assert!(
                !rel.starts_with(b"/")
                    && !rel
                        .split(|b| *b == b'/')
                        .any(|c| c == b".." || c.is_empty()),
                "fixture path must be relative and plain: {shown}"
            );
            let path = tree.join(std::ffi::OsStr::from_bytes(rel));
            fs::create_dir_all(path.parent().expect("a file has a parent"))
                .unwrap_or_else(|e| panic!("create parent of {}: {e}", path.display()));
            fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            let top = rel.split(|b| *b == b'/').next().expect("non-empty path");
            let top = std::str::from_utf8(top)
                .unwrap_or_else(|_| panic!("a top-level folder must be UTF-8: {shown}"))
                .to_owned();
            if !tops.contains(&top) {
                tops.push(top);
            }
        }
        prepare(&tree);
        let mut args = vec!["backup", "--json", "--time", time, "--host", host];
        for tag in tags {
            args.extend(["--tag", tag]);
        }
        args.extend(tops.iter().map(String::as_str));
        let out = self.restic(&args, Some(&tree));
        // The last line of `backup --json` is the summary, with the new snapshot's id.
        let short = out
            .lines()
            .filter(|l| l.contains("\"message_type\":\"summary\""))
            .map(|l| str_field(&json(l), "snapshot_id").to_owned())
            .next_back()
            .unwrap_or_else(|| panic!("no summary in restic backup's output:\n{out}"));
        // restic 0.14's summary gives the short id; the full one is in the listing.
        let listed = json(&self.snapshots_json(&[]));
        listed
            .as_array()
            .expect("a list of snapshots")
            .iter()
            .map(|s| str_field(s, "id"))
            .find(|id| id.starts_with(&short))
            .unwrap_or_else(|| panic!("snapshot {short} is not listed"))
            .to_owned()
    }

    /// `restic snapshots --json` with the given extra arguments (`--host`, `--tag`, `--path`).
    pub fn snapshots_json(&self, filters: &[&str]) -> String {
        let mut args = vec!["snapshots", "--json"];
        args.extend_from_slice(filters);
        self.restic(&args, None)
    }

    /// Every pack the repository's index lists, with its blobs (`restic list index` and
    /// `restic cat index`).
    pub fn packs(&self) -> Vec<Pack> {
        let mut packs = Vec::new();
        for index in self.restic(&["list", "index"], None).lines() {
            let text = self.restic(&["cat", "index", index.trim()], None);
            packs.extend(index_packs(&text));
        }
        packs.sort_by(|a, b| a.id.cmp(&b.id));
        packs
    }

    /// The pack holding the data blob `blob`.
    pub fn pack_of(&self, blob: &str) -> Pack {
        self.packs()
            .into_iter()
            .find(|p| p.blobs.iter().any(|b| b.id == blob))
            .unwrap_or_else(|| panic!("no pack holds blob {blob}"))
    }

    /// The key file `restic init` wrote (`keys/ID`): the repository's only one until another
    /// is added (`restic key add`, [`ResticRepo::edit_key`]).
    pub fn key_file(&self) -> PathBuf {
        let mut keys: Vec<_> = fs::read_dir(self.repo.join("keys"))
            .expect("list keys/")
            .map(|e| e.expect("keys/ entry").path())
            .collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys.pop().expect("one key file")
    }

    /// Writes key file `from`'s JSON with `edit` applied as `keys/NAME`, as whoever can write
    /// the repository could, replacing any file of that name (`from`'s own name edits it in
    /// place); returns its path.
    pub fn edit_key(
        &self,
        from: &Path,
        name: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> PathBuf {
        let text =
            fs::read_to_string(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
        let mut key = json(&text);
        edit(&mut key);
        let path = self.repo.join("keys").join(name);
        // restic writes its files read-only; the folder is not.
        let _ = fs::remove_file(&path);
        fs::write(&path, serde_json::to_vec(&key).expect("key JSON"))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The file of pack `id` (`data/XX/ID`).
    pub fn pack_path(&self, id: &str) -> PathBuf {
        self.repo.join("data").join(&id[..2]).join(id)
    }

    /// Flips the byte at `offset` of pack `id` (restic writes packs read-only; the mode is
    /// restored after).
    pub fn flip_pack_byte(&self, id: &str, offset: u64) {
        let path = self.pack_path(id);
        let mut bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let i = usize::try_from(offset).expect("offset fits usize");
        assert!(
            i < bytes.len(),
            "{}: offset {i} past the end",
            path.display()
        );
        bytes[i] ^= 0xFF;
        let mode = fs::metadata(&path).expect("pack metadata").permissions();
        let mut writable = mode.clone();
        #[allow(clippy::permissions_set_readonly_false)]
        writable.set_readonly(false);
        fs::set_permissions(&path, writable).expect("make pack writable");
        fs::write(&path, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(&path, mode).expect("restore pack mode");
    }

    /// Deletes pack `id` from storage (the index still lists it: damage, not a prune).
    pub fn delete_pack(&self, id: &str) {
        let path = self.pack_path(id);
        fs::remove_file(&path).unwrap_or_else(|e| panic!("delete {}: {e}", path.display()));
    }

    /// The id of the tree of folder `path` (`/`-separated below the snapshot's root, `""`
    /// for the root) in snapshot `snapshot`, as `restic cat snapshot` and `restic cat blob`
    /// show it.
    pub fn tree_id(&self, snapshot: &str, path: &str) -> String {
        let snap = json(&self.restic(&["cat", "snapshot", snapshot], None));
        let mut tree = str_field(&snap, "tree").to_owned();
        for name in path.split('/').filter(|n| !n.is_empty()) {
            let nodes = json(&self.restic(&["cat", "blob", &tree], None));
            let node = nodes["nodes"]
                .as_array()
                .expect("a tree's nodes")
                .iter()
                .find(|n| n["name"] == name)
                .unwrap_or_else(|| panic!("no {name} in tree {tree}"));
            tree = str_field(node, "subtree").to_owned();
        }
        tree
    }

    /// Rewrites tree blob `tree` in its pack as someone holding the repository's key could
    /// (a compromised backup host has it): its plaintext decrypted with the master key (from
    /// the first key file and the password, through rustic_core), changed by `edit`, and
    /// encrypted again under a fresh nonce with restic's cipher. The tree is then validly
    /// encrypted and authenticated, but its plaintext no longer hashes to its id. `edit` must
    /// keep the length (the index locates the blob by offset and length), so the repository
    /// must store blobs uncompressed ([`ResticRepo::init_v1`]).
    pub fn forge_tree(&self, tree: &str, edit: impl FnOnce(&str) -> String) {
        self.forge_blob(tree, "tree", |plain| {
            let text =
                String::from_utf8(plain.to_vec()).expect("an uncompressed tree is JSON text");
            edit(&text).into_bytes()
        });
    }

    /// Rewrites data blob `blob` (a chunk of a file) in its pack as [`ResticRepo::forge_tree`]
    /// rewrites a tree: decrypted with the master key, changed by `edit` in place (same
    /// length), encrypted again under a fresh nonce. The chunk then authenticates, but its
    /// plaintext no longer hashes to its id. The repository must store blobs uncompressed
    /// ([`ResticRepo::init_v1`]).
    pub fn forge_data(&self, blob: &str, edit: impl FnOnce(&mut [u8])) {
        self.forge_blob(blob, "data", |plain| {
            let mut forged = plain.to_vec();
            edit(&mut forged);
            forged
        });
    }

    /// Rewrites the header of pack `id` as someone holding the repository's key could: its
    /// plaintext (restic's entries: type byte, stored length, plaintext length when
    /// compressed, blob id) decrypted with the master key, changed by `edit` in place (same
    /// length), encrypted again under a fresh nonce. The header then authenticates and
    /// parses, but says other than the index does about the pack (and the pack no longer
    /// hashes to its name).
    pub fn forge_pack_header(&self, id: &str, edit: impl FnOnce(&mut [u8])) {
        use aes256ctr_poly1305aes::aead::AeadInPlace;

        let cipher = self.cipher();
        let path = self.pack_path(id);
        let mut bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let end = bytes.len() - 4;
        let len = u32::from_le_bytes(bytes[end..].try_into().expect("4 bytes")) as usize;
        let at = end - len;
        let (nonce, rest) = bytes[at..end].split_at(16);
        let (ciphertext, tag) = rest.split_at(rest.len() - 16);
        let mut plain = ciphertext.to_vec();
        cipher
            .decrypt_in_place_detached(nonce.into(), &[], &mut plain, tag.into())
            .expect("the header decrypts with the repository's key");
        let before = plain.clone();
        edit(&mut plain);
        assert_ne!(plain, before, "the edit changed nothing");
        bytes[at..end].copy_from_slice(&seal(&cipher, plain, 0x4ead));
        self.write_pack(&path, &bytes);
    }

    /// Writes a repository file (`snapshots/ID`, `index/ID`) as someone holding the
    /// repository's key could: `plain` (JSON, or restic's compressed form, a byte 2 and a
    /// zstd frame) encrypted under a fresh nonce, named by the SHA-256 of what is stored as
    /// restic names its files. Returns the id.
    pub fn forge_file(&self, folder: &str, plain: &[u8]) -> String {
        let stored = seal(&self.cipher(), plain.to_vec(), 0xf17e);
        let id = crate::sha256_hex(&stored);
        let path = self.repo.join(folder).join(&id);
        fs::write(&path, &stored).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        id
    }

    /// Adds tree blobs as someone holding the repository's key could: each of `trees`
    /// (restic's tree JSON, named by its SHA-256 as restic names blobs) sealed under a fresh
    /// nonce into one new pack, with the pack's sealed header (type 1, a tree stored
    /// uncompressed; its stored length; its id) and the header's length, the pack named by
    /// the SHA-256 of its bytes in `data/XX/`, and a new index file that lists them. Returns
    /// the trees' ids, in order. With [`ResticRepo::forge_snapshot`], a snapshot of any shape
    /// restic itself would never write.
    pub fn forge_trees(&self, trees: &[Vec<u8>]) -> Vec<String> {
        let cipher = self.cipher();
        let (mut pack, mut header) = (Vec::new(), Vec::new());
        let (mut ids, mut blobs) = (Vec::new(), Vec::new());
        for (n, tree) in (0u64..).zip(trees) {
            let id = crate::sha256_hex(tree);
            let sealed = seal(&cipher, tree.clone(), 0x7ee0_0000 + n);
            let length = u32::try_from(sealed.len()).expect("a tree under 4 GiB");
            header.push(1u8);
            header.extend_from_slice(&length.to_le_bytes());
            header.extend_from_slice(&hex::decode(&id).expect("hex"));
            blobs.push(serde_json::json!({
                "id": id, "type": "tree", "offset": pack.len(), "length": sealed.len(),
            }));
            pack.extend_from_slice(&sealed);
            ids.push(id);
        }
        let header = seal(&cipher, header, 0x4ea0);
        pack.extend_from_slice(&header);
        pack.extend_from_slice(
            &u32::try_from(header.len())
                .expect("a header under 4 GiB")
                .to_le_bytes(),
        );
        let pack_id = crate::sha256_hex(&pack);
        let folder = self.repo.join("data").join(&pack_id[..2]);
        fs::create_dir_all(&folder).expect("data folder");
        let path = folder.join(&pack_id);
        fs::write(&path, &pack).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        let index = serde_json::json!({"packs": [{"id": pack_id, "blobs": blobs}]});
        self.forge_file("index", index.to_string().as_bytes());
        ids
    }

    /// Writes a snapshot of tree `tree` (added by [`ResticRepo::forge_trees`], or one restic
    /// wrote), taken at `time` (RFC 3339) on host `host` of path `/srv`, as someone holding the
    /// repository's key could. Returns its id.
    pub fn forge_snapshot(&self, tree: &str, time: &str, host: &str) -> String {
        let snapshot = serde_json::json!({
            "time": time, "tree": tree, "paths": ["/srv"], "hostname": host, "username": "root",
        });
        self.forge_file("snapshots", snapshot.to_string().as_bytes())
    }

    /// restic's cipher with the repository's master key (from the first key file and the
    /// password, through rustic_core).
    fn cipher(&self) -> aes256ctr_poly1305aes::Aes256CtrPoly1305Aes {
        use aes256ctr_poly1305aes::Aes256CtrPoly1305Aes;

        let password = fs::read_to_string(&self.password_file).expect("password file");
        let password = password.lines().next().unwrap_or_default();
        let keys = self.repo.join("keys");
        let key_file = fs::read_dir(&keys)
            .expect("keys folder")
            .next()
            .expect("a key file")
            .expect("key entry")
            .path();
        let key_file: rustic_core::repofile::KeyFile =
            serde_json::from_slice(&fs::read(&key_file).expect("key file")).expect("key JSON");
        let (encrypt, k, r) = key_file
            .key_from_password(&password)
            .expect("the password opens the key")
            .to_keys();
        let mut key = aes256ctr_poly1305aes::Key::default();
        key[..32].copy_from_slice(&encrypt);
        key[32..48].copy_from_slice(&k);
        key[48..].copy_from_slice(&r);
        Aes256CtrPoly1305Aes::new(&key)
    }

    /// Writes `bytes` over the pack at `path` (restic writes packs read-only; the mode is
    /// restored after).
    fn write_pack(&self, path: &Path, bytes: &[u8]) {
        let mode = fs::metadata(path).expect("pack metadata").permissions();
        let mut writable = mode.clone();
        #[allow(clippy::permissions_set_readonly_false)]
        writable.set_readonly(false);
        fs::set_permissions(path, writable).expect("make pack writable");
        fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(path, mode).expect("restore pack mode");
    }

    /// Rewrites blob `blob_id` of `kind` (`tree`, `data`) in its pack as someone holding the
    /// repository's key could: its plaintext (in a repository of format 2, the zstd frame the
    /// blob is stored as) decrypted, replaced by what `edit` returns (the same length: the
    /// index locates the blob by offset and length), encrypted again under a fresh nonce.
    pub fn forge_blob(&self, blob_id: &str, kind: &str, edit: impl FnOnce(&[u8]) -> Vec<u8>) {
        use aes256ctr_poly1305aes::aead::AeadInPlace;

        let cipher = self.cipher();
        let pack = self
            .packs()
            .into_iter()
            .find(|p| p.blobs.iter().any(|b| b.id == blob_id && b.kind == kind))
            .unwrap_or_else(|| panic!("no pack holds {kind} blob {blob_id}"));
        let blob = pack.blobs.iter().find(|b| b.id == blob_id).expect("listed");
        let path = self.pack_path(&pack.id);
        let mut bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let at = usize::try_from(blob.offset).expect("offset fits usize");
        let len = usize::try_from(blob.length).expect("length fits usize");
        let stored = &bytes[at..at + len];
        let (nonce, rest) = stored.split_at(16);
        let (ciphertext, tag) = rest.split_at(rest.len() - 16);
        let mut plain = ciphertext.to_vec();
        cipher
            .decrypt_in_place_detached(nonce.into(), &[], &mut plain, tag.into())
            .expect("the blob decrypts with the repository's key");
        let forged = edit(&plain);
        assert_eq!(
            forged.len(),
            plain.len(),
            "a forged blob must keep its length"
        );
        assert_ne!(forged, plain, "the edit changed nothing");
        bytes[at..at + len].copy_from_slice(&seal(&cipher, forged, 0x7e57));
        self.write_pack(&path, &bytes);
    }

    /// Runs `restic -r REPO --no-cache ARGS` with the password file; returns stdout, panics
    /// with stderr on failure.
    pub fn restic(&self, args: &[&str], cwd: Option<&Path>) -> String {
        String::from_utf8(self.restic_bytes_in(args, cwd)).expect("restic prints UTF-8")
    }

    /// Runs `restic -r REPO --no-cache ARGS` as [`ResticRepo::restic`] does; returns stdout
    /// as bytes (`restic dump` of a binary file).
    pub fn restic_bytes(&self, args: &[&str]) -> Vec<u8> {
        self.restic_bytes_in(args, None)
    }

    fn restic_bytes_in(&self, args: &[&str], cwd: Option<&Path>) -> Vec<u8> {
        let mut cmd = Command::new("restic");
        cmd.arg("-r")
            .arg(&self.repo)
            .arg("--no-cache")
            .args(args)
            .env("RESTIC_PASSWORD_FILE", &self.password_file)
            // `--time` is read in the local zone: UTC makes a fixture's times the same anywhere.
            .env("TZ", "UTC")
            .env_remove("RESTIC_PASSWORD")
            .env_remove("RESTIC_REPOSITORY");
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let out = cmd.output().unwrap_or_else(|e| {
            panic!(
                "cannot run restic ({e}): install it with `bash scripts/tools.sh install restic`"
            )
        });
        assert!(
            out.status.success(),
            "restic {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("restic's JSON lacks string {key:?}: {v}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("restic printed bad JSON ({e}):\n{text}"))
}

/// The packs of a `restic cat index` document: `{"packs":[{"id":…,"blobs":[{…}]}]}`.
fn index_packs(text: &str) -> Vec<Pack> {
    let doc = json(text);
    let packs = doc["packs"].as_array().cloned().unwrap_or_default();
    packs
        .iter()
        .map(|p| Pack {
            id: str_field(p, "id").to_owned(),
            blobs: p["blobs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|b| PackBlob {
                    id: str_field(b, "id").to_owned(),
                    kind: str_field(b, "type").to_owned(),
                    offset: b["offset"].as_u64().expect("blob offset"),
                    length: b["length"].as_u64().expect("blob length"),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_is_what_restic_lists_and_big_bin_is_stored_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, ids) = ResticRepo::fleet(tmp.path(), "fixture secret");
        let listed = json(&repo.snapshots_json(&[]));
        let mut listed: Vec<(String, String)> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    str_field(s, "id").to_owned(),
                    str_field(s, "hostname").to_owned(),
                )
            })
            .collect();
        listed.sort();
        let mut made: Vec<(String, String)> = ids
            .iter()
            .zip(FLEET)
            .map(|(id, (_, host, _))| (id.clone(), host.to_owned()))
            .collect();
        made.sort();
        assert_eq!(listed, made);
        let db01_weekly = json(&repo.snapshots_json(&["--host", "db01", "--tag", "weekly"]));
        assert_eq!(db01_weekly.as_array().unwrap().len(), 1);

        // Deduplication: every blob is stored in exactly one pack, and there are far fewer
        // data bytes than the three copies of big.bin backed up.
        let packs = repo.packs();
        let mut blobs: Vec<&str> = packs
            .iter()
            .flat_map(|p| p.blobs.iter().map(|b| b.id.as_str()))
            .collect();
        let all = blobs.len();
        blobs.sort_unstable();
        blobs.dedup();
        assert_eq!(blobs.len(), all, "a blob stored twice");
        let data: u64 = packs
            .iter()
            .filter(|p| p.is_data())
            .flat_map(|p| &p.blobs)
            .map(|b| b.length)
            .sum();
        assert!(
            data < 2 * BIG_BIN_BYTES as u64,
            "{data} data bytes: big.bin not deduplicated"
        );
    }

    #[test]
    fn damage_is_what_restic_check_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, _) = ResticRepo::fleet(tmp.path(), "fixture secret");
        let data: Vec<Pack> = repo.packs().into_iter().filter(Pack::is_data).collect();
        assert!(
            data.len() >= 2,
            "the fleet has several data packs: {data:?}"
        );
        let clean = Command::new("restic")
            .args([
                "-r",
                repo.path().to_str().unwrap(),
                "--no-cache",
                "check",
                "--read-data",
            ])
            .env("RESTIC_PASSWORD_FILE", repo.password_file())
            .output()
            .unwrap();
        assert!(
            clean.status.success(),
            "{}",
            String::from_utf8_lossy(&clean.stderr)
        );

        repo.flip_pack_byte(&data[0].id, data[0].blobs[0].offset + 40);
        repo.delete_pack(&data[1].id);
        assert!(!repo.pack_path(&data[1].id).exists());
        let damaged = Command::new("restic")
            .args([
                "-r",
                repo.path().to_str().unwrap(),
                "--no-cache",
                "check",
                "--read-data",
            ])
            .env("RESTIC_PASSWORD_FILE", repo.password_file())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&damaged.stdout).to_string()
            + &String::from_utf8_lossy(&damaged.stderr);
        assert!(
            !damaged.status.success(),
            "restic check passed a damaged repository"
        );
        assert!(
            said.contains(&data[0].id[..8]),
            "the flipped pack is not named:\n{said}"
        );
        assert!(
            said.contains(&data[1].id[..8]),
            "the deleted pack is not named:\n{said}"
        );

        // A wrong password: restic itself refuses it.
        let wrong = tmp.path().join("wrong");
        fs::write(&wrong, "not it\n").unwrap();
        let refused = Command::new("restic")
            .args([
                "-r",
                repo.path().to_str().unwrap(),
                "--no-cache",
                "snapshots",
            ])
            .env("RESTIC_PASSWORD_FILE", &wrong)
            .output()
            .unwrap();
        assert!(!refused.status.success());
    }
}

/// restic's JSON for a tree (what [`ResticRepo::forge_trees`] stores): a folder node for each
/// `(name, subtree id)` of `folders`, then an empty regular file for each of `empty_files`,
/// with the fields restic 0.14 writes, and its trailing newline.
fn tree_json(folders: &[(&str, &str)], empty_files: &[&str]) -> Vec<u8> {
    let time = "2026-11-21T02:00:00Z";
    let folders = folders.iter().map(|(name, subtree)| {
        serde_json::json!({
            "name": name, "type": "dir", "mode": 2_147_484_141u64, "mtime": time, "atime": time,
            "ctime": time, "uid": 0, "gid": 0, "user": "root", "group": "root", "inode": 1,
            "device_id": 1, "content": null, "subtree": subtree,
        })
    });
    let files = empty_files.iter().map(|name| {
        serde_json::json!({
            "name": name, "type": "file", "mode": 420, "mtime": time, "atime": time,
            "ctime": time, "uid": 0, "gid": 0, "user": "root", "group": "root", "inode": 2,
            "device_id": 1, "size": 0, "links": 1, "content": [],
        })
    });
    let nodes: Vec<_> = folders.chain(files).collect();
    let mut json = serde_json::json!({ "nodes": nodes })
        .to_string()
        .into_bytes();
    json.push(b'\n');
    json
}

/// The trees of a snapshot nested `levels` deep, bottom first, the root last (for
/// [`ResticRepo::forge_trees`]): the bottom tree holds one empty file `f`, and each tree above
/// names the one below it once under each of `names`. With `["a"]`, a chain of `levels`
/// folders; with `["a", "b"]`, each folder named twice, so the snapshot lists 2^`levels`
/// files from `levels` + 1 trees.
pub fn nested_trees(levels: usize, names: &[&str]) -> Vec<Vec<u8>> {
    nested_over(tree_json(&[], &["f"]), levels, names)
}

/// The trees of a snapshot whose root names one wide folder once under each of `names`
/// (for [`ResticRepo::forge_trees`]; the root last): that folder's tree holds `files` empty
/// files, `f0`, `f1`, ..., each of them about 260 bytes of the tree.
pub fn wide_trees(files: usize, names: &[&str]) -> Vec<Vec<u8>> {
    let files: Vec<String> = (0..files).map(|n| format!("f{n}")).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    nested_over(tree_json(&[], &files), 1, names)
}

fn nested_over(bottom: Vec<u8>, levels: usize, names: &[&str]) -> Vec<Vec<u8>> {
    let mut trees = vec![bottom];
    for _ in 0..levels {
        let below = crate::sha256_hex(trees.last().expect("the bottom tree"));
        let folders: Vec<_> = names.iter().map(|name| (*name, below.as_str())).collect();
        trees.push(tree_json(&folders, &[]));
    }
    trees
}

/// `plain` encrypted with restic's cipher as restic stores it: a nonce (drawn from `seed`),
/// the ciphertext, the Poly1305 tag.
fn seal(
    cipher: &aes256ctr_poly1305aes::Aes256CtrPoly1305Aes,
    mut plain: Vec<u8>,
    seed: u64,
) -> Vec<u8> {
    use aes256ctr_poly1305aes::aead::AeadInPlace;

    let nonce: [u8; 16] = crate::prng::random_bytes(16, seed)
        .try_into()
        .expect("16 bytes");
    let tag = cipher
        .encrypt_in_place_detached(&nonce.into(), &[], &mut plain)
        .expect("encrypt");
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&plain);
    stored.extend_from_slice(&tag);
    stored
}

/// restic's compressed form of a repository file that decodes to `bytes` bytes of spaces
/// (rounded up to 128 KiB): a byte 2, then one zstd frame of RLE blocks, four bytes of
/// input per 128 KiB of output, so a gigabyte takes 32 KiB. What a zstd bomb looks like.
pub fn zstd_bomb(bytes: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    let blocks = bytes.div_ceil(BLOCK).max(1);
    // Magic, then a frame header: no content size, no checksum, a 128 KiB window.
    let mut out = vec![2, 0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3];
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        // Last_Block, Block_Type 1 (RLE), Block_Size: the bytes the block regenerates.
        let header = last | (1 << 1) | ((BLOCK as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(b' ');
    }
    out
}

/// A zstd frame of exactly `len` bytes (at least 22) that decodes to as many 128 KiB runs of
/// spaces as fit, padded to its length with a skippable frame: a bomb that takes a blob's
/// place without changing its stored length.
pub fn zstd_bomb_of_len(len: usize) -> Vec<u8> {
    assert!(
        len >= 22,
        "a frame of {len} bytes cannot hold a bomb and its padding"
    );
    let blocks = (len - 6 - 8) / 4;
    let mut out = zstd_bomb(blocks as u64 * (128 << 10))[1..].to_vec();
    let pad = len - out.len();
    out.extend(skippable_frame(pad));
    out
}

/// A zstd skippable frame of exactly `len` bytes (at least 8): magic 0x184D2A50, the length
/// of what follows, then zeros. A decoder reads past it and decodes nothing; it makes a frame
/// as long as wanted without changing what it decodes to.
pub fn skippable_frame(len: usize) -> Vec<u8> {
    assert!(len >= 8, "a skippable frame takes 8 bytes at least");
    let mut out = 0x184D_2A50_u32.to_le_bytes().to_vec();
    out.extend_from_slice(&u32::try_from(len - 8).expect("under 4 GiB").to_le_bytes());
    out.resize(len, 0);
    out
}

#[cfg(test)]
mod bomb_tests {
    /// The frame is what zstd itself decodes, to exactly the size asked for.
    #[test]
    fn a_zstd_bomb_decodes_to_its_size() {
        let bomb = super::zstd_bomb(3 << 20);
        assert_eq!(bomb[0], 2);
        let plain = zstd::stream::decode_all(&bomb[1..]).unwrap();
        assert_eq!(plain.len(), 3 << 20);
        assert!(plain.iter().all(|b| *b == b' '));
        assert!(bomb.len() < 128);
        for len in [22, 23, 100, 301] {
            let bomb = super::zstd_bomb_of_len(len);
            assert_eq!(bomb.len(), len);
            let plain = zstd::stream::decode_all(&bomb[..]).unwrap();
            assert_eq!(plain.len(), (len - 14) / 4 * (128 << 10));
        }
    }
}
