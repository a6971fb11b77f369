//! A restic tree's JSON, weighed before it is decoded.
//!
//! A tree is `{"nodes": [...]}`, one object per entry of a folder, and rustic_core's [`Node`]
//! is about 340 bytes in memory however short its JSON is: `{"name":"","type":"file"},` is
//! 26 bytes, so a tree forged of such entries (with the repository's key, which the machine
//! that writes the backup holds) decodes to thirteen times its length, and the 1 GiB the
//! decoder allows one tree to some 13 GiB. Decoding also buffers every field `Node` takes
//! through `#[serde(flatten)]` (its type and metadata, and any field it does not know) as
//! serde's `Content` first, twice: one such field holding `[0,0,0,...]` costs about 32 bytes
//! per 2 bytes of JSON while its entry is decoded. Counting a tree by its length, as the index
//! gives it, said nothing of either.
//!
//! So a tree is read in two passes over the same bytes. [`weigh`] walks the JSON without
//! keeping anything of it and adds up, from each entry's fields, what decoding it would
//! allocate: the entries themselves, what each keeps (its name, owner, group, link target,
//! chunk ids, extended attributes) and, for the largest entry, what decoding it holds for a
//! while. Every bound on trees in memory counts that [`Weight`], and a tree weighing more than
//! [`MAX_TREE_WEIGHT`] is refused before it is decoded. [`decode`] then decodes the entries
//! with rustic_core's own `Node` decoder, into a vector of exactly the weighed length.
//!
//! The weight is an upper bound, not an estimate: each allocation is counted at least as
//! large as glibc's malloc makes it, and growing vectors at twice their length. For an honest
//! tree restic wrote it comes to about 700 bytes per entry, some twice the JSON. The test
//! `tests/tree_weight.rs` measures what decoding really allocates, peak and kept, for honest
//! and forged trees, and holds the weight above both.

use std::mem::size_of;

use rustic_core::repofile::Node;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The most memory one tree's entries may take once decoded, as [`weigh`] counts it: above
/// what the largest honest tree the decoder lets through takes (1 GiB of JSON, about three
/// and a half million entries of some 300 bytes each, about 1.6 GiB decoded), and a seventh of
/// what 1 GiB of forged entries would take. A tree weighing more is refused unread by the
/// decoder, as damaged.
pub const MAX_TREE_WEIGHT: u64 = 2 << 30;

/// What decoding a tree takes, from [`weigh`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weight {
    /// Its entries.
    pub nodes: usize,
    /// Bytes of memory: the entries and everything they keep, and what decoding holds for a
    /// while on top (the most any one entry needs). The tree's JSON is not counted.
    pub bytes: u64,
    /// Of `bytes`, what the decoded entries keep.
    pub kept: u64,
}

/// Bytes glibc's malloc takes for `len` requested: a chunk of at least 32 bytes, the request
/// and 8 bytes of header rounded up to 16. Other allocators take no more.
fn alloc(len: u64) -> u64 {
    if len == 0 {
        0
    } else {
        len.saturating_add(8 + 15).max(32) & !15
    }
}

/// Bytes a vector of `n` items of `size` bytes may take once filled one by one: its capacity
/// doubles from four, so up to twice `n`.
fn vector(n: u64, size: usize) -> u64 {
    if n == 0 {
        0
    } else {
        alloc(n.max(4).next_power_of_two().saturating_mul(size as u64))
    }
}

/// serde's buffered value (`Content`, 32 bytes on 64-bit targets) and one buffered field
/// (`Option<(Content, Content)>`), counted with room to spare: the type is serde's own and
/// not public.
const CONTENT: usize = 40;
const FIELD: usize = 88;
/// rustic_core's `ExtendedAttribute`: a name and an optional value, 48 bytes; counted with
/// room to spare for the same reason.
const EXTENDED_ATTRIBUTE: usize = 64;
/// A chunk id in a `Node`'s content (`DataId`, 32 bytes).
const CHUNK_ID: usize = 32;

