//! Which words of a command another interpreter runs as code: the script of `sh -c`, the
//! program of `python3 -c`, `perl -e`, `awk`, `sed`, the remote command of `ssh`, the SQL of
//! `psql -c`, the arguments of `eval`, and which commands read their standard input as code
//! (`sh`, `psql`, `python3` with no script: what a here-document feeds them).
//!
//! A placeholder's value is data to lifeboat and to the shell of a `shell:` step; an
//! interpreter handed it as part of its code would parse it, so validation refuses a
//! placeholder in those words. The table covers the interpreters runbooks use; it is a
//! guard against the obvious mistake, not a proof: a program this table does not know may
//! still run what it is given. Wrappers (`sudo`, `env`, `xargs`, `find -exec`, `timeout`)
//! need no entry: an interpreter is recognised wherever it stands in the command.

/// The interpreter that runs `words[index]` as code, if any. `words[0]` is the program;
/// only the words up to `index` are needed (a shell line is judged as it is read).
pub fn runs_as_code(words: &[&str], index: usize) -> Option<String> {
    for k in 0..index.min(words.len()) {
        let Some((name, kind)) = interpreter(words, k) else {
            continue;
        };
        let reading = read(kind, &words[k + 1..]);
        let rel = index - k - 1;
        if reading.code.contains(&rel) || reading.code_from.is_some_and(|from| rel >= from) {
            return Some(name.to_owned());
        }
    }
    None
}

/// The interpreter of the command `words` that reads its standard input as code (`sh`,
/// `psql`, `python3` given no script or code), if any.
pub fn reads_stdin_as_code(words: &[&str]) -> Option<String> {
    (0..words.len()).find_map(|k| {
        let (name, kind) = interpreter(words, k)?;
        read(kind, &words[k + 1..]).stdin.then(|| name.to_owned())
    })
}

/// Whether shells expand the value of the environment variable `name` as code: bash runs
/// the expansions in `BASH_ENV` when it starts a script, an interactive `sh` those in `ENV`,
/// and prompts (`PS1`..`PS4`, `PROMPT_COMMAND`) are expanded or run. A placeholder in such an
/// `env:` value would become code.
pub fn variable_runs_as_code(name: &str) -> bool {
    matches!(
        name,
        "BASH_ENV" | "ENV" | "PS0" | "PS1" | "PS2" | "PS3" | "PS4" | "PROMPT_COMMAND"
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Shell,
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Awk,
    Sed,
    Ssh,
    Su,
    Psql,
    Mysql,
    Sqlite,
    Eval,
}

/// `words[k]` as an interpreter: its name (the program's file name) and kind. A word that
/// holds a placeholder is a path from the backup, not a program the runbook names. `eval`
/// counts only where a command starts (after assignments and `!`, `time`, `command`, `exec`).
fn interpreter<'w>(words: &[&'w str], k: usize) -> Option<(&'w str, Kind)> {
    let word = words[k];
    if !super::find(word).is_empty() {
        return None;
    }
    let name = word.rsplit('/').next().unwrap_or(word);
    let kind = match name {
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" | "posh" | "fish"
        | "csh" | "tcsh" => Kind::Shell,
        "perl" => Kind::Perl,
        "ruby" => Kind::Ruby,
        "node" | "nodejs" => Kind::Node,
        "php" => Kind::Php,
        "awk" | "gawk" | "mawk" | "nawk" => Kind::Awk,
        "sed" | "gsed" => Kind::Sed,
        "ssh" => Kind::Ssh,
        "su" | "runuser" => Kind::Su,
        "psql" => Kind::Psql,
        "mysql" | "mariadb" => Kind::Mysql,
        "sqlite3" => Kind::Sqlite,
        "eval" if starts_command(&words[..k]) => Kind::Eval,
        n if n == "python" || n.starts_with("python2") || n.starts_with("python3") => Kind::Python,
        n if n.starts_with("perl5") => Kind::Perl,
        _ => return None,
    };
    Some((name, kind))
}

