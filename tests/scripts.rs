//! The scripts the test command runs on a fresh machine: `scripts/tools.sh` installs the
//! command-line tools the tests drive from Debian's packages. Run here against stand-ins for
//! `apt-get`, `apt-cache` and `sudo` that record what they were asked, so the test needs no
//! root and changes nothing on the machine: what the script installs is only what the tests
//! need, and it says what that is before it installs it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::repo_root;

/// What the stand-in `apt-get -s install` prints: the simulation the script reads.
const SIMULATION: &str = "\
NOTE: This is only a simulation!
Inst chromium-common (148.0.7778.167-1~deb12u1 Debian-Security:12/oldstable-security [amd64])
Inst chromium (148.0.7778.167-1~deb12u1 Debian-Security:12/oldstable-security [amd64])
Inst minisign (0.11-1 Debian:12.14/oldstable [amd64])
Conf chromium-common (148.0.7778.167-1~deb12u1 Debian-Security:12/oldstable-security [amd64])
0 upgraded, 3 newly installed, 0 to remove and 80 not upgraded.
";

/// A folder to put first on PATH holding stand-ins for apt and sudo, which append their
/// arguments to `calls.log` beside it, plus the few real tools the script needs; nothing
/// else, so every tool the tests use reads as missing.
fn fake_apt(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = root.join("calls.log");
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!{}\n{body}", bash().display())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "apt-get",
        &format!(
            r#"echo "apt-get $*" >> '{log}'
case " $* " in
  *" -s "*|*" --simulate "*) cat <<'EOF'
{SIMULATION}EOF
  ;;
  *" install "*)
    # Installing a package puts its command on PATH, as Debian's would.
    for a in "$@"; do
      case "$a" in -*|install) ;; *) printf '#!/bin/sh\n' > '{bin}/'"$a"; chmod 755 '{bin}/'"$a" ;; esac
    done ;;
esac
"#,
            log = log.display(),
            bin = bin.display(),
        ),
    );
    script(
        "apt-cache",
        &format!("echo \"apt-cache $*\" >> '{}'\n", log.display()),
    );
    script(
        "sudo",
        &format!(
            "echo \"sudo $*\" >> '{}'\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
            log.display()
        ),
    );
    for tool in ["id", "dirname", "cat", "chmod", "sed", "grep"] {
        let real = which(tool);
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    bin
}

fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}

fn bash() -> PathBuf {
    which("bash")
}

#[test]
fn tools_sh_installs_no_recommended_packages_and_says_what_it_installs() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_apt(dir.path());
    let out = Command::new(bash())
        .arg(repo_root().join("scripts/tools.sh"))
        .args(["install", "minisign", "chromium"])
        .env("PATH", &bin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tools.sh failed:\n{stderr}");
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    let installs: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("apt-get") && l.contains(" install "))
        .filter(|l| !l.contains(" -s ") && !l.contains(" --simulate "))
        .collect();
    assert_eq!(installs.len(), 1, "one real install:\n{calls}");
    // Debian's recommends for chromium alone are about 90 packages more (udev, avahi,
    // printing, perl), and they upgraded systemd on this project's machine.
    assert!(
        installs[0].contains("--no-install-recommends"),
        "installs recommended packages too:\n{calls}"
    );
    assert!(
        installs[0].contains("minisign") && installs[0].contains("chromium"),
        "{calls}"
    );
    // The operator reads what apt will add or upgrade before it happens.
    assert!(
        stderr.contains("chromium-common")
            && stderr.contains("0 upgraded, 3 newly installed, 0 to remove"),
        "does not say what it installs:\n{stderr}"
    );
}

/// `LIFEBOAT_NO_INSTALL=1`: the scripts install nothing; a missing tool fails, naming the
/// package and the command that would install it.
#[test]
fn with_no_install_tools_sh_names_what_is_missing_and_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_apt(dir.path());
    let out = Command::new(bash())
        .arg(repo_root().join("scripts/tools.sh"))
        .args(["install", "minisign", "chromium"])
        .env("PATH", &bin)
        .env("LIFEBOAT_NO_INSTALL", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("LIFEBOAT_NO_INSTALL")
            && stderr.contains("apt-get install -y --no-install-recommends minisign chromium"),
        "{stderr}"
    );
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap_or_default();
    assert!(
        !calls
            .lines()
            .any(|l| l.starts_with("apt-get") && !l.contains(" -s ")),
        "apt-get ran:\n{calls}"
    );
}

/// The same for the storage servers: with nothing under the servers folder, `install`
/// fails naming all three, and neither pip, npm nor cargo runs.
#[test]
fn with_no_install_servers_sh_names_what_is_missing_and_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_apt(dir.path());
    let log = dir.path().join("calls.log");
    for tool in ["python3", "node", "npm", "cargo"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!{}\necho \"{tool} $*\" >> '{}'\n",
                bash().display(),
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for tool in ["mkdir", "flock", "rm", "touch"] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
    }
    let servers = dir.path().join("servers");
    let out = Command::new(bash())
        .arg(repo_root().join("scripts/servers.sh"))
        .arg("install")
        .env("PATH", &bin)
        .env("LIFEBOAT_SERVERS_DIR", &servers)
        .env("LIFEBOAT_NO_INSTALL", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for server in ["moto", "Azurite", "s3s-fs"] {
        assert!(
            stderr.contains(server) && stderr.contains("LIFEBOAT_NO_INSTALL"),
            "{server} not named:\n{stderr}"
        );
    }
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(calls.is_empty(), "an installer ran:\n{calls}");
}

/// The README's "Running the tests" says what the test command installs: every Debian package
/// `scripts/tools.sh` may install and every server `scripts/servers.sh` pins, at its version,
/// and how to run without installing. A package or a version bump in a script without the
/// README fails here.
#[test]
fn the_readme_names_everything_the_test_command_installs() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Running the tests\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has no \"## Running the tests\" section");

    let tools = std::fs::read_to_string(repo_root().join("scripts/tools.sh")).unwrap();
    let table = tools
        .lines()
        .skip_while(|l| !l.starts_with("declare -A PACKAGE="))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let packages: Vec<&str> = table
        .split('[')
        .skip(1)
        .map(|entry| {
            let value = entry.split(']').nth(1).unwrap_or_default();
            value
                .trim_start_matches('=')
                .split([' ', ')', '\\'])
                .next()
                .unwrap()
        })
        .collect();
    assert!(
        packages.contains(&"chromium")
            && packages.contains(&"minisign")
            && packages.contains(&"restic"),
        "could not read tools.sh's PACKAGE table: {packages:?}"
    );
    for package in &packages {
        assert!(
            section.contains(&format!("`{package}`")),
            "README's \"Running the tests\" does not name the Debian package `{package}`"
        );
    }

    let servers = std::fs::read_to_string(repo_root().join("scripts/servers.sh")).unwrap();
    for (var, name) in [
        ("MOTO_VERSION", "moto"),
        ("AZURITE_VERSION", "Azurite"),
        ("S3S_FS_VERSION", "s3s-fs"),
    ] {
        let version = servers
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{var}=")))
            .unwrap_or_else(|| panic!("servers.sh sets no {var}"));
        assert!(
            section.contains(&format!("{name} {version}")),
            "README's \"Running the tests\" does not name {name} {version}"
        );
    }
    for needed in [
        "python3-venv",
        "npm",
        "--no-install-recommends",
        "sudo",
        "LIFEBOAT_NO_INSTALL=1",
    ] {
        assert!(
            section.contains(needed),
            "README's \"Running the tests\" does not mention {needed}"
        );
    }
}
