//! Names in S3 and Azure listings, kept exactly as the bucket holds them.
//!
//! object_store turns each name in a listing into a `Path` with `Path::parse`, which refuses
//! a control character, an empty segment and a `.` or `..` segment, and one such name fails
//! the *whole* listing: a single stray object named `stray<TAB>file` beside the points made
//! every drill of that bucket exit 3 ("invalid path").
//!
//! So every listing response passes through [`ListingGuard`] on its way to object_store:
//! each entry's name is decoded from the XML, an entry whose name object_store cannot
//! represent is taken out and recorded (the caller reports it as skipped, with the reason),
//! and every other name is written back as CDATA, so no rule of the XML reader (whitespace,
//! line ends, entities) can change a name between the bucket and lifeboat. Requests are not
//! touched (their signatures stay valid); only listing bodies are.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpResponseBody, HttpService,
    ReqwestConnector,
};

/// Why a name in a listing cannot be used, in words for a sentence "… whose name {why}".
pub(crate) const CONTROL: &str = "holds a control character";
pub(crate) const SEGMENT: &str = "has an empty, `.` or `..` part";
pub(crate) const NOT_UTF8: &str = "is not valid UTF-8";

/// Names taken out of listings, with why, in the order seen. Shared by every clone of one
/// source; `Source::list_children` drains it before and after its listing, which is right as
/// long as one listing of a source runs at a time (discovery lists once per drill).
#[derive(Debug, Default)]
pub(crate) struct Unlisted(Mutex<Vec<(String, &'static str)>>);

impl Unlisted {
    /// Everything recorded since the last call.
    pub(crate) fn take(&self) -> Vec<(String, &'static str)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn extend(&self, names: Vec<(String, &'static str)>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(names);
    }
}

/// object_store's usual HTTP client, with listing bodies passed through [`rewrite`].
#[derive(Debug)]
pub(crate) struct ListingGuard {
    pub(crate) unlisted: Arc<Unlisted>,
}

impl HttpConnector for ListingGuard {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(Guarded {
            inner,
            unlisted: Arc::clone(&self.unlisted),
        }))
    }
}

#[derive(Debug)]
struct Guarded {
    inner: HttpClient,
    unlisted: Arc<Unlisted>,
}

#[async_trait]
impl HttpService for Guarded {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let listing = is_listing(req.method().as_str(), req.uri().query());
        let mut response = self.inner.execute(req).await?;
        if !listing || !response.status().is_success() {
            return Ok(response);
        }
        let body = std::mem::replace(response.body_mut(), HttpResponseBody::from(Bytes::new()));
        let (xml, dropped) = rewrite(&body.bytes().await?);
        self.unlisted.extend(dropped);
        response.headers_mut().remove("content-length");
        *response.body_mut() = HttpResponseBody::from(xml);
        Ok(response)
    }
}

/// S3's ListObjectsV2 (`list-type=2`) or Azure's List Blobs (`restype=container&comp=list`).
fn is_listing(method: &str, query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    method == "GET" && (has("list-type=2") || (has("restype=container") && has("comp=list")))
}

/// The elements of a listing that stand for one entry, and the element inside that names
/// it: S3 objects and common prefixes, Azure blobs and blob prefixes.
const ENTRIES: &[(&str, &str)] = &[
    ("Contents", "Key"),
    ("CommonPrefixes", "Prefix"),
    ("Blob", "Name"),
    ("BlobPrefix", "Name"),
];

/// The listing body with every entry object_store could not represent taken out, and every
/// other entry's name as CDATA; and the names taken out, with why. A body that is not UTF-8
/// or that this reader does not understand is returned as it came.
pub(crate) fn rewrite(xml: &[u8]) -> (Vec<u8>, Vec<(String, &'static str)>) {
    let Ok(text) = std::str::from_utf8(xml) else {
        return (xml.to_vec(), Vec::new());
    };
    let mut out = String::with_capacity(text.len());
    let mut dropped = Vec::new();
    let mut rest = text;
    loop {
        let next = ENTRIES
            .iter()
            .filter_map(|&(entry, name)| {
                let (start, inner) = find_open(rest, entry)?;
                Some((start, inner, entry, name))
            })
            .min_by_key(|x| x.0);
        let Some((start, inner, entry, name)) = next else {
            break;
        };
        let close = format!("</{entry}>");
        let Some(len) = rest[inner..].find(&close) else {
            break;
        };
        let end = inner + len + close.len();
        out.push_str(&rest[..start]);
        let block = &rest[start..end];
        match entry_name(block, name) {
            Some((Ok(raw), at)) => match usable(&raw) {
                Ok(()) => {
                    out.push_str(&block[..at.start]);
                    out.push_str(&format!("<{name}>{}</{name}>", cdata(&raw)));
                    out.push_str(&block[at.end..]);
                }
                Err(why) => dropped.push((raw, why)),
            },
            Some((Err(shown), _)) => dropped.push((shown, NOT_UTF8)),
            None => out.push_str(block),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out.into_bytes(), dropped)
}

/// Whether object_store can hold `raw` as a path and give it back unchanged. A prefix ends
/// with the delimiter; so may an object that marks a folder.
fn usable(raw: &str) -> Result<(), &'static str> {
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err(CONTROL);
    }
    let body = raw.strip_suffix('/').unwrap_or(raw);
    if body
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(SEGMENT);
    }
    Ok(())
}

