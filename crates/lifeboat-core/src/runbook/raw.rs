//! Raw serde structs for runbook v1 and their validation into [`super::Runbook`].
// Placeholder until the parser lands.
use super::*;
pub(super) fn parse(
    _text: &str,
    _file: &str,
    _env: &dyn Fn(&str) -> Option<String>,
) -> Result<Runbook, RunbookError> {
    unimplemented!("runbook parser")
}
