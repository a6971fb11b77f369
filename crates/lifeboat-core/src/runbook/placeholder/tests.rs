use test_case::test_case;

use super::*;

#[test_case("{scratch}/..", Some("{scratch}/..") ; "parent")]
#[test_case("{scratch}/../x", Some("{scratch}/..") ; "parent then down")]
#[test_case("{scratch}/a/../../etc", Some("{scratch}/a/../..") ; "down then up twice")]
#[test_case("{scratch}/./..", Some("{scratch}/./..") ; "dot segment")]
#[test_case("{scratch}//..", Some("{scratch}//..") ; "empty segment")]
#[test_case("\"{scratch}\"/../x", Some("{scratch}\"/..") ; "quotes are no barrier")]
#[test_case("{scratch}-old/..", Some("{scratch}-old/..") ; "a sibling's parent")]
#[test_case("{recovery_point}/..", Some("{recovery_point}/..") ; "recovery point")]
#[test_case("{scratch}/a/..", None ; "down then up stays inside")]
#[test_case("{scratch}/..data", None ; "a name starting with dots")]
#[test_case("{scratch}/.hidden/../x", None ; "hidden folder")]
#[test_case("{scratch}/a ../..", None ; "a blank ends the path")]
#[test_case("{scratch}/a;cd ../..", None ; "an operator ends the path")]
#[test_case("${scratch}/..", None ; "the shell's own variable")]
fn climbing_out_is_judged_on_the_normalised_path(text: &str, expected: Option<&str>) {
    let at = text.find('{').unwrap();
    assert_eq!(climbs_out(text, at), expected);
}

#[test]
fn substitution_and_url_encoding() {
    let plain = |v: &str| v.to_owned();
    assert_eq!(
        substitute(
            "{scratch}/a.db ${HOME} {x} {recovery_point}",
            "/s",
            "p1",
            &plain
        ),
        "/s/a.db ${HOME} {x} p1"
    );
    assert_eq!(substitute("${scratch}", "/s", "p", &plain), "${scratch}");
    assert_eq!(
        substitute(
            "/p/{recovery_point}?q={recovery_point}",
            "/s",
            "a/b?c#d@e%f&g=h+i j",
            &|v| { url_component(v) }
        ),
        "/p/a%2Fb%3Fc%23d%40e%25f%26g%3Dh%2Bi%20j?q=a%2Fb%3Fc%23d%40e%25f%26g%3Dh%2Bi%20j"
    );
    assert_eq!(url_component("AZaz09-._~é"), "AZaz09-._~%C3%A9");
}

const S: &str = "${LIFEBOAT_SCRATCH}";
const P: &str = "${LIFEBOAT_RECOVERY_POINT}";

#[test_case("ls {scratch}", &format!("ls \"{S}\"") ; "bare")]
#[test_case("ls \"{scratch}/a\"", &format!("ls \"{S}/a\"") ; "double quotes")]
#[test_case("ls '{scratch}/a'", &format!("ls ''\"{S}\"'/a'") ; "single quotes")]
#[test_case("echo $(cat {scratch}/n)", &format!("echo $(cat \"{S}\"/n)") ; "command substitution")]
#[test_case("echo \"$(cat \"{scratch}\")\"", &format!("echo \"$(cat \"{S}\")\"") ; "quotes inside a substitution inside quotes")]
#[test_case("echo `cat {scratch}`", &format!("echo `cat \"{S}\"`") ; "backticks")]
#[test_case("cat <<EOF\n{recovery_point}\nEOF\necho {recovery_point}", &format!("cat <<EOF\n{P}\nEOF\necho \"{P}\"") ; "here-document then bare")]
#[test_case("cat <<-\"X\"Y >f\n\tok\n\tXY\necho '{recovery_point}'", &format!("cat <<-\"X\"Y >f\n\tok\n\tXY\necho ''\"{P}\"''") ; "quoted here-document without placeholders")]
#[test_case("echo ${scratch} \\{scratch} # {scratch}", &format!("echo ${{scratch}} \\{{scratch}} # {S}") ; "escapes and comments")]
#[test_case("echo $'a\\'{scratch}'", &format!("echo $'a\\''\"{S}\"$''") ; "ansi-c quotes")]
#[test_case("X={scratch} cmd@{recovery_point}", &format!("X=\"{S}\" cmd@\"{P}\"") ; "assignment and glued")]
fn a_placeholder_becomes_a_quoted_reference(line: &str, expected: &str) {
    assert_eq!(shell_script(line).unwrap(), expected);
}

