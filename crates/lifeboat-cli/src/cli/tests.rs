//! The command line as a whole: what every command's `--help` has in common, checked over
//! all commands so that a new one cannot miss it.

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
