//! `file://` source URLs to folders: the one decoder `validate` and the drill share.
//!
//! The URL is read by the `url` crate (the WHATWG URL standard), then its path is
//! percent-decoded to bytes, as `curl` and browsers do: `%20` is a space, `%E9` the single
//! byte 0xE9 (a Latin-1 name is not UTF-8, yet still a name a Unix folder can have), and a
//! `%` not followed by two hex digits is itself, so `file:///tmp/%aé/x` names the folder
//! `/tmp/%aé/x` (a hand-written decoder once panicked on exactly that). Refused, because no
//! drill could open them: a host other than none or `localhost` (lifeboat reads local
//! folders only: a remote share is mounted, then named by its mount point), and a NUL byte
//! (`%00`), which no path can hold.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::wording::quote;

/// The hint every refusal ends with.
const HINT: &str = "write file:// followed by an absolute path, e.g. file:///srv/backups/payments";

pub(super) fn path(url: &str) -> Result<PathBuf, String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("{} is not a valid file:// URL ({e}): {HINT}", quote(url)))?;
    if parsed.scheme() != "file" {
        return Err(format!("{} is not a file:// URL: {HINT}", quote(url)));
    }
    // The URL standard reads `file://localhost/x` as no host.
    if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
        return Err(format!(
            "{} names host {}: a file:// source is a folder on this host (mount a remote share \
             and name its mount point); {HINT}",
            quote(url),
            quote(host)
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{} holds a query (?) or fragment (#): {HINT}",
            quote(url)
        ));
    }
    let path = parsed
        .to_file_path()
        .map_err(|()| format!("{} does not name an absolute path: {HINT}", quote(url)))?;
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(format!(
            "{} decodes to a path holding a NUL byte (%00), which no file system allows",
            quote(url)
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use test_case::test_case;

    use super::*;

    #[test_case("file:///srv/backups", b"/srv/backups"; "plain")]
    #[test_case("file:///srv/my%20backups", b"/srv/my backups"; "escaped space")]
    #[test_case("file:///srv/my backups", b"/srv/my backups"; "raw space")]
    #[test_case("file:///srv/100%", b"/srv/100%"; "a lone percent is itself")]
    #[test_case("file:///tmp/%aé/x", "/tmp/%aé/x".as_bytes(); "broken escape before a multi-byte letter")]
    #[test_case("file:///tmp/%é", "/tmp/%é".as_bytes(); "percent then a multi-byte letter")]
    #[test_case("file:///srv/caf%E9", b"/srv/caf\xe9"; "a Latin-1 byte")]
    #[test_case("file:///srv/%25", b"/srv/%"; "escaped percent")]
    #[test_case("file://localhost/srv/x", b"/srv/x"; "localhost")]
    fn decodes(url: &str, want: &[u8]) {
        assert_eq!(path(url), Ok(PathBuf::from(OsStr::from_bytes(want))));
    }

    #[test_case("file:///srv/a%00b", "NUL byte"; "NUL")]
    #[test_case("file://backup-host/srv", "names host \"backup-host\""; "remote host")]
    #[test_case("file://backups/x", "names host \"backups\""; "relative path read as a host")]
    #[test_case("file:///srv/x?y", "query"; "query")]
    #[test_case("s3://b/x", "not a file:// URL"; "another scheme")]
    fn refuses(url: &str, says: &str) {
        let e = path(url).unwrap_err();
        assert!(e.contains(says), "{e}");
    }

    /// Whatever the bytes after `file:///`, the decoder answers; it never panics.
    #[test]
    fn never_panics_on_any_escape_or_letter() {
        let pieces = [
            "%", "%a", "%zz", "%0", "%00", "%ff", "%E9", "é", "€", "😀", "/", ".", "..", " ", "\\",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let _ = path(&format!("file:///{a}{b}{c}"));
                }
            }
        }
    }
}