/// Whether a builtin after `before` stands where a command starts.
fn starts_command(before: &[&str]) -> bool {
    before.iter().all(|w| {
        matches!(*w, "!" | "time" | "command" | "builtin" | "exec")
            || w.split_once('=').is_some_and(|(name, _)| {
                name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
    })
}

/// What an interpreter does with its arguments (indices into them).
#[derive(Debug, Default)]
struct Reading {
    /// Arguments that are code.
    code: Vec<usize>,
    /// Every argument from this one on is code (`ssh HOST CMD...`, `eval ...`).
    code_from: Option<usize>,
    /// It reads its standard input as code.
    stdin: bool,
}

/// A short-option cluster (`-ec`, `-lne`): its letters, or `None` for a long option, `-`,
/// `--` or an operand.
fn cluster(arg: &str) -> Option<&str> {
    arg.strip_prefix('-')
        .filter(|rest| !rest.is_empty() && !rest.starts_with('-'))
}

/// In the cluster `letters` (of the argument at `i`), the letter at byte `j` takes a value:
/// the rest of the cluster, else the next argument. The index of the argument holding the
/// value, and the index of the next argument to read.
fn value_of(letters: &str, j: usize, ch: char, i: usize) -> (usize, usize) {
    if letters.len() > j + ch.len_utf8() {
        (i, i + 1)
    } else {
        (i + 1, i + 2)
    }
}

fn read(kind: Kind, args: &[&str]) -> Reading {
    match kind {
        Kind::Shell => read_shell(args),
        Kind::Python => read_letters(args, "c", "WXQ", "m"),
        Kind::Perl => read_letters(args, "eE", "IMmixdDCF", ""),
        Kind::Ruby => read_letters(args, "e", "EIrCxFWKT", ""),
        Kind::Node => read_long(
            args,
            &["-e", "--eval", "-p", "--print"],
            &["-r", "--require", "--import", "-C"],
            true,
        ),
        Kind::Php => read_long(
            args,
            &["-r", "-B", "-R", "-E"],
            &["-d", "-c", "-z", "-f"],
            true,
        ),
        Kind::Awk => read_program(
            args,
            &["-e", "--source"],
            &["-f", "--file"],
            &["-v", "-F", "--assign", "--field-separator"],
            "e",
            "f",
            "vF",
        ),
        Kind::Sed => read_program(
            args,
            &["-e", "--expression"],
            &["-f", "--file"],
            &["-l", "--line-length"],
            "e",
            "f",
            "l",
        ),
        Kind::Ssh => read_ssh(args),
        Kind::Su => read_stdin_unless_code(
            args,
            "c",
            &["--command", "--session-command"],
            "sgGwu",
            &[
                "--shell",
                "--group",
                "--supp-group",
                "--whitelist-environment",
                "--user",
            ],
        ),
        Kind::Psql => read_stdin_unless_code(
            args,
            "c",
            &["--command"],
            "dhpUfoLvFRPT",
            &[
                "--dbname",
                "--host",
                "--port",
                "--username",
                "--file",
                "--output",
                "--log-file",
                "--variable",
                "--set",
            ],
        ),
        Kind::Mysql => read_stdin_unless_code(
            args,
            "e",
            &["--execute"],
            "uhPDS",
            &["--user", "--host", "--port", "--database", "--socket"],
        ),
        Kind::Sqlite => read_sqlite(args),
        Kind::Eval => Reading {
            code_from: Some(0),
            ..Reading::default()
        },
    }
}

/// `sh [-abc...] [-o opt] [SCRIPT | -c COMMAND_STRING [NAME [ARG...]]]`: with `c` among the
/// options, the first operand is the script; after it come `$0`, `$1`... (data). Without
/// `c` and without operands, the shell reads its script from stdin.
fn read_shell(args: &[&str]) -> Reading {
    let mut i = 0;
    let mut command_string = false;
    while let Some(a) = args.get(i) {
        if *a == "--" || *a == "-" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            i += if matches!(long, "rcfile" | "init-file") {
                2
            } else {
                1
            };
            continue;
        }
        let Some(letters) = a.strip_prefix(['-', '+']).filter(|l| !l.is_empty()) else {
            break;
        };
        command_string |= letters.contains('c');
        i += if letters.ends_with('o') || letters.ends_with('O') {
            2
        } else {
            1
        };
    }
    if command_string {
        Reading {
            code: vec![i],
            ..Reading::default()
        }
    } else {
        Reading {
            stdin: i >= args.len(),
            ..Reading::default()
        }
    }
}

/// Interpreters whose code comes with one of the option letters `code` (`python3 -c CODE`,
/// `perl -ne CODE`, glued `-cCODE` too); letters in `valued` take a value, letters in
/// `stop` end the options (`python3 -m MODULE`). The first operand is a script file and
/// ends the options; with neither code nor script, stdin is the script.
fn read_letters(args: &[&str], code: &str, valued: &str, stop: &str) -> Reading {
    let mut reading = Reading::default();
    let mut i = 0;
    'args: while let Some(a) = args.get(i) {
        if *a == "-" {
            reading.stdin = reading.code.is_empty();
            return reading;
        }
        if *a == "--" {
            i += 1;
            break;
        }
        if a.starts_with("--") {
            i += 1;
            continue;
        }
        let Some(letters) = cluster(a) else { break };
        for (j, ch) in letters.char_indices() {
            if stop.contains(ch) {
                return reading;
            }
            if code.contains(ch) {
                let (at, next) = value_of(letters, j, ch, i);
                reading.code.push(at);
                i = next;
                continue 'args;
            }
            if valued.contains(ch) {
                i = value_of(letters, j, ch, i).1;
                continue 'args;
            }
        }
        i += 1;
    }
    reading.stdin = reading.code.is_empty() && i >= args.len();
    reading
}

