//! `wait` steps: a pause, for a replica to catch up or a cache to expire before the next
//! check. Interrupted by a stop like any step.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Ended;

/// Waits `duration`; passes when it has passed.
pub(super) async fn wait(duration: Duration, detail: &mut BTreeMap<String, String>) -> Ended {
    detail.insert(
        "duration".into(),
        lifeboat_core::duration::human(duration.as_secs_f64()),
    );
    tokio::time::sleep(duration).await;
    Ended::Passed
}
