//! The command line as a whole: what every command's `--help` and every `--now` have in
//! common, checked over all commands so that a new one cannot miss it.

use clap::{Command, CommandFactory, Parser};

use super::Cli;

/// Every command, as the words that name it (`["evidence", "verify"]`), with its definition.
fn commands() -> Vec<(Vec<String>, Command)> {
    fn walk(path: &[String], cmd: &Command, out: &mut Vec<(Vec<String>, Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut words = path.to_vec();
            words.push(sub.get_name().to_owned());
            out.push((words.clone(), sub.clone()));
            walk(&words, sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&[], &Cli::command(), &mut out);
    assert!(out.len() >= 9, "{out:?}");
    out
}

/// What `lifeboat WORDS... --help` prints, through the parser the binary uses.
fn long_help(words: &[String]) -> String {
    let argv = std::iter::once("lifeboat")
        .chain(words.iter().map(String::as_str))
        .chain(["--help"]);
    let err = Cli::try_parse_from(argv).expect_err("--help stops parsing");
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
    err.to_string()
}

/// The line of `help` that introduces the option `--long` (not a mention of it in a
/// description).
fn option_line(help: &str, long: &str) -> Option<usize> {
    let flag = format!("--{long}");
    help.lines().position(|line| {
        let line = line.trim_start();
        let line = match line.split_once(", ") {
            Some((short, rest)) if short.starts_with('-') && short.len() == 2 => rest,
            _ => line,
        };
        line.strip_prefix(&flag)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '.', '<', '=']))
    })
}

#[test]
fn global_options_come_after_each_command_s_own() {
    for (words, cmd) in commands() {
        let help = long_help(&words);
        let globals: Vec<usize> = ["verbose", "log-format"]
            .into_iter()
            .map(|long| {
                option_line(&help, long)
                    .unwrap_or_else(|| panic!("{words:?}: no --{long} in\n{help}"))
            })
            .collect();
        let first_global = *globals.iter().min().unwrap();
        for arg in cmd.get_arguments().filter(|a| !a.is_global_set()) {
            let Some(long) = arg.get_long() else { continue };
            let line = option_line(&help, long)
                .unwrap_or_else(|| panic!("{words:?}: no --{long} in\n{help}"));
            assert!(
                line < first_global,
                "lifeboat {}: --{long} is listed after the global options:\n{help}",
                words.join(" ")
            );
        }
    }
}

/// `lifeboat WORDS... --now NOW`, with every other required argument given a placeholder:
/// the `--now` the parser produced, or its error.
fn parse_now(words: &[String], cmd: &Command, now: &str) -> Result<jiff::Timestamp, String> {
    let mut argv = vec!["lifeboat".to_owned()];
    argv.extend(words.iter().cloned());
    for arg in cmd.get_arguments().filter(|a| a.is_required_set()) {
        if let Some(long) = arg.get_long() {
            argv.push(format!("--{long}"));
        }
        argv.push("x.yaml".to_owned());
    }
    argv.extend(["--now".to_owned(), now.to_owned()]);
    let mut matches = Cli::command()
        .try_get_matches_from(&argv)
        .map_err(|e| e.to_string())?;
    for word in words {
        matches = matches.remove_subcommand().expect(word).1;
    }
    Ok(*matches
        .get_one::<jiff::Timestamp>("now")
        .unwrap_or_else(|| panic!("{argv:?}: no --now")))
}

#[test]
fn every_now_takes_a_date_as_its_midnight_utc_and_explains_a_bad_one() {
    let with_now: Vec<_> = commands()
        .into_iter()
        .filter(|(_, cmd)| cmd.get_arguments().any(|a| a.get_long() == Some("now")))
        .collect();
    let names: Vec<&str> = with_now.iter().map(|(w, _)| w[0].as_str()).collect();
    assert!(
        names.contains(&"drill") && names.contains(&"status"),
        "{names:?}"
    );
    for (words, cmd) in &with_now {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(
            parse_now(words, cmd, "2026-11-22"),
            Ok(at("2026-11-22T00:00:00Z")),
            "lifeboat {words:?} --now 2026-11-22"
        );
        assert_eq!(
            parse_now(words, cmd, "2026-11-22T02:00:00Z"),
            Ok(at("2026-11-22T02:00:00Z"))
        );
        assert_eq!(
            parse_now(words, cmd, "2026-11-22T03:00:00+01:00"),
            Ok(at("2026-11-22T02:00:00Z"))
        );
        // A time of day without an offset names no instant: refused, with the forms that do.
        for bad in [
            "2026-11-22T02:00",
            "2026-11-22T02:00:00",
            "yesterday",
            "2026-13-01",
        ] {
            let err = parse_now(words, cmd, bad).expect_err(bad);
            assert!(
                err.contains("2026-11-22T02:00:00Z") && err.contains("2026-11-22 "),
                "lifeboat {words:?} --now {bad}: no example in\n{err}"
            );
        }
    }
}
