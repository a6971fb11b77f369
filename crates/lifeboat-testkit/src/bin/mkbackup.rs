//! `lifeboat-mkbackup`: writes the example backup set the README's drill runs against.
//!
//! One recovery point per night at 02:00 UTC, named `%Y-%m-%dT%H%M%SZ`, the newest one day
//! before the fixed reference instant [`REFERENCE_NOW`], so a drill run with
//! `--now 2026-11-22T02:00:00Z` measures an RPO of exactly 24 h on every machine. Each point
//! holds nested folders of text and random files from a few bytes to several MiB, some stored
//! as `.zst`, with `SHA256SUMS` and `B3SUMS` manifests. Content is seeded by file name and
//! night, so static files are identical across nights and the rest change a little, and the
//! whole set is byte-for-byte the same on every run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jiff::{Timestamp, ToSpan as _};
use lifeboat_testkit::prng::{self, SplitMix64, seed_of};
use lifeboat_testkit::{BackupSet, Format, Point};

/// The T0 the example drill passes as `--now`.
const REFERENCE_NOW: &str = "2026-11-22T02:00:00Z";
/// Written at the root of a generated set, so regenerating may delete only what this tool made.
const MARKER: &str = ".lifeboat-mkbackup";
const MIB: usize = 1 << 20;
const KIB: usize = 1 << 10;

const USAGE: &str = "\
usage: lifeboat-mkbackup --out DIR [--points N] [--scale small|medium]

Writes a deterministic example backup set to DIR (replacing one this tool wrote before):
one recovery point per night, the newest at 2026-11-21T020000Z, each with SHA256SUMS and
B3SUMS manifests. Drill it with --now 2026-11-22T02:00:00Z.

  --points N     recovery points, one per night (default 7)
  --scale S      small: about 22 MiB per point (default); medium: about 8 times that";

