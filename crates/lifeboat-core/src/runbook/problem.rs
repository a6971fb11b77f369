//! What is wrong with a runbook, located in its source: the one error type of parsing and
//! validation.

/// One thing wrong with a runbook, located in its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 when the position is unknown.
    pub line: u32,
    /// 1-based; 0 when the position is unknown.
    pub column: u32,
    /// The message, starting with the key path it is about, e.g.
    /// ``sample: `files` and `percent` are both set; set exactly one``.
    pub message: String,
}

/// Every problem found in one runbook file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct RunbookError {
    /// The file name as the user gave it, used as the prefix of each line.
    pub file: String,
    /// Every problem found, in the order of their positions in the file; never empty.
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for RunbookError {
    /// One `FILE:LINE:COLUMN: message` line per problem.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, p.line, p.column, p.message)?;
        }
        Ok(())
    }
}
