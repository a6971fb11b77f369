//! Real storage servers for the storage crate's own tests, started by the project's script.

pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `KEY=VALUE` pairs `scripts/servers.sh start` wrote: endpoints, ports, credentials.
pub struct Servers {
    env: BTreeMap<String, String>,
    _run_dir: PathBuf,
}

impl Servers {
    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("scripts/servers.sh wrote no {key}"))
    }
}

/// Starts moto, s3s-fs and Azurite once per test process (installing them on first use) and
/// stops them when this process exits. A server that cannot start fails the test: a cloud
/// test never passes by being skipped.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let run_dir =
            std::env::temp_dir().join(format!("lifeboat-storage-servers-{}", std::process::id()));
        let out = Command::new("bash")
            .arg(repo.join("scripts/servers.sh"))
            .arg("start")
            .arg("--run-dir")
            .arg(&run_dir)
            .arg("--watch-pid")
            .arg(std::process::id().to_string())
            .arg("--ephemeral")
            .output()
            .expect("cannot run bash scripts/servers.sh");
        assert!(
            out.status.success(),
            "scripts/servers.sh start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text =
            std::fs::read_to_string(run_dir.join("env")).expect("servers.sh wrote no env file");
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
            .collect();
        Servers {
            env,
            _run_dir: run_dir,
        }
    })
}
