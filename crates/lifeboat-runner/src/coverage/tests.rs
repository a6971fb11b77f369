//! The phase against a real local folder and a ledger that records what it is told.

use std::sync::Mutex;

use super::*;
use crate::format::files::FilesFormat;

/// sha256("a")
const A: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

#[derive(Default)]
struct Recorded {
    updates: Mutex<Vec<LedgerUpdate>>,
}

impl CoverageLedger for Recorded {
    fn read<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Ledger, String>> {
        Box::pin(async { Ok(Ledger::default()) })
    }

    fn update<'a>(
        &'a self,
        _: &'a str,
        update: &'a LedgerUpdate,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.updates.lock().unwrap().push(update.clone());
        Box::pin(async { Ok(()) })
    }
}

fn runbook(source: &std::path::Path) -> Runbook {
    let text = format!(
        "version: 1\nname: cov\nsource:\n  url: file://{}\nrecovery_points:\n  time: name\n  \
         time_format: \"%Y-%m-%dT%H%M%SZ\"\ncoverage: {{within: 1d}}\n",
        source.display()
    );
    lifeboat_core::runbook::parse(&text, "cov.yaml", &|_| None).unwrap()
}

#[tokio::test]
async fn a_stop_ends_the_phase_and_leaves_the_ledger_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let point = dir.path().join("2026-11-21T020000Z");
    std::fs::create_dir_all(&point).unwrap();
    std::fs::write(point.join("a.txt"), "a").unwrap();
    std::fs::write(point.join("SHA256SUMS"), format!("{A}  a.txt\n")).unwrap();
    let rb = runbook(dir.path());
    let format = FilesFormat::open(&rb).unwrap();
    let window = [Candidate {
        id: "2026-11-21T020000Z".into(),
        time: "2026-11-21T02:00:00Z".parse().unwrap(),
    }];
    let ledger = Arc::new(Recorded::default());
    let context = CoverageContext {
        ledger: ledger.clone(),
        schedule_interval: None,
    };
    let phase = |cancel| Phase {
        runbook: &rb,
        spec: rb.coverage.as_ref().unwrap(),
        context: &context,
        run_id: "r",
        t0: "2026-11-22T02:00:00Z".parse().unwrap(),
        seed: 1,
        jobs: 1,
        cancel,
    };
    let stopped = CancellationToken::new();
    stopped.cancel();
    assert!(matches!(
        phase(&stopped).run(&format, &window).await,
        Err(DrillError::Interrupted)
    ));
    assert!(ledger.updates.lock().unwrap().is_empty());

    let going = CancellationToken::new();
    let record = phase(&going).run(&format, &window).await.unwrap();
    assert_eq!(record.verified.len(), 1);
    assert_eq!(record.verified[0].outcome, Outcome::Passed);
    assert_eq!(record.verified[0].actual.as_deref(), Some(A));
    let updates = ledger.updates.lock().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].upsert.len(), 1);
    assert!(updates[0].upsert[0].verified.is_some());
}