fn code(p: Placeholder, interpreter: &str) -> Trouble {
    Trouble::Code {
        placeholder: p,
        interpreter: interpreter.into(),
    }
}

fn heredoc_code(p: Placeholder, interpreter: &str) -> Trouble {
    Trouble::HeredocCode {
        placeholder: p,
        interpreter: interpreter.into(),
    }
}

use Placeholder::{RecoveryPoint as Rp, Scratch as Sc};

#[test_case("sh -c 'cat {scratch}'", vec![code(Sc, "sh")] ; "sh script")]
#[test_case("bash -c \"$(echo {scratch})\"", vec![code(Sc, "bash")] ; "output of a substitution in a script")]
#[test_case("eval \"ls {scratch}\"", vec![code(Sc, "eval")] ; "eval")]
#[test_case("sudo -u app python3 -c \"print('{recovery_point}')\"", vec![code(Rp, "python3")] ; "python behind sudo")]
#[test_case("x=1; find . -exec sh -c 'rm {scratch}' \\;", vec![code(Sc, "sh")] ; "find exec")]
#[test_case("psql -d db <<-SQL\n\tselect '{recovery_point}'\n\tSQL", vec![heredoc_code(Rp, "psql")] ; "here-document to psql")]
#[test_case("sh <<< \"{scratch}\"", vec![heredoc_code(Sc, "sh")] ; "here-string to sh")]
#[test_case("cat <<'EOF'\n{scratch}\nEOF", vec![Trouble::QuotedHeredoc { placeholder: Sc, written: "'EOF'".into(), delimiter: "EOF".into() }] ; "quoted here-document")]
#[test_case("echo $(( {recovery_point} + 1 ))", vec![Trouble::Arithmetic { placeholder: Rp }] ; "arithmetic")]
#[test_case("sh -c 'a {scratch}'; eval {recovery_point}", vec![code(Sc, "sh"), code(Rp, "eval")] ; "every one is reported")]
#[test_case("cat <<{scratch}\nx\n{scratch}", vec![Trouble::Delimiter { placeholder: Sc }] ; "here-document delimiter")]
fn a_placeholder_another_interpreter_would_run_is_refused(line: &str, expected: Vec<Trouble>) {
    assert_eq!(shell_script(line).unwrap_err(), expected);
}

#[test_case("sqlite3 {scratch}/db 'select 1'" ; "sqlite database path")]
#[test_case("sh -c 'cat \"$1\"' sh {scratch}/x" ; "sh positional parameter")]
#[test_case("SHOP_DATA={scratch} systemctl start shop-standby@{recovery_point}" ; "shipped failover runbook")]
#[test_case("test \"$(sqlite3 {scratch}/db/app.db 'SELECT count(*) > 0 FROM orders')\" = 1" ; "shipped example")]
#[test_case("cat <<EOF > {scratch}/conf\npoint={recovery_point}\nEOF" ; "here-document to cat")]
#[test_case("python3 {scratch}/check.py {recovery_point} 2>&1 | tee {scratch}/log" ; "script arguments and redirections")]
#[test_case("sh -c 'echo ok' # {recovery_point}" ; "comment")]
#[test_case("echo eval {recovery_point}" ; "eval as an argument")]
fn a_placeholder_as_data_is_accepted(line: &str) {
    assert!(shell_script(line).is_ok(), "{:?}", shell_script(line));
}

