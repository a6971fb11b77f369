//! The operator of a manual drill (`lifeboat drill --interactive --operator NAME`): questions
//! go to stderr, answers come from stdin, one line each. Reading lines rather than raw keys
//! keeps it usable over ssh, in `script` sessions, and from a test that drives stdin.

use std::io::{BufRead, Write};
use std::sync::Mutex;

use jiff::Timestamp;
use lifeboat_runner::{Answer, Operator, StepView};

pub struct Terminal {
    name: String,
    input: Mutex<Box<dyn BufRead + Send>>,
}

impl Terminal {
    pub fn new(name: String) -> Self {
        Terminal {
            name,
            input: Mutex::new(Box::new(std::io::BufReader::new(std::io::stdin()))),
        }
    }

    /// One line from stdin, trimmed; `None` at end of input.
    fn line(&self) -> Option<String> {
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_owned()),
        }
    }

    /// Asks until the answer is yes or no; then for an optional note.
    fn ask(&self, question: &str, with_note: bool) -> Option<Answer> {
        let asked_at = Timestamp::now();
        let mut err = std::io::stderr();
        loop {
            let _ = write!(err, "{question} [y/n] ");
            let _ = err.flush();
            let text = self.line()?;
            let yes = match text.to_ascii_lowercase().as_str() {
                "y" | "yes" => true,
                "n" | "no" => false,
                _ => {
                    let _ = writeln!(err, "please answer y or n");
                    continue;
                }
            };
            let answered_at = Timestamp::now();
            let note = if with_note {
                let _ = write!(err, "note (optional, Enter for none): ");
                let _ = err.flush();
                self.line().filter(|n| !n.is_empty())
            } else {
                None
            };
            return Some(Answer {
                yes,
                text,
                note,
                asked_at,
                answered_at,
            });
        }
    }
}

impl Operator for Terminal {
    fn name(&self) -> &str {
        &self.name
    }

    fn go_on(&self, step: &StepView) -> Option<Answer> {
        let mut err = std::io::stderr();
        let point = step
            .recovery_point
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!(" for recovery point {p}"))
            .unwrap_or_default();
        let name = step
            .name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        let _ = writeln!(err, "\nnext: {} {}{name}{point}", step.key, step.kind);
        let _ = writeln!(err, "      {}", step.summary);
        self.ask("run this step?", false)
    }

    fn approve(&self, prompt: &str) -> Option<Answer> {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "\noperator {}, please confirm:", self.name);
        self.ask(prompt, true)
    }
}
