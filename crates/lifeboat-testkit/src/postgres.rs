//! Real PostgreSQL base backups: a throwaway cluster on 127.0.0.1 and `pg_basebackup -Fp`.
//!
//! [`Cluster::start`] runs `initdb` and `pg_ctl start` from Debian's `postgresql` package
//! (`scripts/tools.sh install postgresql`; the newest `/usr/lib/postgresql/N/bin`) on a free
//! port, listening on 127.0.0.1 only, trusting local connections. PostgreSQL refuses to run
//! as root, so as root the server's commands run as the `postgres` user (`runuser`), and the
//! cluster's folder is made below the system's temporary folder (never under `/root`, which
//! that user cannot reach) and handed to it. The cluster is stopped (`pg_ctl -m fast stop`)
//! and its folder removed when the value is dropped, a failing test's panic included.
//! `pg_basebackup` and `psql` are clients and run as the caller, so base backups belong to
//! whoever runs the tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The newest PostgreSQL server's binaries (`/usr/lib/postgresql/N/bin`), if one is installed.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether this process runs as root (then the server runs as `postgres`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program` with `args`, as the `postgres` user when running as root.
pub fn as_server_user(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
        cmd
    } else {
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd
    }
}

/// A free TCP port on 127.0.0.1 (free when asked: the kernel's pick for an ephemeral bind).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A running throwaway cluster; stopped and removed on drop.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// Makes and starts a cluster in a fresh folder below the system's temporary folder.
    /// Panics, saying what failed, when PostgreSQL is not installed or does not start.
    pub fn start() -> Cluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        let bin = bin_dir().expect(
            "no PostgreSQL server in /usr/lib/postgresql: run scripts/tools.sh install postgresql",
        );
        let dir = std::env::temp_dir().join(format!(
            "lifeboat-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).expect("create the cluster's folder");
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:").arg(&dir);
                    c
                },
                "chown postgres: (the cluster's folder)",
            );
        }
        let mut cluster = Cluster {
            bin,
            dir,
            port: free_port(),
        };
        let data = cluster.data();
        run(
            as_server_user(
                &cluster.bin.join("initdb"),
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            ),
            "initdb",
        );
        // The port was free when the kernel picked it, but another test process may bind it
        // before the server does ("could not bind", seen on a loaded CI machine running
        // several clusters): start again on a fresh port, and fail with the server's log.
        let log = cluster.dir.join("log");
        let mut failures = String::new();
        for attempt in 1..=3 {
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                cluster.port,
                cluster.dir.display()
            );
            let out = as_server_user(
                &cluster.bin.join("pg_ctl"),
                &[
                    "-D",
                    &data,
                    "-o",
                    &options,
                    "-l",
                    &log.display().to_string(),
                    "-t",
                    "120",
                    "-w",
                    "start",
                ],
            )
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl start: {e}"));
            if out.status.success() {
                return cluster;
            }
            failures.push_str(&format!(
                "attempt {attempt} on port {} ({}):\n{}{}{}\n",
                cluster.port,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default(),
            ));
            let _ = as_server_user(
                &cluster.bin.join("pg_ctl"),
                &["-D", &data, "-m", "immediate", "-w", "stop"],
            )
            .output();
            cluster.port = free_port();
        }
        panic!("pg_ctl start failed three times:\n{failures}");
    }

    /// Starts the server (again, after [`Cluster::stop`]) on the same port and folder.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        run(
            as_server_user(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &options,
                    "-l",
                    &log,
                    "-w",
                    "start",
                ],
            ),
            "pg_ctl start",
        );
    }

    /// Stops the server as an operator would for a restart (`pg_ctl stop -m fast`: open
    /// sessions are ended, their transactions rolled back), keeping its data.
    pub fn stop(&self) {
        run(
            as_server_user(
                &self.bin.join("pg_ctl"),
                &["-D", &self.data(), "-m", "fast", "-w", "stop"],
            ),
            "pg_ctl stop",
        );
    }

    /// One cluster for the whole test process, started on first use and stopped when the
    /// process exits (a watcher polls the process; a `static` is never dropped). Each test
    /// takes a database of its own from it ([`Cluster::fresh_database`]).
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let cluster = Cluster::start();
            cluster.stop_when_process_exits();
            cluster
        })
    }

    fn stop_when_process_exits(&self) {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let stop = if is_root() {
            format!("runuser -u postgres -- '{pg_ctl}'")
        } else {
            format!("'{pg_ctl}'")
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {stop} -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data(),
            dir = self.dir.display(),
        );
        let mut watcher = Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the cluster's watcher");
        // It outlives this process; waited on here only so that it is never a zombie.
        std::thread::spawn(move || watcher.wait());
    }

    /// A new, empty database owned by `postgres`; its name.
    pub fn fresh_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        name
    }

    /// Makes `role` a login role with `password` and has the server ask for it (SCRAM) when
    /// `role` connects over TCP; other roles stay trusted.
    pub fn require_password(&self, role: &str, password: &str) {
        self.psql(&format!(
            "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
        ));
        let hba = self.dir.join("data").join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(
            &hba,
            format!("host all {role} 127.0.0.1/32 scram-sha-256\n{old}"),
        )
        .expect("write pg_hba.conf");
        run(
            as_server_user(&self.bin.join("pg_ctl"), &["-D", &self.data(), "reload"]),
            "pg_ctl reload",
        );
        // A reload is signalled, not waited for: wait until the server asks.
        for _ in 0..100 {
            let mut cmd = Command::new(self.bin.join("psql"));
            cmd.args([
                "-h",
                "127.0.0.1",
                "-U",
                role,
                "-d",
                "postgres",
                "-w",
                "-c",
                "SELECT 1",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .env_remove("PGPASSWORD");
            if cmd.output().is_ok_and(|o| !o.status.success()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the server did not start asking {role} for a password");
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` with `psql` as the `postgres` role; its output, unaligned, tuples only.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs `sql` with `psql` as the `postgres` role in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-d", db])
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .arg("-p")
            .arg(self.port.to_string());
        String::from_utf8_lossy(&run(cmd, "psql").stdout).into_owned()
    }

    /// A plain-format base backup into `dest` (which must not exist or be empty), with
    /// `args` added (e.g. `--manifest-checksums=SHA256`).
    pub fn base_backup(&self, dest: &Path, args: &[&str]) {
        let mut cmd = Command::new(self.bin.join("pg_basebackup"));
        cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-Fp", "--no-sync"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-D")
            .arg(dest)
            .args(args);
        run(cmd, "pg_basebackup");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = as_server_user(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "fast", "-w", "stop"],
        )
        .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `pg_verifybackup -n DIR` (no WAL check): PostgreSQL's own verdict on a base backup.
pub fn verify_backup(dir: &Path) -> Output {
    let bin = bin_dir().expect("no PostgreSQL in /usr/lib/postgresql");
    Command::new(bin.join("pg_verifybackup"))
        .arg("-n")
        .arg(dir)
        .output()
        .expect("run pg_verifybackup")
}

/// Re-seals the `backup_manifest` at `path` after an edit: rewrites its last line so that
/// `Manifest-Checksum` is again the SHA-256 of the text before it, as `pg_basebackup` computes
/// it. The checksum guards against accidents, not against someone who can write the backup:
/// a hostile manifest is re-sealed this way, and must still not fool lifeboat.
pub fn reseal_manifest(path: &Path) {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read backup_manifest");
    let body = &bytes[..bytes.len() - 1];
    let cut = body.iter().rposition(|&b| b == b'\n').expect("two lines") + 1;
    let mut sealed = bytes[..cut].to_vec();
    let sum = hex::encode(sha2::Sha256::digest(&sealed));
    sealed.extend_from_slice(format!("\"Manifest-Checksum\": \"{sum}\"}}\n").as_bytes());
    std::fs::write(path, sealed).expect("write backup_manifest");
}