/// What decoding `plain`, a tree's JSON, would take, found without keeping any of it; an
/// error, as decoding it would fail, when it is not a tree (the same JSON errors: not JSON,
/// not an object with `nodes`, an entry without a name, ...; an entry that is wrong in a way
/// the weighing does not look at, such as a chunk id that is not hex, fails in [`decode`]).
pub fn weigh(plain: &[u8]) -> serde_json::Result<Weight> {
    let mut tally = Tally::default();
    let mut de = serde_json::Deserializer::from_slice(plain);
    de.deserialize_map(TreeVisitor {
        tally: &mut tally,
        decode: None,
    })?;
    de.end()?;
    let entries = (tally.nodes as u64).saturating_mul(size_of::<Node>() as u64);
    let kept = entries.saturating_add(tally.kept);
    Ok(Weight {
        nodes: tally.nodes,
        bytes: kept
            .saturating_add(tally.held)
            .saturating_add(tally.scratch),
        kept,
    })
}

/// The entries of `plain`, a tree's JSON that [`weigh`] weighed as `weight`, decoded by
/// rustic_core's `Node` decoder (so exactly as rustic_core decodes a tree) into a vector of
/// `weight.nodes` entries, never grown.
pub fn decode(plain: &[u8], weight: &Weight) -> serde_json::Result<Vec<Node>> {
    let mut tally = Tally::default();
    let mut nodes = Vec::with_capacity(weight.nodes);
    let mut de = serde_json::Deserializer::from_slice(plain);
    de.deserialize_map(TreeVisitor {
        tally: &mut tally,
        decode: Some(&mut nodes),
    })?;
    de.end()?;
    Ok(nodes)
}

/// What [`weigh`] has counted so far.
#[derive(Default)]
struct Tally {
    nodes: usize,
    /// Bytes the entries keep besides themselves.
    kept: u64,
    /// The most bytes decoding one entry holds until the entry is decoded.
    held: u64,
    /// The buffer serde_json unescapes each string with an escape into, kept for the whole
    /// tree: as long as the longest such string, grown to up to twice that.
    scratch: u64,
}

impl Tally {
    fn unescaped(&mut self, s: &str) {
        self.scratch = self.scratch.max(vector(s.len() as u64, 1));
    }
}

/// The tree: a map whose `nodes` is null or a list of entries; other keys are skipped, as
/// rustic_core's `Tree` skips them. Weighs, or with `decode` decodes into it.
struct TreeVisitor<'a> {
    tally: &'a mut Tally,
    decode: Option<&'a mut Vec<Node>>,
}

impl<'de> Visitor<'de> for TreeVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a restic tree: an object with `nodes`")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key_seed(FieldSeed {
            tally: &mut *self.tally,
        })? {
            if key.name != Field::Nodes {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if seen {
                return Err(de::Error::duplicate_field("nodes"));
            }
            seen = true;
            map.next_value_seed(NodesSeed {
                tally: &mut *self.tally,
                decode: self.decode.as_deref_mut(),
            })?;
        }
        if !seen {
            return Err(de::Error::missing_field("nodes"));
        }
        Ok(())
    }
}

/// `nodes`: null (no entries) or a list.
struct NodesSeed<'a> {
    tally: &'a mut Tally,
    decode: Option<&'a mut Vec<Node>>,
}

impl<'de> DeserializeSeed<'de> for NodesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for NodesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tree's entries: a list, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.decode {
            Some(nodes) => {
                while let Some(node) = seq.next_element::<Node>()? {
                    if nodes.len() == nodes.capacity() {
                        // The bytes were weighed with fewer entries: they are not the bytes
                        // weighed.
                        return Err(de::Error::custom("more entries than were weighed"));
                    }
                    nodes.push(node);
                }
            }
            None => {
                while seq
                    .next_element_seed(NodeSeed {
                        tally: &mut *self.tally,
                    })?
                    .is_some()
                {
                    self.tally.nodes += 1;
                }
            }
        }
        Ok(())
    }
}

