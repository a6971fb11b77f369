//! The operator of a manual drill (`lifeboat drill --interactive --operator NAME`): questions
//! go to stderr, answers come from stdin, one line each. Reading lines rather than raw keys
//! keeps it usable over ssh, in `script` sessions, and from a test that drives stdin.
//!
//! A prompt names the recovery point, which comes from the backup: every value in a prompt is
//! shown through `lifeboat_core::text::Escaped`, and [`Terminal::say`] escapes whatever else
//! a terminal would act on, so a point's name cannot rewrite the question being answered.

use std::io::{BufRead, Write};
use std::sync::Mutex;

use jiff::Timestamp;
use lifeboat_core::text::Escaped;
use lifeboat_runner::{Answer, Operator, StepView};

pub struct Terminal {
    name: String,
    input: Mutex<Box<dyn BufRead + Send>>,
    output: Mutex<Box<dyn Write + Send>>,
}

impl Terminal {
    pub fn new(name: String) -> Self {
        Self::with_io(
            name,
            Box::new(std::io::BufReader::new(std::io::stdin())),
            Box::new(std::io::stderr()),
        )
    }

    fn with_io(
        name: String,
        input: Box<dyn BufRead + Send>,
        output: Box<dyn Write + Send>,
    ) -> Self {
        Terminal {
            name,
            input: Mutex::new(input),
            output: Mutex::new(output),
        }
    }

    /// Writes `text` (no newline is added), escaping every character a terminal would act
    /// on but the line feed.
    fn say(&self, text: std::fmt::Arguments<'_>) {
        let text = text.to_string();
        let mut out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(lifeboat_core::text::escape_lines(&text).as_bytes());
        let _ = out.flush();
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
        loop {
            self.say(format_args!("{} [y/n] ", Escaped(question)));
            let text = self.line()?;
            let yes = match text.to_ascii_lowercase().as_str() {
                "y" | "yes" => true,
                "n" | "no" => false,
                _ => {
                    self.say(format_args!("please answer y or n\n"));
                    continue;
                }
            };
            let answered_at = Timestamp::now();
            let note = if with_note {
                self.say(format_args!("note (optional, Enter for none): "));
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
        let point = step
            .recovery_point
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!(" for recovery point {}", Escaped(p)))
            .unwrap_or_default();
        let name = step
            .name
            .as_deref()
            .map(|n| format!(" \"{}\"", Escaped(n)))
            .unwrap_or_default();
        self.say(format_args!(
            "\nnext: {} {}{name}{point}\n      {}\n",
            Escaped(&step.key),
            step.kind,
            Escaped(&step.summary)
        ));
        self.ask("run this step?", false)
    }

    fn approve(&self, prompt: &str) -> Option<Answer> {
        self.say(format_args!(
            "\noperator {}, please confirm:\n",
            Escaped(&self.name)
        ));
        self.ask(prompt, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_name_cannot_rewrite_the_question() {
        let out = crate::captured::Captured::default();
        let term = Terminal::with_io(
            "eve".into(),
            Box::new(std::io::Cursor::new(b"y\n".to_vec())),
            Box::new(out.clone()),
        );
        let view = StepView {
            key: "steps[0]".into(),
            recovery_point: Some("p1\u{1b}[2K\r\nnext: steps[9] wait\u{202e}".into()),
            kind: "restore",
            name: Some("restore\u{7}".into()),
            summary: "restore {}".into(),
        };
        let answer = term.go_on(&view).expect("answered");
        assert!(answer.yes);
        let shown = out.text();
        assert_eq!(
            shown,
            "\nnext: steps[0] restore \"restore\\x07\" for recovery point \
             p1\\e[2K\\r\\nnext: steps[9] wait\\u{202e}\n      restore {}\nrun this step? [y/n] "
        );
    }
}
