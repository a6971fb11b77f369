//! `scratch`: whether the restored files are kept, and when they are flushed to disk.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{Keep, ScratchSpec, ScratchSync};
use crate::runbook::raw::RawScratch;

pub(super) fn scratch(c: &mut Check<'_>, raw: Option<&Spanned<RawScratch>>) -> Option<ScratchSpec> {
    let keep = match raw.and_then(|r| r.value.keep.as_ref()) {
        Some(k) => c.choice(
            "scratch.keep",
            k,
            &[
                ("never", Keep::Never),
                ("on-failure", Keep::OnFailure),
                ("always", Keep::Always),
            ],
        ),
        None => Some(Keep::Never),
    };
    let sync = match raw.and_then(|r| r.value.sync.as_ref()) {
        Some(s) => c.choice(
            "scratch.sync",
            s,
            &[("file", ScratchSync::File), ("none", ScratchSync::None)],
        ),
        None => Some(ScratchSync::File),
    };
    Some(ScratchSpec {
        keep: keep?,
        sync: sync?,
    })
}
