//! A `shell:` line as `sh -c` runs it: each placeholder becomes a reference to the
//! environment variable that holds its value, quoted for where it stands, so no byte of a
//! value from the backup is ever part of the shell's text.
//!
//! | the placeholder stands                        | written as                  |
//! | --------------------------------------------- | --------------------------- |
//! | unquoted (also inside `$(...)` or backticks)  | `"${LIFEBOAT_SCRATCH}"`     |
//! | inside `"..."` or an unquoted here-document   | `${LIFEBOAT_SCRATCH}`       |
//! | inside `'...'`                                | `'"${LIFEBOAT_SCRATCH}"'`   |
//! | inside `$'...'` (bash)                        | `'"${LIFEBOAT_SCRATCH}"$'`  |
//!
//! A shell expands a reference once and never parses the result again, so a construct this
//! tracker reads wrongly can at worst leave quote characters in the output or split the
//! value into words: never run it. The shell does parse an expanded value again where it is
//! code for something else, and there the tracker refuses the placeholder ([`Trouble`]):
//! another interpreter's code (`sh -c '...'`, `eval`, a here-document fed to `psql`, see
//! [`super::code`]), `$((...))` (bash runs commands in array subscripts), and a quoted
//! here-document, which expands nothing.

pub use super::trouble::Trouble;
use super::{Placeholder, code};

/// The script `sh -c` runs for the `shell:` line `text`: every placeholder written as a
/// quoted reference to its variable. `Err` lists every placeholder that stands where a
/// shell would run or not expand it.
pub fn shell_script(text: &str) -> Result<String, Vec<Trouble>> {
    let mut t = Tracker {
        text,
        bytes: text.as_bytes(),
        i: 0,
        out: Vec::with_capacity(text.len() + 64),
        frames: vec![Frame::Bare {
            kind: Unquoted::Script,
            parens: 0,
            cmd: Command::default(),
        }],
        pending: Vec::new(),
        troubles: Vec::new(),
    };
    t.run();
    if !t.troubles.is_empty() {
        return Err(t.troubles);
    }
    // Input bytes are copied whole and in order; only ASCII is added, between them.
    Ok(String::from_utf8(t.out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unquoted {
    /// The line itself.
    Script,
    /// Inside `$(...)`.
    Dollar,
    /// Inside `` `...` ``.
    Backtick,
}

/// The simple command being read in an unquoted context, enough to tell which of its words
/// an interpreter would run.
#[derive(Debug, Default)]
struct Command {
    words: Vec<String>,
    /// The word being read (quotes removed, roughly); `None` between words.
    word: Option<String>,
    /// The word being read is a redirection's target, not an argument.
    redirect: bool,
    /// ... and, after `<<<`, the interpreter that reads it as code.
    feeds: Option<String>,
}

impl Command {
    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            if self.redirect {
                self.redirect = false;
                self.feeds = None;
            } else {
                self.words.push(w);
            }
        }
    }

    fn end(&mut self) {
        self.end_word();
        self.words.clear();
        self.redirect = false;
        self.feeds = None;
    }

    /// The interpreter that would run the word being read as code, if any.
    fn runs_current_word(&self) -> Option<String> {
        if self.redirect {
            return self.feeds.clone();
        }
        let mut words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        words.push(self.word.as_deref().unwrap_or(""));
        code::runs_as_code(&words, words.len() - 1)
    }

    fn stdin_reader(&self) -> Option<String> {
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        code::reads_stdin_as_code(&words)
    }
}

#[derive(Debug)]
struct Heredoc {
    delimiter: String,
    written: String,
    strip_tabs: bool,
    quoted: bool,
    /// The interpreter that reads the body as code (`psql <<EOF`).
    reader: Option<String>,
}

#[derive(Debug)]
enum Frame {
    Bare {
        kind: Unquoted,
        /// `(` opened inside this context and not closed yet.
        parens: u32,
        cmd: Command,
    },
    Single,
    /// `$'...'`: backslash escapes, `\'` does not end it.
    AnsiC,
    Double,
    Arith {
        parens: u32,
    },
    Comment,
    Heredoc(Heredoc),
}

struct Tracker<'t> {
    text: &'t str,
    bytes: &'t [u8],
    i: usize,
    out: Vec<u8>,
    frames: Vec<Frame>,
    /// Here-documents whose operator was read; their bodies start after the next newline.
    pending: Vec<Heredoc>,
    troubles: Vec<Trouble>,
}