/// Interpreters with whole-word options (`node -e CODE`, `php -r CODE`, `--eval=CODE`);
/// `valued` options take the next argument. The first operand is a script file; with
/// neither code nor script (and `stdin_script`), stdin is the script.
fn read_long(args: &[&str], code: &[&str], valued: &[&str], stdin_script: bool) -> Reading {
    let mut reading = Reading::default();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if code.contains(a) {
            reading.code.push(i + 1);
            i += 2;
        } else if code
            .iter()
            .any(|c| c.starts_with("--") && a.starts_with(&format!("{c}=")))
        {
            reading.code.push(i);
            i += 1;
        } else if valued.contains(a) {
            i += 2;
        } else if *a == "--" {
            i += 1;
            break;
        } else if a.starts_with('-') && *a != "-" {
            i += 1;
        } else {
            break;
        }
    }
    reading.stdin = stdin_script && reading.code.is_empty() && i >= args.len();
    reading
}

/// `awk` and `sed`: the program is given by `code` options (`-e PROGRAM`, `--expression=`,
/// or the letter `code_letter` in a cluster: `sed -ne PROGRAM`), read from a file by `file`
/// options, or else is the first operand. `valued` options take a value. Stdin is data.
fn read_program(
    args: &[&str],
    code: &[&str],
    file: &[&str],
    valued: &[&str],
    code_letter: &str,
    file_letter: &str,
    valued_letters: &str,
) -> Reading {
    let mut reading = Reading::default();
    let mut given = false;
    let mut i = 0;
    'args: while let Some(a) = args.get(i) {
        if *a == "--" {
            i += 1;
            break;
        }
        if let Some((name, _)) = a.split_once('=').filter(|_| a.starts_with("--")) {
            given |= code.contains(&name) || file.contains(&name);
            if code.contains(&name) {
                reading.code.push(i);
            }
            i += 1;
            continue;
        }
        if code.contains(a) {
            given = true;
            reading.code.push(i + 1);
            i += 2;
            continue;
        }
        if file.contains(a) {
            given = true;
            i += 2;
            continue;
        }
        if valued.contains(a) {
            i += 2;
            continue;
        }
        if a.starts_with("--") {
            i += 1;
            continue;
        }
        let Some(letters) = cluster(a) else { break };
        for (j, ch) in letters.char_indices() {
            if code_letter.contains(ch) {
                given = true;
                let (at, next) = value_of(letters, j, ch, i);
                reading.code.push(at);
                i = next;
                continue 'args;
            }
            if file_letter.contains(ch) {
                given = true;
                i = value_of(letters, j, ch, i).1;
                continue 'args;
            }
            if valued_letters.contains(ch) {
                i = value_of(letters, j, ch, i).1;
                continue 'args;
            }
            // `sed -i[SUFFIX]`: the rest is the suffix.
            if ch == 'i' {
                break;
            }
        }
        i += 1;
    }
    if !given {
        reading.code.push(i);
    }
    reading
}