/// The fields of an entry whose cost [`weigh`] tells apart; `Other` is any field it buffers
/// and drops (the type, the times, the numbers, and fields it does not know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Nodes,
    Name,
    Content,
    Subtree,
    /// Kept as a `String` once decoded: `user`, `group`, `linktarget`.
    Text,
    /// Base64, kept decoded: `linktarget_raw`.
    Raw,
    ExtendedAttributes,
    Other,
}

/// A map's key, named as serde names it (after unescaping: `"na\u006de"` is `name`).
struct Key {
    name: Field,
    /// Bytes the key takes when buffered: only an escaped key is copied.
    buffered: u64,
}

struct FieldSeed<'a> {
    tally: &'a mut Tally,
}

impl FieldSeed<'_> {
    fn key(&self, s: &str) -> Field {
        match s {
            "nodes" => Field::Nodes,
            "name" => Field::Name,
            "content" => Field::Content,
            "subtree" => Field::Subtree,
            "user" | "group" | "linktarget" => Field::Text,
            "linktarget_raw" => Field::Raw,
            "extended_attributes" => Field::ExtendedAttributes,
            _ => Field::Other,
        }
    }
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key, E> {
        Ok(Key {
            name: self.key(s),
            buffered: 0,
        })
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        self.tally.unescaped(s);
        Ok(Key {
            name: self.key(s),
            buffered: alloc(s.len() as u64),
        })
    }
}

/// One entry: a map (rustic_core's `Node` decodes only from a map, for its flattened fields).
struct NodeSeed<'a> {
    tally: &'a mut Tally,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a tree entry: an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut kept = 0u64;
        // The fields `Node` buffers (all but its name, content and subtree), and the bytes
        // their values take buffered.
        let (mut fields, mut buffered) = (0u64, 0u64);
        // The chunk ids' vector, copied while it grows.
        let mut growing = 0u64;
        let mut name = false;
        while let Some(key) = map.next_key_seed(FieldSeed {
            tally: &mut *self.tally,
        })? {
            match key.name {
                Field::Name => {
                    if name {
                        return Err(de::Error::duplicate_field("name"));
                    }
                    name = true;
                    let len = map.next_value_seed(TextSeed {
                        tally: &mut *self.tally,
                    })?;
                    kept += alloc(len);
                }
                Field::Content => {
                    let ids = map.next_value_seed(CountSeed)?;
                    growing = growing.max(vector(ids, CHUNK_ID));
                    kept += vector(ids, CHUNK_ID);
                }
                Field::Subtree => {
                    map.next_value::<IgnoredAny>()?;
                }
                field => {
                    fields += 1;
                    let value = map.next_value_seed(ContentSeed {
                        tally: &mut *self.tally,
                    })?;
                    buffered += key.buffered + value.buffered;
                    kept += match field {
                        // Base64 (`Raw`) decodes to three bytes for four.
                        Field::Text | Field::Raw => value.strings,
                        Field::ExtendedAttributes => {
                            vector(value.items, EXTENDED_ATTRIBUTE) + value.strings
                        }
                        _ => 0,
                    };
                }
            }
        }
        if !name {
            return Err(de::Error::missing_field("name"));
        }
        // The buffered fields are copied once more: the entry's type (a tagged enum) is
        // decoded from a copy of them.
        let held = 2 * (vector(fields, FIELD) + buffered) + growing;
        self.tally.held = self.tally.held.max(held);
        self.tally.kept = self.tally.kept.saturating_add(kept);
        Ok(())
    }
}

/// A string, its length: an entry's name.
struct TextSeed<'a> {
    tally: &'a mut Tally,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<u64, E> {
        Ok(s.len() as u64)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
        self.tally.unescaped(s);
        Ok(s.len() as u64)
    }
}