impl<'t> Tracker<'t> {
    fn run(&mut self) {
        while self.i < self.bytes.len() {
            if self.at_heredoc_end() {
                continue;
            }
            if self.bytes[self.i] == b'{'
                && let Some(p) = Placeholder::at(self.text, self.i)
            {
                self.placeholder(p);
                continue;
            }
            match self.frames.last() {
                Some(Frame::Bare { kind, .. }) => {
                    let kind = *kind;
                    self.bare(kind);
                }
                Some(Frame::Single) => self.single(),
                Some(Frame::AnsiC) => self.ansi_c(),
                Some(Frame::Double) => self.double(),
                Some(Frame::Arith { .. }) => self.arith(),
                Some(Frame::Comment) => self.comment(),
                Some(Frame::Heredoc(h)) => {
                    let quoted = h.quoted;
                    self.heredoc(quoted);
                }
                None => self.copy(self.bytes.len()),
            }
        }
    }

    fn rest(&self) -> &'t [u8] {
        let bytes = self.bytes;
        &bytes[self.i..]
    }

    fn copy(&mut self, n: usize) {
        let end = (self.i + n).min(self.bytes.len());
        self.out.extend_from_slice(&self.bytes[self.i..end]);
        self.i = end;
    }

    fn push(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    fn pop(&mut self) {
        if self.frames.len() > 1 {
            self.frames.pop();
        }
    }

    /// The innermost command, while only quotes stand between it and the text being read.
    fn command(&mut self) -> Option<&mut Command> {
        for frame in self.frames.iter_mut().rev() {
            match frame {
                Frame::Single | Frame::AnsiC | Frame::Double => {}
                Frame::Bare { cmd, .. } => return Some(cmd),
                _ => return None,
            }
        }
        None
    }

    fn word_start(&mut self) {
        if let Some(cmd) = self.command() {
            cmd.word.get_or_insert_default();
        }
    }

    fn word_push(&mut self, text: &str) {
        if let Some(cmd) = self.command() {
            cmd.word.get_or_insert_default().push_str(text);
        }
    }

    fn word_byte(&mut self, b: u8) {
        let ch = if b.is_ascii() { char::from(b) } else { '?' };
        if let Some(cmd) = self.command() {
            cmd.word.get_or_insert_default().push(ch);
        }
    }

    fn with_command(&mut self, f: impl FnOnce(&mut Command)) {
        if let Some(Frame::Bare { cmd, .. }) = self.frames.last_mut() {
            f(cmd);
        }
    }

    fn placeholder(&mut self, p: Placeholder) {
        let var = p.var();
        let written = match self.frames.last() {
            Some(Frame::Bare { .. }) => format!("\"${{{var}}}\""),
            Some(Frame::Single) => format!("'\"${{{var}}}\"'"),
            Some(Frame::AnsiC) => format!("'\"${{{var}}}\"$'"),
            _ => format!("${{{var}}}"),
        };
        if let Some(t) = self.trouble(p) {
            self.troubles.push(t);
        }
        self.word_push(p.text());
        self.out.extend_from_slice(written.as_bytes());
        self.i += p.text().len();
    }

    /// Whether anything around the placeholder would run its value or leave it unexpanded,
    /// looking out from where it stands.
    fn trouble(&self, placeholder: Placeholder) -> Option<Trouble> {
        for frame in self.frames.iter().rev() {
            match frame {
                Frame::Comment => return None,
                Frame::Arith { .. } => return Some(Trouble::Arithmetic { placeholder }),
                Frame::Heredoc(h) if h.quoted => {
                    return Some(Trouble::QuotedHeredoc {
                        placeholder,
                        written: h.written.clone(),
                        delimiter: h.delimiter.clone(),
                    });
                }
                Frame::Heredoc(Heredoc {
                    reader: Some(interpreter),
                    ..
                }) => {
                    return Some(Trouble::HeredocCode {
                        placeholder,
                        interpreter: interpreter.clone(),
                    });
                }
                Frame::Bare { cmd, .. } => {
                    if let Some(interpreter) = cmd.runs_current_word() {
                        return Some(if cmd.redirect {
                            Trouble::HeredocCode {
                                placeholder,
                                interpreter,
                            }
                        } else {
                            Trouble::Code {
                                placeholder,
                                interpreter,
                            }
                        });
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn at_heredoc_end(&mut self) -> bool {
        let Some(Frame::Heredoc(h)) = self.frames.last() else {
            return false;
        };
        if self.i == 0 || self.bytes[self.i - 1] != b'\n' {
            return false;
        }
        let eol = self.rest().iter().position(|&b| b == b'\n');
        let line_end = eol.map_or(self.bytes.len(), |n| self.i + n);
        let line = &self.text[self.i..line_end];
        let line = if h.strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if line != h.delimiter {
            return false;
        }
        self.copy(line_end - self.i + 1);
        self.frames.pop();
        true
    }

    fn bare(&mut self, kind: Unquoted) {
        let b = self.bytes[self.i];
        let rest = self.rest();
        let word_start =
            matches!(self.frames.last(), Some(Frame::Bare { cmd, .. }) if cmd.word.is_none());
        match b {
            b'\\' => {
                if let Some(&next) = rest.get(1)
                    && next != b'\n'
                {
                    self.word_byte(next);
                }
                self.copy(2);
            }
            b'\'' => {
                self.word_start();
                self.copy(1);
                self.push(Frame::Single);
            }
            b'"' => {
                self.word_start();
                self.copy(1);
                self.push(Frame::Double);
            }
            b'`' if kind == Unquoted::Backtick => {
                self.copy(1);
                self.pop();
            }
            b'`' => {
                self.word_start();
                self.copy(1);
                self.push(Frame::Bare {
                    kind: Unquoted::Backtick,
                    parens: 0,
                    cmd: Command::default(),
                });
            }
            b'$' if rest.starts_with(b"$((") => {
                self.word_start();
                self.copy(3);
                self.push(Frame::Arith { parens: 0 });
            }
            b'$' if rest.starts_with(b"$(") => {
                self.word_start();
                self.copy(2);
                self.push(Frame::Bare {
                    kind: Unquoted::Dollar,
                    parens: 0,
                    cmd: Command::default(),
                });
            }
            b'$' if rest.starts_with(b"$'") => {
                self.word_start();
                self.copy(2);
                self.push(Frame::AnsiC);
            }
            b'#' if word_start => {
                self.copy(1);
                self.push(Frame::Comment);
            }
            b' ' | b'\t' => {
                self.with_command(Command::end_word);
                self.copy(1);
            }
            b'\n' => {
                self.with_command(Command::end);
                self.copy(1);
                for h in std::mem::take(&mut self.pending).into_iter().rev() {
                    self.push(Frame::Heredoc(h));
                }
            }
            b';' | b'&' | b'|' => {
                self.with_command(Command::end);
                self.copy(1);
            }
            b'(' => {
                if let Some(Frame::Bare { parens, cmd, .. }) = self.frames.last_mut() {
                    *parens += 1;
                    cmd.end();
                }
                self.copy(1);
            }
            b')' => {
                let mut close = false;
                if let Some(Frame::Bare { parens, cmd, .. }) = self.frames.last_mut() {
                    cmd.end();
                    if *parens > 0 {
                        *parens -= 1;
                    } else {
                        close = kind == Unquoted::Dollar;
                    }
                }
                self.copy(1);
                if close {
                    self.pop();
                }
            }
            b'<' if rest.starts_with(b"<<") && !rest.starts_with(b"<<<") => self.heredoc_operator(),
            b'<' | b'>' => self.redirection(),
            _ => {
                self.word_byte(b);
                self.copy(1);
            }
        }
    }

    /// `>`, `>>`, `2>&1`, `<`, `<<<`: the word after it is a target, not an argument.
    fn redirection(&mut self) {
        let herestring = self.rest().starts_with(b"<<<");
        self.with_command(|cmd| {
            // `2>`: the descriptor number is not an argument either.
            if cmd
                .word
                .as_deref()
                .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
            {
                cmd.word = None;
            }
            cmd.end_word();
            cmd.redirect = true;
            cmd.feeds = if herestring { cmd.stdin_reader() } else { None };
        });
        let n = self
            .rest()
            .iter()
            .take(3)
            .take_while(|b| b"<>&|".contains(b))
            .count();
        self.copy(n);
    }

    /// `<<WORD` or `<<-WORD`: its body starts after the next newline and ends at a line that
    /// is WORD. Any quote in WORD means the body expands nothing.
    fn heredoc_operator(&mut self) {
        let mut reader = None;
        self.with_command(|cmd| {
            if cmd
                .word
                .as_deref()
                .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
            {
                cmd.word = None;
            }
            cmd.end_word();
            reader = cmd.stdin_reader();
        });
        self.copy(2);
        let strip_tabs = self.rest().first() == Some(&b'-');
        if strip_tabs {
            self.copy(1);
        }
        let blanks = self
            .rest()
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        self.copy(blanks);
        let start = self.i;
        let mut j = start;
        let mut delimiter = Vec::new();
        let mut quoted = false;
        let bytes = self.bytes;
        while let Some(&b) = bytes.get(j) {
            if b" \t\n;&|()<>".contains(&b) {
                break;
            }
            match b {
                b'\'' | b'"' => {
                    quoted = true;
                    j += 1;
                    while let Some(&c) = bytes.get(j) {
                        if c == b {
                            break;
                        }
                        if b == b'"' && c == b'\\' && j + 1 < bytes.len() {
                            j += 1;
                        }
                        delimiter.push(bytes[j]);
                        j += 1;
                    }
                    j += 1;
                }
                b'\\' => {
                    quoted = true;
                    if let Some(&c) = bytes.get(j + 1) {
                        delimiter.push(c);
                    }
                    j += 2;
                }
                _ => {
                    delimiter.push(b);
                    j += 1;
                }
            }
        }
        let end = j.min(bytes.len());
        let written = self.text.get(start..end).unwrap_or_default();
        for (_, placeholder) in super::find(written) {
            self.troubles.push(Trouble::Delimiter { placeholder });
        }
        self.copy(end - start);
        self.pending.push(Heredoc {
            delimiter: String::from_utf8_lossy(&delimiter).into_owned(),
            written: written.to_owned(),
            strip_tabs,
            quoted,
            reader,
        });
    }

    fn single(&mut self) {
        let b = self.bytes[self.i];
        self.copy(1);
        if b == b'\'' {
            self.pop();
        } else {
            self.word_byte(b);
        }
    }

    fn ansi_c(&mut self) {
        match self.bytes[self.i] {
            b'\\' => self.copy(2),
            b'\'' => {
                self.copy(1);
                self.pop();
            }
            b => {
                self.word_byte(b);
                self.copy(1);
            }
        }
    }

    /// Inside `"..."`, and (without `"` ending it) an unquoted here-document's body: `\`
    /// escapes, `$(`, `$((` and backticks open their own contexts.
    fn expanding(&mut self, ends_at_quote: bool) -> bool {
        let rest = self.rest();
        match rest[0] {
            b'\\' => {
                if let Some(&next) = rest.get(1) {
                    self.word_byte(next);
                }
                self.copy(2);
            }
            b'"' if ends_at_quote => {
                self.copy(1);
                self.pop();
            }
            b'`' => {
                self.copy(1);
                self.push(Frame::Bare {
                    kind: Unquoted::Backtick,
                    parens: 0,
                    cmd: Command::default(),
                });
            }
            b'$' if rest.starts_with(b"$((") => {
                self.copy(3);
                self.push(Frame::Arith { parens: 0 });
            }
            b'$' if rest.starts_with(b"$(") => {
                self.copy(2);
                self.push(Frame::Bare {
                    kind: Unquoted::Dollar,
                    parens: 0,
                    cmd: Command::default(),
                });
            }
            _ => return false,
        }
        true
    }

    fn double(&mut self) {
        if !self.expanding(true) {
            let b = self.bytes[self.i];
            self.word_byte(b);
            self.copy(1);
        }
    }

    fn heredoc(&mut self, quoted: bool) {
        if quoted || !self.expanding(false) {
            self.copy(1);
        }
    }

    fn arith(&mut self) {
        let rest = self.rest();
        let b = rest[0];
        let closes_here = rest.starts_with(b"))");
        if b == b'$' && rest.starts_with(b"$(") && !rest.starts_with(b"$((") || b == b'`' {
            self.expanding(false);
            return;
        }
        if let Some(Frame::Arith { parens }) = self.frames.last_mut() {
            match b {
                b'(' => *parens += 1,
                b')' if *parens > 0 => *parens -= 1,
                b')' if closes_here => {
                    self.copy(2);
                    self.pop();
                    return;
                }
                _ => {}
            }
        }
        self.copy(1);
    }

    fn comment(&mut self) {
        if self.bytes[self.i] == b'\n' {
            self.pop();
        } else {
            self.copy(1);
        }
    }
}