/// `ssh [OPTIONS] DESTINATION [COMMAND...]`: the command is a line for the remote shell; with
/// none, the remote shell reads stdin.
fn read_ssh(args: &[&str]) -> Reading {
    const VALUED: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    let mut i = 0;
    'args: while let Some(a) = args.get(i) {
        if *a == "--" {
            i += 1;
            break;
        }
        let Some(letters) = cluster(a) else { break };
        for (j, ch) in letters.char_indices() {
            if VALUED.contains(ch) {
                i = value_of(letters, j, ch, i).1;
                continue 'args;
            }
        }
        i += 1;
    }
    Reading {
        code_from: Some(i + 1),
        stdin: i + 1 >= args.len(),
        ..Reading::default()
    }
}

/// `su`, `psql`, `mysql`: code comes with `code_letter` (`-c`, `-e`) or the `code_long`
/// options; without it, the program reads code from stdin. Operands are data (a user, a
/// database name).
fn read_stdin_unless_code(
    args: &[&str],
    code_letter: &str,
    code_long: &[&str],
    valued_letters: &str,
    valued_long: &[&str],
) -> Reading {
    let mut reading = Reading::default();
    let mut i = 0;
    'args: while let Some(a) = args.get(i) {
        if let Some(long) = a.strip_prefix("--").filter(|l| !l.is_empty()) {
            let name = format!("--{}", long.split('=').next().unwrap_or(long));
            let glued = long.contains('=');
            if code_long.contains(&name.as_str()) {
                reading.code.push(if glued { i } else { i + 1 });
            }
            let takes = code_long.contains(&name.as_str()) || valued_long.contains(&name.as_str());
            i += if takes && !glued { 2 } else { 1 };
            continue;
        }
        if let Some(letters) = cluster(a) {
            for (j, ch) in letters.char_indices() {
                if code_letter.contains(ch) {
                    let (at, next) = value_of(letters, j, ch, i);
                    reading.code.push(at);
                    i = next;
                    continue 'args;
                }
                if valued_letters.contains(ch) {
                    i = value_of(letters, j, ch, i).1;
                    continue 'args;
                }
            }
        }
        i += 1;
    }
    reading.stdin = reading.code.is_empty();
    reading
}