/// Where `<tag>` or `<tag attr…>` first starts in `text`, and where its content starts.
fn find_open(text: &str, tag: &str) -> Option<(usize, usize)> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&open) {
        let start = from + i;
        let after = start + open.len();
        match text[after..].chars().next() {
            Some('>') => return Some((start, after + 1)),
            Some(c) if c.is_whitespace() => {
                let close = text[after..].find('>')?;
                if text[after..after + close].ends_with('/') {
                    // `<tag/>`: empty, no entry.
                    from = after + close + 1;
                    continue;
                }
                return Some((start, after + close + 1));
            }
            // `<Blobs>` when looking for `<Blob>`.
            _ => from = after,
        }
    }
    None
}

/// The decoded name of an entry (`Err`: it is not UTF-8, shown escaped), and the byte
/// range of its name element in `block`.
type Name = (Result<String, String>, std::ops::Range<usize>);

fn entry_name(block: &str, name: &str) -> Option<Name> {
    let (start, inner) = find_open(block, name)?;
    let close = format!("</{name}>");
    let len = block[inner..].find(&close)?;
    let at = start..inner + len + close.len();
    let tag = &block[start..inner];
    let text = decode_xml(&block[inner..inner + len])?;
    if !(tag.contains("Encoded=\"true\"") || tag.contains("Encoded='true'")) {
        return Some((Ok(text), at));
    }
    // Azure percent-encodes a name holding characters XML 1.0 cannot carry.
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&text).collect();
    match String::from_utf8(bytes) {
        Ok(raw) => Some((Ok(raw), at)),
        Err(e) => Some((Err(bstr_lossy(e.as_bytes())), at)),
    }
}

/// Bytes as text with every byte that is not part of valid UTF-8 written `\xNN`.
fn bstr_lossy(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// XML character data: entity and character references, and CDATA sections. `None` for
/// anything else (an unknown entity), which is left for object_store to judge.
fn decode_xml(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>")?;
            out.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix('&') {
            let end = after.find(';')?;
            let entity = &after[..end];
            let ch = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = entity
                        .strip_prefix("#x")
                        .or_else(|| entity.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()?
                    } else {
                        entity.strip_prefix('#')?.parse().ok()?
                    };
                    char::from_u32(code)?
                }
            };
            out.push(ch);
            rest = &after[end + 1..];
        } else if rest.starts_with('<') {
            return None;
        } else {
            let next = rest.find(['&', '<']).unwrap_or(rest.len());
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    Some(out)
}

/// `raw` as CDATA sections, which an XML reader neither trims nor unescapes.
fn cdata(raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    format!("<![CDATA[{}]]>", raw.replace("]]>", "]]]]><![CDATA[>"))
}

/// One page of an S3 `ListObjectVersions` answer: the key of every version and delete marker
/// on it, and where the next page starts (`key-marker`, `version-id-marker`) when it is cut.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionsPage {
    pub(crate) keys: Vec<String>,
    pub(crate) next: Option<(String, String)>,
}

