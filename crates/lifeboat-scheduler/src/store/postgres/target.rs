//! Where a PostgreSQL history store is: `--state postgres://USER@HOST:PORT/DB` read into a
//! [`Target`], and its password found where libpq looks (`PGPASSWORD`, then the passfile).
//!
//! A password written inside the URL is refused: a URL sits in process lists, unit files,
//! shell histories and logs, and lifeboat prints its `--state` in every message about the
//! store. The only thing ever shown is [`Target`]'s `Display`, which has no password to show.
//!
//! No TLS: the connection is plain TCP (`sslmode=disable`, the only `sslmode` accepted, and
//! what an absent one means here). The store is meant for a database on the runners' own
//! network; anything else goes through a TLS tunnel the operator runs.

use std::fmt;

/// PostgreSQL's port when the URL names none.
pub const DEFAULT_PORT: u16 = 5432;

/// A PostgreSQL store's address: who connects to which database where. Holds no password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub dbname: String,
}

/// Why a `postgres://` URL is refused. Every message shows the URL without its password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("--state {shown}: not a URL: {reason}")]
    NotAUrl { shown: String, reason: String },
    #[error(
        "--state {shown}: a password inside the URL is refused (it would show in process lists, \
         unit files and logs): give it in PGPASSWORD or a passfile (PGPASSFILE, else ~/.pgpass)"
    )]
    PasswordInUrl { shown: String },
    #[error("--state {shown}: no {part}: write postgres://USER@HOST:PORT/DB")]
    Missing { shown: String, part: &'static str },
    #[error(
        "--state {shown}: {name}={value} is not supported: lifeboat connects without TLS \
         (sslmode=disable, the only one accepted); reach a remote database through a TLS tunnel"
    )]
    SslMode {
        shown: String,
        name: String,
        value: String,
    },
    #[error("--state {shown}: unknown parameter {name:?}; only sslmode=disable is accepted")]
    UnknownParameter { shown: String, name: String },
}

/// Whether `--state`'s value names a PostgreSQL database rather than a file.
pub fn is_postgres_url(arg: &str) -> bool {
    let lower = arg.get(..13).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl Target {
    /// Reads `postgres://USER@HOST[:PORT]/DB` (or `postgresql://`), with an optional
    /// `?sslmode=disable`. User and database names may be percent-encoded.
    pub fn parse(arg: &str) -> Result<Target, TargetError> {
        let shown = without_password(arg);
        let url = url::Url::parse(arg).map_err(|e| TargetError::NotAUrl {
            shown: shown.clone(),
            reason: e.to_string(),
        })?;
        if url.password().is_some() {
            return Err(TargetError::PasswordInUrl { shown });
        }
        for (name, value) in url.query_pairs() {
            match &*name {
                "sslmode" if value == "disable" => {}
                "sslmode" => {
                    return Err(TargetError::SslMode {
                        shown,
                        name: name.into_owned(),
                        value: value.into_owned(),
                    });
                }
                _ => {
                    return Err(TargetError::UnknownParameter {
                        shown,
                        name: name.into_owned(),
                    });
                }
            }
        }
        let missing = |part| TargetError::Missing {
            shown: shown.clone(),
            part,
        };
        let user = decode(url.username());
        if user.is_empty() {
            return Err(missing("user"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => return Err(missing("host")),
        };
        if host.is_empty() {
            return Err(missing("host"));
        }
        let dbname = decode(url.path().trim_start_matches('/'));
        if dbname.is_empty() {
            return Err(missing("database"));
        }
        Ok(Target {
            user,
            host,
            port: url.port().unwrap_or(DEFAULT_PORT),
            dbname,
        })
    }

    /// The password for this target: `PGPASSWORD` when set, else the first matching line of
    /// the passfile (`PGPASSFILE`, else `~/.pgpass`), as libpq finds it. A passfile that
    /// others may read is ignored, as libpq ignores it (with a warning). `env` reads the
    /// environment; `read` reads a file, `None` when there is none or it is not private.
    pub fn password(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        read: &dyn Fn(&std::path::Path) -> Option<String>,
    ) -> Option<String> {
        if let Some(p) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
            return Some(p);
        }
        let file = env("PGPASSFILE")
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
        passfile_lookup(&read(&file)?, self)
    }
}

/// Reads a passfile only when it is a regular file that neither group nor others can read or
/// write (libpq's rule: a looser one is ignored, with a warning). `None` otherwise.
pub fn read_private_passfile(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access; permissions should be u=rw (0600) or \
             less: ignored",
            path.display()
        );
        return None;
    }
    // A passfile is a handful of lines; a huge one is not read whole.
    let text = std::fs::read(path).ok()?;
    (text.len() <= 1 << 20).then(|| String::from_utf8_lossy(&text).into_owned())
}