struct Args {
    out: PathBuf,
    points: u32,
    /// Size multiplier: 1 for `small`, 8 for `medium`.
    scale: usize,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("lifeboat-mkbackup: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("lifeboat-mkbackup: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = None;
    let mut points = 7;
    let mut scale = 1;
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--points" => {
                points = value()?
                    .parse()
                    .ok()
                    .filter(|n| (1..=366).contains(n))
                    .ok_or("--points takes a number from 1 to 366")?;
            }
            "--scale" => {
                scale = match value()?.as_str() {
                    "small" => 1,
                    "medium" => 8,
                    other => return Err(format!("--scale: `{other}`; expected small or medium")),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    Ok(Args { out, points, scale })
}

fn run(args: &Args) -> Result<(), String> {
    prepare_out(&args.out)?;
    let root =
        std::path::absolute(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    std::fs::write(
        root.join(MARKER),
        "Written by lifeboat-mkbackup; regenerating replaces this folder.\n",
    )
    .map_err(|e| format!("{}: {e}", root.display()))?;

    let set = BackupSet::new(&root);
    let now: Timestamp = REFERENCE_NOW.parse().expect("valid reference instant");
    let (mut total, mut stored) = (0, 0);
    for night in 1..=i64::from(args.points) {
        let time = now - (night * 24).hours();
        let id = time.strftime("%Y-%m-%dT%H%M%SZ").to_string();
        let point = fill(set.point(&id), time, args.scale)
            .manifest(Format::B3sum)
            .manifest(Format::Sha256sum);
        let on_disk = disk_usage(point.dir());
        println!(
            "{id}  {:>2} files  {:>7.1} MiB restored  {:>7.1} MiB stored  SHA256SUMS B3SUMS",
            point.entries().len(),
            mib(point.total_bytes()),
            mib(on_disk),
        );
        total += point.total_bytes();
        stored += on_disk;
    }
    println!(
        "wrote {} recovery points to {} ({:.1} MiB restored, {:.1} MiB stored)",
        args.points,
        root.display(),
        mib(total),
        mib(stored)
    );
    println!("drill with --now {REFERENCE_NOW} (the newest point is then exactly 24h old)");
    Ok(())
}

/// Makes `out` an empty folder, deleting it first only if it is empty or this tool wrote it.
fn prepare_out(out: &Path) -> Result<(), String> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(|e| format!("{}: {e}", out.display()))?
            .next()
            .is_none();
        if !empty && !out.join(MARKER).exists() {
            return Err(format!(
                "{} exists and was not written by lifeboat-mkbackup; refusing to replace it",
                out.display()
            ));
        }
        std::fs::remove_dir_all(out).map_err(|e| format!("remove {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out).map_err(|e| format!("create {}: {e}", out.display()))
}

/// One night's files. Static files are seeded by name only; the rest also by the night.
fn fill(p: Point, time: Timestamp, scale: usize) -> Point {
    let day = time.as_second().div_euclid(86_400) as u64;
    let date = time.strftime("%Y-%m-%d").to_string();
    let nightly = |name: &str| seed_of(name) ^ day.wrapping_mul(0x9E37_79B9_7F4A_7C15);

    let mut p = p
        .file("etc/hosts", HOSTS)
        .file("etc/app.conf", APP_CONF)
        .file("etc/nginx/sites-enabled/app.conf", NGINX_CONF)
        .file(
            "etc/cron.d/backup",
            "0 2 * * * root /usr/local/bin/backup-nightly\n",
        )
        .file("db/schema.sql", SCHEMA)
        .zst_file(
            "db/dump.sql",
            sql_dump(6 * MIB * scale, nightly("db/dump.sql"), &date),
        )
        .file(
            "db/orders.csv",
            orders_csv(MIB * scale, nightly("db/orders.csv"), &date),
        )
        .file("home/alice/.hushlogin", b"")
        .text_file(
            "home/alice/docs/notes.md",
            3 * KIB + (day % 7) as usize * 300,
            nightly("notes"),
        )
        .text_file(
            "home/alice/docs/Quarterly Report 2026.txt",
            48 * KIB,
            seed_of("report"),
        )
        .file(
            "home/bob/todo.txt",
            format!("- [ ] rotate the API keys (as of {date})\n- [x] DR drill\n"),
        )
        .zst_file(
            "var/log/app.log",
            log_lines(2 * MIB * scale, nightly("app.log"), &date),
        )
        .file(
            "var/log/syslog",
            log_lines(MIB / 2 * scale, nightly("syslog"), &date),
        )
        .random_file(
            "var/lib/app/cache.bin",
            2 * MIB * scale,
            nightly("cache.bin"),
        )
        .random_file("srv/media/intro.mp4", 8 * MIB * scale, seed_of("intro.mp4"));
    for i in 1..=4 {
        let name = format!("home/alice/photos/IMG_{i:04}.jpg");
        p = p.random_file(&name, (128 + 160 * i) * KIB * scale, seed_of(&name));
    }
    for i in 0..8 {
        let name = format!("var/lib/app/index/shard-{i:02}.idx");
        p = p.random_file(&name, 64 * KIB * scale, seed_of(&name));
    }
    p
}

fn sql_dump(len: usize, seed: u64, date: &str) -> Vec<u8> {
    prng::lines(len, seed, |rng: &mut SplitMix64, i| {
        format!(
            "INSERT INTO orders (id, customer_id, amount_cents, currency, created_at) \
             VALUES ({}, {}, {}, '{}', '{date} {:02}:{:02}:{:02}');",
            i + 1,
            1000 + rng.below(90_000),
            99 + rng.below(500_000),
            rng.pick(&["EUR", "USD", "GBP", "CHF"]),
            rng.below(24),
            rng.below(60),
            rng.below(60),
        )
    })
}

fn orders_csv(len: usize, seed: u64, date: &str) -> Vec<u8> {
    let mut out = b"id,customer_id,amount_cents,currency,created_at\n".to_vec();
    out.extend(prng::lines(
        len.saturating_sub(out.len()),
        seed,
        |rng, i| {
            format!(
                "{},{},{},{},{date}T{:02}:{:02}:00Z",
                i + 1,
                1000 + rng.below(90_000),
                99 + rng.below(500_000),
                rng.pick(&["EUR", "USD", "GBP"]),
                rng.below(24),
                rng.below(60),
            )
        },
    ));
    out
}

fn log_lines(len: usize, seed: u64, date: &str) -> Vec<u8> {
    prng::lines(len, seed, |rng, _| {
        let level = rng.pick(&["INFO", "INFO", "INFO", "WARN", "ERROR"]);
        let path = rng.pick(&["/api/orders", "/api/payments", "/health", "/api/customers"]);
        format!(
            "{date}T{:02}:{:02}:{:02}Z app[{}]: {level} {path} status={} request_id={:016x} latency_ms={}",
            rng.below(24),
            rng.below(60),
            rng.below(60),
            2000 + rng.below(3000),
            rng.pick(&[200, 200, 200, 201, 404, 500]),
            rng.next_u64(),
            1 + rng.below(900),
        )
    })
}

fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("read point dir") {
        let entry = entry.expect("read point dir");
        let meta = entry.metadata().expect("stat");
        total += if meta.is_dir() {
            disk_usage(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

const HOSTS: &str = "\
127.0.0.1   localhost
10.20.0.11  db-primary.internal
10.20.0.12  db-standby.internal
10.20.0.21  app-1.internal app-2.internal
";

const APP_CONF: &str = "\
# payments application
listen = 0.0.0.0:8080
database_url = postgres://app@db-primary.internal/payments
pool_size = 16
log_level = info
";

const NGINX_CONF: &str = "\
server {
    listen 443 ssl;
    server_name payments.example.com;
    location / { proxy_pass http://127.0.0.1:8080; }
}
";

const SCHEMA: &str = "\
CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    amount_cents BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
";
