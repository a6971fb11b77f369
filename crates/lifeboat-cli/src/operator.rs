//! The operator of a manual drill (`lifeboat drill --interactive --operator NAME`): questions
//! go to stderr, answers come from stdin, one line each. Reading lines rather than raw keys
//! keeps it usable over ssh, in `script` sessions, and from a test that drives stdin.
//!
//! Between the questions the operator is shown what happened: each step's result (passed, or
//! failed and why, and the time it took; a restore's failed files), and after each recovery
//! point how it came out and where the drill goes next (falling back, or stopping and why).
//!
//! A prompt names the recovery point, and a result names files and reasons, which come from
//! the backup: every such value is shown through `lifeboat_core::text::Escaped`, and
//! [`Terminal::say`] escapes whatever else a terminal would act on, so a name cannot rewrite
//! the question being answered or forge a result.

use std::io::{BufRead, Write};
use std::sync::Mutex;

use jiff::Timestamp;
use lifeboat_core::evidence::{FileResult, Outcome, PointResult, StepResult};
use lifeboat_core::text::Escaped;
use lifeboat_runner::{Answer, Next, Operator, StepView};

/// Failed files of a restore listed after it; the summary and the evidence list them all.
const MAX_FAILED_SHOWN: usize = 10;

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

/// `steps[2] run "name"`: a step as the operator's lines name it, values escaped.
fn step_title(step: &StepView) -> String {
    let name = step
        .name
        .as_deref()
        .map(|n| format!(" \"{}\"", Escaped(n)))
        .unwrap_or_default();
    format!("{} {}{name}", Escaped(&step.key), step.kind)
}

/// `next: steps[2] run "name" for recovery point ID`, the line that shows a step before it
/// runs.
fn next_line(step: &StepView) -> String {
    let point = step
        .recovery_point
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| format!(" for recovery point {}", Escaped(p)))
        .unwrap_or_default();
    format!("\nnext: {}{point}\n", step_title(step))
}

impl Operator for Terminal {
    fn name(&self) -> &str {
        &self.name
    }

    fn go_on(&self, step: &StepView) -> Option<Answer> {
        self.say(format_args!(
            "{}      {}\n",
            next_line(step),
            Escaped(&step.summary)
        ));
        self.ask("run this step?", false)
    }

    fn approve(&self, step: &StepView, prompt: &str) -> Option<Answer> {
        // The question is the step's summary: shown once, as the question.
        self.say(format_args!(
            "{}operator {}, please confirm:\n",
            next_line(step),
            Escaped(&self.name)
        ));
        self.ask(prompt, true)
    }

    fn step_finished(&self, step: &StepView, result: &StepResult, files: &[FileResult]) {
        let took = (result.finished_at - result.started_at)
            .total(jiff::Unit::Second)
            .unwrap_or(0.0)
            .max(0.0);
        let took = lifeboat_report::words::human_secs(took);
        let title = step_title(step);
        if result.outcome == Outcome::Passed {
            self.say(format_args!("{title} passed in {took}\n"));
            return;
        }
        self.say(format_args!(
            "{title} failed after {took}: {}\n",
            Escaped(result.reason.as_deref().unwrap_or("no reason given"))
        ));
        let failed: Vec<&FileResult> = files
            .iter()
            .filter(|f| f.outcome != Outcome::Passed)
            .collect();
        for f in failed.iter().take(MAX_FAILED_SHOWN) {
            self.say(format_args!(
                "      {}: {}\n",
                Escaped(&f.path),
                Escaped(f.reason.as_deref().unwrap_or(""))
            ));
        }
        if failed.len() > MAX_FAILED_SHOWN {
            self.say(format_args!(
                "      ... and {} more failed files (the summary and the evidence list them)\n",
                failed.len() - MAX_FAILED_SHOWN
            ));
        }
    }

    fn point_finished(&self, point: &PointResult, next: Next) {
        let passed = point.outcome == Outcome::Passed;
        let how = if passed {
            "passed".to_owned()
        } else {
            format!(
                "failed: {}",
                Escaped(point.reason.as_deref().unwrap_or("no reason given"))
            )
        };
        let then = match next {
            Next::Done => String::new(),
            Next::Older if passed => {
                "going on to the next older recovery point (select: all)\n".to_owned()
            }
            Next::Older => "falling back to the next older recovery point\n".to_owned(),
            Next::NoneLeft => "no older recovery point is left to try\n".to_owned(),
            Next::Stop(why) => format!(
                "the drill stops here: {}, so no older recovery point is tried\n",
                why.why()
            ),
        };
        self.say(format_args!(
            "\nrecovery point {} {how}\n{then}",
            Escaped(&point.id)
        ));
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