/// `sqlite3 [OPTIONS] [DATABASE [SQL...]]`: every operand after the database is SQL, and so is
/// `-cmd`'s value; with no SQL operand, stdin is SQL.
fn read_sqlite(args: &[&str]) -> Reading {
    const VALUED: [&str; 11] = [
        "-init",
        "-separator",
        "-newline",
        "-nullvalue",
        "-vfs",
        "-mmap",
        "-heap",
        "-lookaside",
        "-pagecache",
        "-maxsize",
        "-escape",
    ];
    let mut reading = Reading::default();
    let mut operands = 0;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let option = a.trim_start_matches('-');
        if a.starts_with('-') && option == "cmd" {
            reading.code.push(i + 1);
            i += 2;
        } else if a.starts_with('-') && VALUED.contains(&format!("-{option}").as_str()) {
            i += 2;
        } else if a.starts_with('-') && a.len() > 1 {
            i += 1;
        } else {
            if operands > 0 {
                reading.code.push(i);
            }
            operands += 1;
            i += 1;
        }
    }
    reading.stdin = operands < 2;
    reading
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    fn words(line: &str) -> Vec<&str> {
        line.split(' ').collect()
    }

    #[test_case("sh -c X", 2, Some("sh") ; "sh script")]
    #[test_case("sh -c script X", 3, None ; "sh dollar zero is data")]
    #[test_case("sh -c script name X", 4, None ; "sh positional parameter is data")]
    #[test_case("bash -euo pipefail -c X", 4, Some("bash") ; "bash with -o value")]
    #[test_case("bash -lc X", 2, Some("bash") ; "bash cluster")]
    #[test_case("/bin/sh X", 1, None ; "sh script file is data")]
    #[test_case("sudo -u app sh -c X", 5, Some("sh") ; "through sudo")]
    #[test_case("find . -exec sh -c X ;", 5, Some("sh") ; "through find exec")]
    #[test_case("env A=1 busybox sh -ec X", 5, Some("sh") ; "through env and busybox")]
    #[test_case("python3 -c X", 2, Some("python3") ; "python code")]
    #[test_case("python3.11 -Ic X", 2, Some("python3.11") ; "python cluster")]
    #[test_case("python3 -cX", 1, Some("python3") ; "python glued")]
    #[test_case("python3 -c code X", 3, None ; "python argv is data")]
    #[test_case("python3 -m mod -c X", 4, None ; "python module args are data")]
    #[test_case("python3 script.py -c X", 3, None ; "python script args are data")]
    #[test_case("perl -lne X", 2, Some("perl") ; "perl cluster")]
    #[test_case("perl -e code -e X", 4, Some("perl") ; "perl second e")]
    #[test_case("perl -i.bak -pe X file", 3, Some("perl") ; "perl after i")]
    #[test_case("perl -e code X", 3, None ; "perl argv is data")]
    #[test_case("ruby -e X", 2, Some("ruby") ; "ruby")]
    #[test_case("node --eval=X", 1, Some("node") ; "node glued eval")]
    #[test_case("node -p X", 2, Some("node") ; "node print")]
    #[test_case("php -r X", 2, Some("php") ; "php")]
    #[test_case("awk X file", 1, Some("awk") ; "awk program")]
    #[test_case("awk -F : -v a=b X file", 5, Some("awk") ; "awk program after options")]
    #[test_case("awk -v a=X prog", 2, None ; "awk variable is data")]
    #[test_case("awk prog X", 2, None ; "awk file is data")]
    #[test_case("awk -f prog.awk X", 3, None ; "awk with a program file")]
    #[test_case("sed -i s/a/b/ X", 3, None ; "sed file is data")]
    #[test_case("sed -i X file", 2, Some("sed") ; "sed script")]
    #[test_case("sed -ne X file", 2, Some("sed") ; "sed cluster")]
    #[test_case("sed --expression=X file", 1, Some("sed") ; "sed long")]
    #[test_case("ssh -p 22 host X", 4, Some("ssh") ; "ssh command")]
    #[test_case("ssh -i key X", 3, None ; "ssh destination")]
    #[test_case("su - app -c X", 4, Some("su") ; "su")]
    #[test_case("psql -d db -c X", 4, Some("psql") ; "psql")]
    #[test_case("psql X", 1, None ; "psql database name")]
    #[test_case("mysql --execute=X", 1, Some("mysql") ; "mysql")]
    #[test_case("sqlite3 X", 1, None ; "sqlite database")]
    #[test_case("sqlite3 -bail db X", 3, Some("sqlite3") ; "sqlite sql")]
    #[test_case("eval echo X", 2, Some("eval") ; "eval")]
    #[test_case("A=1 eval X", 2, Some("eval") ; "eval after an assignment")]
    #[test_case("echo eval X", 2, None ; "eval as an argument")]
    #[test_case("grep -c sh X", 3, None ; "a shell name as an argument")]
    #[test_case("X/sh -c X", 2, None ; "a program from a placeholder")]
    #[test_case("tar -C X -xf a.tar", 2, None ; "not an interpreter")]
    fn finds_the_words_an_interpreter_runs(line: &str, index: usize, expected: Option<&str>) {
        let line = line.replace('X', "{scratch}");
        assert_eq!(runs_as_code(&words(&line), index).as_deref(), expected);
    }

    #[test]
    fn variables_shells_expand_as_code() {
        for name in ["BASH_ENV", "ENV", "PS4", "PROMPT_COMMAND"] {
            assert!(variable_runs_as_code(name), "{name}");
        }
        for name in ["PGDATA", "DATA", "PATH", "ENVIRONMENT"] {
            assert!(!variable_runs_as_code(name), "{name}");
        }
    }

    #[test_case("sh", Some("sh") ; "sh reads stdin")]
    #[test_case("bash -s", Some("bash") ; "bash -s")]
    #[test_case("sh script.sh", None ; "sh with a script")]
    #[test_case("sh -c script", None ; "sh with a command string")]
    #[test_case("sudo -u postgres psql -d db", Some("psql") ; "psql")]
    #[test_case("psql -c sql", None ; "psql with a command")]
    #[test_case("python3", Some("python3") ; "python")]
    #[test_case("python3 -", Some("python3") ; "python dash")]
    #[test_case("python3 check.py", None ; "python with a script")]
    #[test_case("sqlite3 db", Some("sqlite3") ; "sqlite")]
    #[test_case("sqlite3 db sql", None ; "sqlite with sql")]
    #[test_case("ssh host", Some("ssh") ; "ssh without command")]
    #[test_case("cat", None ; "cat")]
    #[test_case("awk prog", None ; "awk reads data")]
    fn finds_the_commands_that_read_stdin_as_code(line: &str, expected: Option<&str>) {
        assert_eq!(reads_stdin_as_code(&words(line)).as_deref(), expected);
    }
}
