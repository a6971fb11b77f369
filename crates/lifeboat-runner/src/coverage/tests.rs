//! The phase against a real local folder and a ledger that records what it is told.

use std::sync::Mutex;

use super::*;
use crate::format::files::FilesFormat;

/// sha256("a")
const A: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

/// The reference ledger in memory, counting the phases recorded.
#[derive(Default)]
struct Recorded {
    ledger: Mutex<coverage::MemoryLedger>,
    records: Mutex<Vec<PhaseRecord>>,
}

impl CoverageLedger for Recorded {
    fn points<'a>(&'a self, _: &'a str) -> LedgerFuture<'a, Vec<PointListing>> {
        let points = self.ledger.lock().unwrap().points.clone();
        Box::pin(async { Ok(points) })
    }

    fn stage<'a>(
        &'a self,
        _: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> LedgerFuture<'a, ()> {
        self.ledger
            .lock()
            .unwrap()
            .stage(t0, &listing.point, &listing.fingerprint, objects);
        Box::pin(async { Ok(()) })
    }

    fn retain<'a>(&'a self, _: &'a str, points: &'a [String]) -> LedgerFuture<'a, ()> {
        self.ledger.lock().unwrap().retain(points);
        Box::pin(async { Ok(()) })
    }

    fn plan<'a>(&'a self, _: &'a str, query: &'a PhaseQuery) -> LedgerFuture<'a, Selection> {
        let plan = self.ledger.lock().unwrap().plan(query);
        Box::pin(async { Ok(plan) })
    }

    fn record<'a>(&'a self, _: &'a str, record: &'a PhaseRecord) -> LedgerFuture<'a, ()> {
        self.ledger.lock().unwrap().record(record);
        self.records.lock().unwrap().push(record.clone());
        Box::pin(async { Ok(()) })
    }

    fn standing<'a>(
        &'a self,
        _: &'a str,
        t0: Timestamp,
        within: Duration,
    ) -> LedgerFuture<'a, Standing> {
        let standing = coverage::standing(&self.ledger.lock().unwrap().ledger.rows, t0, within);
        Box::pin(async move { Ok(standing) })
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
    assert!(ledger.records.lock().unwrap().is_empty());
    assert_eq!(
        *ledger.ledger.lock().unwrap(),
        coverage::MemoryLedger::default()
    );

    let going = CancellationToken::new();
    let (record, pending) = phase(&going).run(&format, &window).await.unwrap();
    assert_eq!(record.verified.len(), 1);
    assert_eq!(record.verified[0].outcome, Outcome::Passed);
    assert_eq!(record.verified[0].actual.as_deref(), Some(A));
    // The phase itself tells the ledger nothing: its verifications are handed back, kept
    // only once the record listing them is written (the ledger never runs ahead).
    assert!(ledger.records.lock().unwrap().is_empty());
    assert!(
        ledger.ledger.lock().unwrap().ledger.rows[0]
            .verified
            .is_none()
    );
    assert_eq!(pending.verified.len(), 1);
    // The record's standing is the ledger's once told.
    ledger.record("cov", &pending).await.unwrap();
    let t0 = "2026-11-22T02:00:00Z".parse().unwrap();
    let told = ledger
        .standing("cov", t0, rb.coverage.as_ref().unwrap().within)
        .await
        .unwrap();
    assert_eq!(
        (
            record.objects,
            record.verified_within,
            record.never_verified
        ),
        (told.objects, told.verified_within, told.never_verified)
    );
    assert_eq!(record.oldest_verified, told.oldest_verified);
    let rows = &ledger.ledger.lock().unwrap().ledger.rows;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].verified.is_some());
}
