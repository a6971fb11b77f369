//! [`Trouble`]: why a placeholder may not stand where it does, worded for the runbook's
//! author. Validation reports it for `shell:` lines ([`super::shell_script`]) and for `run:`
//! arguments another interpreter runs as code ([`super::code`]).

use super::Placeholder;

/// Why a placeholder may not stand where it does in a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// In code another interpreter runs (`bash -c '...'`, `python3 -c`, `eval`).
    Code {
        /// The placeholder in the code.
        placeholder: Placeholder,
        /// The program that would run it, as the line names it.
        interpreter: String,
    },
    /// In a here-document (or here-string) an interpreter reads as code (`psql <<EOF`).
    HeredocCode {
        /// The placeholder in the here-document.
        placeholder: Placeholder,
        /// The program that reads the here-document, as the line names it.
        interpreter: String,
    },
    /// In a here-document whose delimiter is quoted (`<<'EOF'`): nothing expands there.
    QuotedHeredoc {
        /// The placeholder in the here-document.
        placeholder: Placeholder,
        /// The delimiter as written, quotes included.
        written: String,
        /// The delimiter without its quotes.
        delimiter: String,
    },
    /// In `$((...))`: the value would be evaluated as an arithmetic expression.
    Arithmetic {
        /// The placeholder in the expression.
        placeholder: Placeholder,
    },
    /// In a here-document's delimiter (`<<{scratch}`), which the shell never expands.
    Delimiter {
        /// The placeholder in the delimiter.
        placeholder: Placeholder,
    },
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Code {
                placeholder: p,
                interpreter,
            } => write!(
                f,
                "{p} is in code that {interpreter} runs: a value from the backup must never \
                 become code; let that code read ${} from the environment, or pass the value \
                 as an argument after the code",
                p.var()
            ),
            Trouble::HeredocCode {
                placeholder: p,
                interpreter,
            } => write!(
                f,
                "{p} is in a here-document that {interpreter} reads as code: a value from the \
                 backup must never become code; let that code read ${} from the environment",
                p.var()
            ),
            Trouble::QuotedHeredoc {
                placeholder: p,
                written,
                delimiter,
            } => write!(
                f,
                "{p} is in a here-document whose delimiter is quoted (<<{written}), where the \
                 shell expands nothing: write <<{delimiter} for the value to expand"
            ),
            Trouble::Arithmetic { placeholder: p } => write!(
                f,
                "{p} is in an arithmetic expansion $((...)), where a shell evaluates the value \
                 as an expression (bash runs commands in it): compare it as text instead, e.g. \
                 [ \"{p}\" = 3 ]"
            ),
            Trouble::Delimiter { placeholder: p } => write!(
                f,
                "{p} is in a here-document's delimiter, which the shell never expands: choose a \
                 fixed word such as EOF"
            ),
        }
    }
}
