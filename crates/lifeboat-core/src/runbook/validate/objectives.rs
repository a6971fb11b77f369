//! `objectives`: the RTO and RPO a drill is measured against.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::Objectives;
use crate::runbook::raw::RawObjectives;

pub(super) fn objectives(c: &mut Check<'_>, raw: Option<&Spanned<RawObjectives>>) -> Objectives {
    let Some(raw) = raw else {
        return Objectives::default();
    };
    let RawObjectives { rto, rpo } = &raw.value;
    Objectives {
        rto: rto
            .as_ref()
            .and_then(|v| c.positive_duration("objectives.rto", v)),
        rpo: rpo
            .as_ref()
            .and_then(|v| c.positive_duration("objectives.rpo", v)),
    }
}