/// Reads a `ListVersionsResult` with the listing's own XML reader (names decoded exactly as
/// in a listing). A key that is not UTF-8 is kept in its shown form: it is counted, not read.
pub(crate) fn versions(xml: &[u8]) -> VersionsPage {
    let text = String::from_utf8_lossy(xml);
    let mut page = VersionsPage::default();
    let mut rest: &str = &text;
    loop {
        let next = ["Version", "DeleteMarker"]
            .iter()
            .filter_map(|&entry| find_open(rest, entry).map(|(start, inner)| (start, inner, entry)))
            .min_by_key(|x| x.0);
        let Some((_, inner, entry)) = next else { break };
        let close = format!("</{entry}>");
        let Some(len) = rest[inner..].find(&close) else {
            break;
        };
        let block = &rest[inner..inner + len];
        if let Some((key, _)) = entry_name(block, "Key") {
            page.keys.push(key.unwrap_or_else(|shown| shown));
        }
        rest = &rest[inner + len + close.len()..];
    }
    let value = |tag: &str| {
        let (start, inner) = find_open(&text, tag)?;
        let _ = start;
        let len = text[inner..].find(&format!("</{tag}>"))?;
        decode_xml(&text[inner..inner + len])
    };
    if value("IsTruncated").as_deref() == Some("true") {
        page.next = value("NextKeyMarker").zip(value("NextVersionIdMarker"));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(xml: &str) -> (String, Vec<(String, &'static str)>) {
        let (out, dropped) = rewrite(xml.as_bytes());
        (String::from_utf8(out).unwrap(), dropped)
    }

    #[test]
    fn s3_entries_with_control_characters_are_taken_out() {
        let xml = "<ListBucketResult><Prefix>b/</Prefix>\
            <Contents><Key>b/stray\tfile</Key><Size>1</Size></Contents>\
            <Contents><Key>b/ok &amp; fine</Key><Size>2</Size></Contents>\
            <CommonPrefixes><Prefix>b/p&#13;1/</Prefix></CommonPrefixes>\
            <CommonPrefixes><Prefix>b/ lead/</Prefix></CommonPrefixes>\
            </ListBucketResult>";
        let (out, dropped) = run(xml);
        assert_eq!(
            dropped,
            [
                ("b/stray\tfile".to_owned(), CONTROL),
                ("b/p\r1/".to_owned(), CONTROL)
            ]
        );
        assert_eq!(
            out,
            "<ListBucketResult><Prefix>b/</Prefix>\
            <Contents><Key><![CDATA[b/ok & fine]]></Key><Size>2</Size></Contents>\
            <CommonPrefixes><Prefix><![CDATA[b/ lead/]]></Prefix></CommonPrefixes>\
            </ListBucketResult>"
        );
    }

    #[test]
    fn azure_entries_and_encoded_names() {
        let xml = "<EnumerationResults><Blobs>\
            <Blob><Name>b/x]]&gt;y</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>\
            <BlobPrefix><Name Encoded=\"true\">b%2Fp%011%2F</Name></BlobPrefix>\
            <BlobPrefix><Name>b/a//</Name></BlobPrefix>\
            </Blobs></EnumerationResults>";
        let (out, dropped) = run(xml);
        assert_eq!(
            dropped,
            [
                ("b/p\u{1}1/".to_owned(), CONTROL),
                ("b/a//".to_owned(), SEGMENT)
            ]
        );
        assert_eq!(
            out,
            "<EnumerationResults><Blobs>\
            <Blob><Name><![CDATA[b/x]]]]><![CDATA[>y]]></Name><Properties><Content-Length>1</Content-Length></Properties></Blob>\
            </Blobs></EnumerationResults>"
        );
    }

    #[test]
    fn dot_segments_and_folder_markers() {
        assert_eq!(usable("b/./x"), Err(SEGMENT));
        assert_eq!(usable("b/../x/"), Err(SEGMENT));
        assert_eq!(usable("/x"), Err(SEGMENT));
        assert_eq!(usable("b/"), Ok(()));
        assert_eq!(usable("b/p 1/"), Ok(()));
        assert_eq!(usable("b/%20#[{é"), Ok(()));
    }

    #[test]
    fn what_it_does_not_understand_passes_unchanged() {
        for xml in [
            "<ListBucketResult><Contents><Key>a&unknown;</Key></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>unclosed",
            "<Error><Code>NoSuchBucket</Code></Error>",
        ] {
            assert_eq!(run(xml), (xml.to_owned(), vec![]), "{xml}");
        }
        let latin1 = b"<Contents><Key>\xe9</Key></Contents>";
        assert_eq!(rewrite(latin1), (latin1.to_vec(), vec![]));
    }

    #[test]
    fn only_listing_requests_are_touched() {
        assert!(is_listing(
            "GET",
            Some("list-type=2&prefix=b%2F&delimiter=%2F")
        ));
        assert!(is_listing(
            "GET",
            Some("restype=container&comp=list&prefix=b")
        ));
        assert!(!is_listing("GET", None));
        assert!(!is_listing("GET", Some("versionId=list-type=2")));
        assert!(!is_listing("PUT", Some("list-type=2")));
        assert!(!is_listing("GET", Some("comp=list")));
    }

    #[test]
    fn a_versions_listing_counts_versions_and_delete_markers_and_finds_the_next_page() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult><IsTruncated>true</IsTruncated>
<NextKeyMarker>p/b</NextKeyMarker><NextVersionIdMarker>v9</NextVersionIdMarker>
<Version><Key>p/a&amp;1</Key><VersionId>v1</VersionId></Version>
<Version><Key>p/a&amp;1</Key><VersionId>v2</VersionId></Version>
<DeleteMarker><Key>p/b</Key><VersionId>v3</VersionId></DeleteMarker>
</ListVersionsResult>"#;
        let page = versions(xml);
        assert_eq!(page.keys, ["p/a&1", "p/a&1", "p/b"]);
        assert_eq!(page.next, Some(("p/b".into(), "v9".into())));
        let last =
            versions(b"<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>");
        assert_eq!(last, VersionsPage::default());
    }
}