/// The password of the first line of a passfile (`hostname:port:database:username:password`,
/// `*` matching anything, `\:` and `\\` escaped, `#` lines ignored) that matches `target`.
pub fn passfile_lookup(text: &str, target: &Target) -> Option<String> {
    let port = target.port.to_string();
    let wanted = [&*target.host, &*port, &*target.dbname, &*target.user];
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let fields = split_passfile_line(l);
            (fields.len() == 5).then_some(fields)
        })
        .find(|f| {
            f.iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|mut f| f.swap_remove(4))
}

fn split_passfile_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `arg` with anything between `://` and the last `@` before the path cut to the user name:
/// what an error about a URL that may hold a password shows.
fn without_password(arg: &str) -> String {
    let Some((scheme, rest)) = arg.split_once("://") else {
        return arg.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => arg.to_owned(),
    }
}

/// `postgres://USER@HOST:PORT/DB`: never a password (there is none to show).
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only what would change the URL's meaning (and controls, for the terminal).
        const PART: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
            .add(b' ')
            .add(b'%')
            .add(b'/')
            .add(b':')
            .add(b'@')
            .add(b'?')
            .add(b'#')
            .add(b'[')
            .add(b']');
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, PART).to_string();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "postgres://{}@{host}:{}/{}",
            enc(&self.user),
            self.port,
            enc(&self.dbname)
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn target() -> Target {
        Target::parse("postgres://lifeboat@db.example:5433/history").unwrap()
    }

    #[test]
    fn a_url_names_user_host_port_and_database() {
        assert_eq!(
            target(),
            Target {
                user: "lifeboat".into(),
                host: "db.example".into(),
                port: 5433,
                dbname: "history".into(),
            }
        );
        let t = Target::parse("postgresql://run%40ner@127.0.0.1/h%20db?sslmode=disable").unwrap();
        assert_eq!((t.user.as_str(), t.port), ("run@ner", DEFAULT_PORT));
        assert_eq!(t.dbname, "h db");
        assert_eq!(t.to_string(), "postgres://run%40ner@127.0.0.1:5432/h%20db");
        let v6 = Target::parse("postgres://u@[::1]:6000/d").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "postgres://u@[::1]:6000/d");
        assert!(is_postgres_url("PostgreSQL://u@h/d"));
        assert!(!is_postgres_url("/var/lib/lifeboat/state.db"));
        assert!(!is_postgres_url("postgres"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_never_shown() {
        let err = Target::parse("postgres://lifeboat:s3cret@db:5432/history").unwrap_err();
        assert_eq!(
            err,
            TargetError::PasswordInUrl {
                shown: "postgres://lifeboat@db:5432/history".into()
            }
        );
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("PGPASSWORD"), "{text}");
        // Refused for another reason first: still not shown.
        let err = Target::parse("postgres://u:s3cret@db:99999/h").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn what_is_missing_or_unsupported_is_named() {
        let cases = [
            ("postgres://db:5432/history", "no user"),
            ("postgres://u@db:5432/", "no database"),
            (
                "postgres://u@db:5432/h?sslmode=require",
                "sslmode=require is not supported",
            ),
            (
                "postgres://u@db:5432/h?host=/tmp",
                "unknown parameter \"host\"",
            ),
        ];
        for (url, want) in cases {
            let err = Target::parse(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err}");
        }
    }

    #[test]
    fn the_password_comes_from_pgpassword_then_the_passfile() {
        let files: HashMap<&str, &str> = HashMap::from([
            (
                "/home/op/.pgpass",
                "# comment\nother:5433:history:lifeboat:no\n\
                 db.example:5433:*:lifeboat:from\\:home\n",
            ),
            ("/etc/pg/pass", "*:*:history:lifeboat:from-pgpassfile\n"),
        ]);
        let read = |p: &std::path::Path| files.get(p.to_str().unwrap()).map(|s| s.to_string());
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let t = target();
        assert_eq!(
            t.password(&env(&[("PGPASSWORD", "env"), ("HOME", "/home/op")]), &read),
            Some("env".into())
        );
        assert_eq!(
            t.password(&env(&[("HOME", "/home/op")]), &read),
            Some("from:home".into())
        );
        assert_eq!(
            t.password(
                &env(&[("PGPASSFILE", "/etc/pg/pass"), ("HOME", "/home/op")]),
                &read
            ),
            Some("from-pgpassfile".into())
        );
        assert_eq!(t.password(&env(&[("HOME", "/nowhere")]), &read), None);
    }

    #[test]
    fn a_passfile_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_private_passfile(&file), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_private_passfile(&file).as_deref(),
            Some("*:*:*:*:pw\n")
        );
    }
}