/// A list's length, or 0 for null: an entry's chunk ids (each is checked in [`decode`]).
struct CountSeed;

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of chunk ids, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0u64;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// What one value costs buffered as serde's `Content`.
#[derive(Default)]
struct Buffered {
    /// Bytes it takes besides its own `Content`: the vectors of lists and maps in it, and
    /// the escaped strings (the others are borrowed from the JSON).
    buffered: u64,
    /// Bytes its strings take once decoded each into a `String` or `Vec<u8>`, kept.
    strings: u64,
    /// Its items when it is a list.
    items: u64,
}

struct ContentSeed<'a> {
    tally: &'a mut Tally,
}

impl<'de> DeserializeSeed<'de> for ContentSeed<'_> {
    type Value = Buffered;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Buffered, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ContentSeed<'_> {
    type Value = Buffered;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Buffered, E> {
        Ok(Buffered::default())
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Buffered, E> {
        Ok(Buffered {
            buffered: 0,
            strings: alloc(s.len() as u64),
            items: 0,
        })
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Buffered, E> {
        self.tally.unescaped(s);
        let len = alloc(s.len() as u64);
        Ok(Buffered {
            buffered: len,
            strings: len,
            items: 0,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Buffered, A::Error> {
        let mut all = Buffered::default();
        while let Some(item) = seq.next_element_seed(ContentSeed {
            tally: &mut *self.tally,
        })? {
            all.items += 1;
            all.buffered = all.buffered.saturating_add(item.buffered);
            all.strings = all.strings.saturating_add(item.strings);
        }
        all.buffered = all.buffered.saturating_add(vector(all.items, CONTENT));
        Ok(all)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Buffered, A::Error> {
        let mut all = Buffered::default();
        let mut entries = 0u64;
        while let Some(key) = map.next_key_seed(ContentSeed {
            tally: &mut *self.tally,
        })? {
            let value = map.next_value_seed(ContentSeed {
                tally: &mut *self.tally,
            })?;
            entries += 1;
            all.buffered = all
                .buffered
                .saturating_add(key.buffered)
                .saturating_add(value.buffered);
            all.strings = all
                .strings
                .saturating_add(key.strings)
                .saturating_add(value.strings);
        }
        all.buffered = all.buffered.saturating_add(vector(entries, 2 * CONTENT));
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_weighed_by_its_entries_and_refused_as_its_decoder_refuses_it() {
        let honest = br#"{"nodes":[{"name":"a.txt","type":"file","mode":420,"mtime":"2026-11-21T02:00:00Z","uid":0,"gid":0,"user":"root","content":["0000000000000000000000000000000000000000000000000000000000000000"]}]}"#;
        let weight = weigh(honest).unwrap();
        assert_eq!(weight.nodes, 1);
        let nodes = decode(honest, &weight).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "a.txt");
        assert!(weight.kept >= size_of::<Node>() as u64 + 3 * 32);

        for empty in [&br#"{"nodes":[]}"#[..], br#"{"nodes":null,"x":[1,2]}"#] {
            assert_eq!(weigh(empty).unwrap().nodes, 0);
            assert!(decode(empty, &weigh(empty).unwrap()).unwrap().is_empty());
        }
        // Not a tree.
        for bad in [
            &br#"[]"#[..],
            br#"{"x":1}"#,
            br#"{"nodes":[],"nodes":[]}"#,
            br#"{"nodes":[{"type":"file"}]}"#,
            br#"{"nodes":[1]}"#,
            br#"{"nodes":[]} trailing"#,
            b"{\"nodes\":[",
        ] {
            assert!(weigh(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // Bytes other than those weighed are not decoded past the weighed entries.
        let two = br#"{"nodes":[{"name":"a","type":"file"},{"name":"b","type":"file"}]}"#;
        let one = weigh(br#"{"nodes":[{"name":"a","type":"file"}]}"#).unwrap();
        assert!(decode(two, &one).is_err());
    }
}