/// A fresh empty folder under the system's temporary folder; removed by the caller.
fn empty_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lifeboat-core-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The generated script, run by real shells with hostile values in the environment: each
/// prints both values back byte for byte, and nothing in them runs (no `X` appears).
#[cfg(unix)]
#[test]
fn real_shells_read_every_value_back_exactly_and_run_none_of_it() {
    let scratch = "/tmp/a b'c\"d`touch X`e$(touch X)\\f\nEOF\ng;touch X";
    let point = "p$(touch X)`touch X`;touch X'\"\\\nEOF\ntouch X\n*";
    let expected = format!("{scratch}|{point}");
    let lines = [
        "printf '%s|%s' {scratch} {recovery_point}",
        "printf '%s|%s' \"{scratch}\" \"{recovery_point}\"",
        "printf '%s|%s' '{scratch}' '{recovery_point}'",
        "printf '%s|%s' \"$(printf %s {scratch})\" \"$(printf %s \"{recovery_point}\")x\"",
        "a=`printf %s {scratch}`; b=`printf %s \"{recovery_point}\"x`; printf '%s|%s' \"$a\" \"$b\"",
        "x={scratch}; y={recovery_point}; printf '%s|%s' \"$x\" \"$y\"",
        "case {recovery_point} in *) printf '%s|%s' {scratch} {recovery_point};; esac",
        "for v in {scratch}; do printf '%s|' \"$v\"; done; printf %s {recovery_point}",
        "printf '%s|%s' \"${UNSET_IN_TEST:-{scratch}}\" {recovery_point}",
        "cat <<EOF\n{scratch}|{recovery_point}\nEOF",
        "cat <<-EOF\n\t{scratch}|{recovery_point}\n\tEOF",
    ];
    for shell in ["sh", "bash", "dash"] {
        if std::process::Command::new(shell)
            .arg("-c")
            .arg("exit 0")
            .status()
            .is_err()
        {
            continue;
        }
        let dir = empty_dir(shell);
        for line in lines {
            let script = shell_script(line).unwrap();
            assert!(!script.contains("touch"), "{script}");
            let out = std::process::Command::new(shell)
                .args(["-c", &script])
                .current_dir(&dir)
                .env("LIFEBOAT_SCRATCH", scratch)
                .env("LIFEBOAT_RECOVERY_POINT", point)
                .output()
                .unwrap();
            let seen = String::from_utf8_lossy(&out.stdout);
            // `$(...)` drops trailing newlines, so those lines add an `x` after the value.
            let seen = seen.strip_suffix('x').unwrap_or(&seen);
            let seen = if line.starts_with("cat") {
                seen.strip_suffix('\n').unwrap_or(seen)
            } else {
                seen
            };
            assert_eq!(seen, expected, "{shell}: {line}\n{script}\n{out:?}");
        }
        let planted: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(planted.is_empty(), "{shell}: a value ran: {planted:?}");
    }
}

/// Lines built from every piece of syntax the tracker knows, unbalanced and cut anywhere:
/// nothing panics, and no placeholder survives as text outside the shell's own `${...}`.
#[test]
fn no_line_makes_the_tracker_panic() {
    const PIECES: [&str; 32] = [
        "{scratch}",
        "{recovery_point}",
        "'",
        "\"",
        "`",
        "$(",
        "$((",
        ")",
        "))",
        "(",
        "$'",
        "\\",
        "\n",
        "<<",
        "<<-",
        "<<<",
        "EOF",
        "'EOF'",
        "\t",
        " ",
        ";",
        "|",
        "&",
        "#",
        "sh",
        "-c",
        "eval",
        "psql",
        ">",
        "2>&1",
        "é",
        "${x}",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 12) as usize;
        let line: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        match shell_script(&line) {
            Ok(script) => {
                let outside = script.replace("${scratch}", "").replace("\\{scratch}", "");
                let outside = outside
                    .replace("${recovery_point}", "")
                    .replace("\\{recovery_point}", "");
                assert!(
                    !outside.contains("{scratch}") && !outside.contains("{recovery_point}"),
                    "{line:?} -> {script:?}"
                );
            }
            Err(troubles) => assert!(!troubles.is_empty()),
        }
        for (at, _) in find(&line) {
            let _ = climbs_out(&line, at);
        }
        let words: Vec<&str> = line.split(' ').collect();
        for i in 0..words.len() {
            let _ = code::runs_as_code(&words, i);
        }
        let _ = code::reads_stdin_as_code(&words);
    }
}

#[test_case("{scratch}/app.db {recovery_point}", vec![] ; "known placeholders")]
#[test_case("${HOME} ${scrach} {} {1x} {a b}", vec![] ; "not placeholder words")]
#[test_case("{scrach}/app.db", vec![Misuse::Unknown("scrach")] ; "a typo")]
#[test_case("{scratch}/../x {db}", vec![Misuse::ClimbsOut("{scratch}/.."), Misuse::Unknown("db")] ; "in the order met")]
fn misuses_are_found_in_order(text: &str, expected: Vec<Misuse<'_>>) {
    assert_eq!(misuses(text), expected);
}

#[test]
fn url_components_keep_only_the_unreserved_characters() {
    for b in 0u8..=127 {
        let c = char::from(b);
        let unreserved = c.is_ascii_alphanumeric() || "-._~".contains(c);
        let expected = if unreserved {
            c.to_string()
        } else {
            format!("%{b:02X}")
        };
        assert_eq!(url_component(&c.to_string()), expected, "byte {b:#04x}");
    }
}
