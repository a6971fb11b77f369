use super::*;

fn t(day: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + day * 86_400).unwrap()
}

fn key(point: &str, path: &str) -> ObjectKey {
    ObjectKey {
        point: point.into(),
        path: path.into(),
    }
}

fn listed(point: &str, n: usize, size: u64) -> Vec<Listed> {
    (0..n)
        .map(|i| Listed {
            key: key(point, &format!("f{i:02}")),
            identity: Identity {
                size,
                tag: "mtime:1".into(),
            },
        })
        .collect()
}

fn verified(row_key: ObjectKey, size: u64, at: Timestamp, outcome: Outcome) -> LedgerRow {
    LedgerRow {
        key: row_key,
        identity: Identity {
            size,
            tag: "mtime:1".into(),
        },
        first_seen: at,
        verified: Some(Verification {
            at,
            outcome,
            algorithm: Algorithm::Sha256,
            digest: None,
        }),
    }
}

fn input(ledger: &Ledger, t0: Timestamp, within_days: u64, budget: Option<u64>) -> PlanInput<'_> {
    PlanInput {
        t0,
        within: DAY * within_days as u32,
        budget,
        schedule: None,
        seed: 7,
        ledger,
    }
}

fn read_keys(plan: &PhasePlan) -> Vec<ObjectKey> {
    plan.read
        .iter()
        .map(|&i| plan.objects[i].row.key.clone())
        .collect()
}

#[test]
fn a_first_drill_reads_its_share_of_the_window_not_the_whole_backup() {
    let ledger = Ledger::default();
    let plan = plan(listed("p1", 30, 100), &input(&ledger, t(0), 10, None));
    // Daily drills (no history, no schedule), a 10-day window: a tenth.
    assert_eq!(plan.interval, (DAY, IntervalFrom::Default));
    assert_eq!(plan.read.len(), 3);
    assert_eq!(plan.read_bytes, 300);
    assert!(plan.on_pace);
    assert!(plan.objects.iter().all(|o| o.changed));
}

#[test]
fn never_verified_objects_come_first_then_the_least_recently_verified() {
    let ledger = Ledger {
        rows: vec![
            verified(key("p1", "old"), 10, t(-5), Outcome::Passed),
            verified(key("p1", "older"), 10, t(-8), Outcome::Passed),
            verified(key("p1", "recent"), 10, t(-1), Outcome::Passed),
        ],
        phases: vec![t(-1)],
        first_phase: None,
    };
    let mut objects = Vec::new();
    for path in ["recent", "old", "new", "older"] {
        objects.push(Listed {
            key: key("p1", path),
            identity: Identity {
                size: 10,
                tag: "mtime:1".into(),
            },
        });
    }
    let within = 1; // everything is due: the whole order is read
    let plan = plan(objects, &input(&ledger, t(0), within, None));
    let paths: Vec<String> = read_keys(&plan).into_iter().map(|k| k.path).collect();
    assert_eq!(paths, ["new", "older", "old", "recent"]);
}

#[test]
fn ties_are_broken_by_the_seed_the_same_way_every_time() {
    let ledger = Ledger::default();
    let a = plan(listed("p1", 40, 1), &input(&ledger, t(0), 4, None));
    let b = plan(listed("p1", 40, 1), &input(&ledger, t(0), 4, None));
    assert_eq!(read_keys(&a), read_keys(&b));
    let mut other = input(&ledger, t(0), 4, None);
    other.seed = 8;
    let c = plan(listed("p1", 40, 1), &other);
    assert_ne!(read_keys(&a), read_keys(&c), "another seed, another order");
    // Not simply the listing order.
    let first: Vec<String> = listed("p1", 10, 1)
        .into_iter()
        .map(|l| l.key.path)
        .collect();
    assert_ne!(
        read_keys(&a)
            .into_iter()
            .map(|k| k.path)
            .collect::<Vec<_>>(),
        first
    );
}

#[test]
fn a_changed_identity_makes_an_object_new_again_and_unlisted_objects_leave() {
    let ledger = Ledger {
        rows: vec![
            verified(key("p1", "f00"), 100, t(-1), Outcome::Passed),
            verified(key("gone", "x"), 100, t(-1), Outcome::Passed),
        ],
        phases: vec![t(-1)],
        first_phase: None,
    };
    let mut objects = listed("p1", 1, 100);
    objects[0].identity.tag = "mtime:2".into();
    let plan = plan(objects, &input(&ledger, t(0), 30, None));
    assert!(plan.objects[0].changed);
    assert_eq!(plan.objects[0].row.verified, None);
    assert_eq!(plan.objects[0].row.first_seen, t(0));
    assert_eq!(plan.gone, [key("gone", "x")]);
}

#[test]
fn a_key_listed_twice_is_one_object_as_first_listed_and_is_not_gone() {
    let ledger = Ledger {
        rows: vec![verified(key("p1", "f00"), 100, t(-1), Outcome::Passed)],
        phases: vec![t(-1)],
        first_phase: None,
    };
    let mut objects = listed("p1", 2, 100);
    let mut again = objects[0].clone();
    again.identity.tag = "mtime:2".into();
    objects.push(again);
    let plan = plan(objects, &input(&ledger, t(0), 30, None));
    assert_eq!(plan.objects.len(), 2);
    // The first listing wins: its identity matches the ledger, so the object is not new.
    assert_eq!(plan.objects[0].row.key, key("p1", "f00"));
    assert!(!plan.objects[0].changed);
    assert_eq!(plan.objects[0].row.identity.tag, "mtime:1");
    assert!(plan.gone.is_empty());
}

#[test]
fn the_pace_follows_the_rate_drills_actually_run() {
    let ledger = Ledger {
        rows: Vec::new(),
        // Every two days.
        phases: vec![t(-2), t(-4), t(-6)],
        first_phase: None,
    };
    let plan = plan(listed("p1", 30, 100), &input(&ledger, t(0), 10, None));
    assert_eq!(plan.interval, (DAY * 2, IntervalFrom::History));
    // Five drills per window: a fifth.
    assert_eq!(plan.read.len(), 6);
    // Before any history, the schedule's interval.
    let empty = Ledger::default();
    let mut weekly = input(&empty, t(0), 14, None);
    weekly.schedule = Some(DAY * 7);
    let plan = super::plan(listed("p1", 30, 100), &weekly);
    assert_eq!(plan.interval, (DAY * 7, IntervalFrom::Schedule));
    assert_eq!(plan.read.len(), 15);
}

#[test]
fn objects_overdue_by_the_next_drill_are_read_whatever_the_share() {
    // 10 objects verified 9 days ago, 20 verified yesterday, a 9-day window: the 10 would be
    // overdue tomorrow, though the share is 4.
    let mut rows: Vec<LedgerRow> = (0..10)
        .map(|i| verified(key("p1", &format!("f{i:02}")), 1, t(-9), Outcome::Passed))
        .collect();
    rows.extend(
        (10..30).map(|i| verified(key("p1", &format!("f{i:02}")), 1, t(-1), Outcome::Passed)),
    );
    let ledger = Ledger {
        rows,
        phases: vec![t(-1)],
        first_phase: None,
    };
    let plan = plan(listed("p1", 30, 1), &input(&ledger, t(0), 9, None));
    assert_eq!(plan.read.len(), 10);
    assert!(read_keys(&plan).iter().all(|k| k.path.as_str() < "f10"));
}

#[test]
fn objects_that_appear_after_coverage_started_are_due_at_once() {
    let ledger = Ledger {
        rows: (0..30)
            .map(|i| verified(key("p1", &format!("f{i:02}")), 1, t(-1), Outcome::Passed))
            .collect(),
        phases: vec![t(-1)],
        first_phase: Some(t(-20)),
    };
    let mut objects = listed("p1", 30, 1);
    objects.extend(listed("p2", 12, 1));
    // Share: 42 over 10 drills, 5; the 12 new ones are due now.
    let plan = plan(objects, &input(&ledger, t(0), 10, None));
    assert_eq!(plan.read.len(), 12);
    assert!(read_keys(&plan).iter().all(|k| k.point == "p2"));
}

#[test]
fn a_budget_caps_the_phase_and_says_how_far_behind_it_is() {
    let ledger = Ledger::default();
    // Share: 3000 bytes a day; budget 1000.
    let plan = plan(listed("p1", 30, 100), &input(&ledger, t(0), 1, Some(1000)));
    assert_eq!(plan.read_bytes, 1000);
    assert_eq!(plan.read.len(), 10);
    assert!(!plan.on_pace);
    // 3000 bytes at 1000 a daily drill: 3 days.
    assert_eq!(plan.behind_seconds, Some(3 * 86_400));
    // A budget the pace fits in changes nothing.
    let plan = super::plan(listed("p1", 30, 100), &input(&ledger, t(0), 1, Some(5000)));
    assert_eq!(plan.read_bytes, 3000);
    assert!(plan.on_pace);
    assert_eq!(plan.behind_seconds, None);
}

#[test]
fn a_failed_object_waits_for_its_turn_like_any_other() {
    let ledger = Ledger {
        rows: vec![
            verified(key("p1", "f00"), 1, t(-1), Outcome::Failed),
            verified(key("p1", "f01"), 1, t(-2), Outcome::Passed),
        ],
        phases: vec![t(-1)],
        first_phase: None,
    };
    let plan = plan(listed("p1", 2, 1), &input(&ledger, t(0), 2, None));
    assert_eq!(read_keys(&plan), [key("p1", "f01")]);
}

#[test]
fn standing_counts_fresh_passes_never_verified_and_the_oldest() {
    let rows = [
        verified(key("p", "a"), 5, t(-1), Outcome::Passed),
        verified(key("p", "b"), 5, t(-20), Outcome::Passed),
        verified(key("p", "c"), 5, t(-2), Outcome::Failed),
        LedgerRow {
            key: key("p", "d"),
            identity: Identity {
                size: 5,
                tag: "missing".into(),
            },
            first_seen: t(0),
            verified: None,
        },
    ];
    let s = standing(&rows, t(0), DAY * 10);
    assert_eq!(
        s,
        Standing {
            objects: 4,
            bytes: 20,
            verified_within: 1,
            never_verified: 1,
            oldest_verified: Some(t(-20)),
        }
    );
    assert_eq!(s.ratio(), 0.25);
    assert_eq!(standing(&[], t(0), DAY).ratio(), 1.0);
}

#[test]
fn simulated_daily_drills_verify_everything_within_the_window_and_keep_it_so() {
    // Five points in a 5-day retention, one new point a day, a 3-day coverage window.
    let mut ledger = Ledger::default();
    let within = 3;
    for day in 0..20i64 {
        let points: Vec<String> = (day - 4..=day).map(|d| format!("p{d:03}")).collect();
        let objects: Vec<Listed> = points.iter().flat_map(|p| listed(p, 6, 10)).collect();
        let plan = plan(objects, &input(&ledger, t(day), within, None));
        let mut rows: Vec<LedgerRow> = plan.objects.iter().map(|o| o.row.clone()).collect();
        for &i in &plan.read {
            rows[i].verified = Some(Verification {
                at: t(day),
                outcome: Outcome::Passed,
                algorithm: Algorithm::Sha256,
                digest: None,
            });
        }
        let s = standing(&rows, t(day), DAY * within as u32);
        if day >= within as i64 {
            assert_eq!(s.verified_within, s.objects, "day {day}: {s:?}");
        }
        ledger.phases.insert(0, t(day));
        ledger.phases.truncate(PACE_PHASES);
        ledger.first_phase.get_or_insert(t(day));
        ledger.rows = rows;
    }
}

#[test]
fn objects_due_at_once_lead_the_backlog_so_the_pace_is_a_prefix() {
    // Coverage started yesterday with a backlog of 30 never-verified objects; a new point of
    // 3 arrived today. The new ones are due at once and read first; the backlog gives only
    // its share (33 over 10 drills: 4 objects in all), not everything up to the last new
    // object in the order.
    let rows: Vec<LedgerRow> = listed("p1", 30, 1)
        .into_iter()
        .map(|l| LedgerRow {
            key: l.key,
            identity: l.identity,
            first_seen: t(-1),
            verified: None,
        })
        .collect();
    let ledger = Ledger {
        rows,
        phases: vec![t(-1)],
        first_phase: Some(t(-1)),
    };
    let mut objects = listed("p1", 30, 1);
    objects.extend(listed("p2", 3, 1));
    for seed in 0..20 {
        let mut input = input(&ledger, t(0), 10, None);
        input.seed = seed;
        let plan = plan(objects.clone(), &input);
        let keys = read_keys(&plan);
        assert_eq!(keys.len(), 4, "seed {seed}: {keys:?}");
        assert!(
            keys[..3].iter().all(|k| k.point == "p2"),
            "seed {seed}: {keys:?}"
        );
    }
}

#[test]
fn the_standing_after_a_phase_is_the_standing_its_record_leaves_before_it_is_recorded() {
    // The record is written before the ledger (the ledger never runs ahead of what a record
    // proves), so the record's standing is computed before the ledger is told: from the
    // standing before the phase and the selection. It must equal what the ledger says once
    // told, whatever the days, budgets, failures and irregular drills.
    let mut ml = MemoryLedger::default();
    let within_days = 4;
    let within = DAY * within_days;
    for day in 0..40i64 {
        let t0 = t(day);
        let points: Vec<String> = (day - 5..=day).map(|d| format!("p{d:03}")).collect();
        for (n, p) in points.iter().enumerate() {
            let objects = listed(p, 3 + n % 4, 10 + 7 * (n as u64 % 3));
            ml.stage(t0, p, &fingerprint(&objects), &objects);
        }
        ml.retain(&points);
        if day % 7 == 3 {
            // A day without a drill: the next one is behind its turn.
            continue;
        }
        let query = PhaseQuery {
            t0,
            within,
            budget: (day % 5 == 1).then_some(25),
            schedule: None,
            seed: day as u64,
        };
        let before = ml.standing(t0, within);
        let selection = ml.plan(&query);
        let outcomes: Vec<Outcome> = selection
            .read
            .iter()
            .map(|r| {
                if (key_hash(&selection.key(r)) + day) % 6 == 0 {
                    Outcome::Failed
                } else {
                    Outcome::Passed
                }
            })
            .collect();
        let after = standing_after(&before, &selection, &outcomes, t0, within);
        ml.record(&PhaseRecord {
            verified: selection
                .read
                .iter()
                .zip(&outcomes)
                .map(|(r, &outcome)| {
                    let v = Verification {
                        at: t0,
                        outcome,
                        algorithm: Algorithm::Sha256,
                        digest: None,
                    };
                    (selection.key(r), v)
                })
                .collect(),
            phase: Some(t0),
            run_id: format!("run-{day}"),
            last_verified: Vec::new(),
        });
        assert_eq!(after, ml.standing(t0, within), "day {day}: {selection:?}");
    }
}

/// A point is staged again only when its fingerprint changes: any path, size or tag
/// changed, objects reordered, fields that would run together, or zero padding of a word
/// must all change it; the same listing must not.
#[test]
fn a_listing_changed_anywhere_changes_its_fingerprint() {
    let one = |path: &str, size: u64, tag: &str| Listed {
        key: key("p", path),
        identity: Identity {
            size,
            tag: tag.into(),
        },
    };
    let base = vec![
        one("data/customer-0001.parquet", 4096, "etag:aa"),
        one("data/b", 7, "mtime:2026-11-01T00:00:00Z"),
    ];
    let same = base.clone();
    assert_eq!(fingerprint(&base), fingerprint(&same));
    let variants = [
        vec![base[1].clone(), base[0].clone()],
        vec![
            one("data/customer-0002.parquet", 4096, "etag:aa"),
            base[1].clone(),
        ],
        vec![
            one("data/customer-0001.parquet", 4097, "etag:aa"),
            base[1].clone(),
        ],
        vec![
            one("data/customer-0001.parquet", 4096, "etag:ab"),
            base[1].clone(),
        ],
        vec![base[0].clone()],
        vec![
            base[0].clone(),
            one("data/b\0", 7, "mtime:2026-11-01T00:00:00Z"),
        ],
        vec![
            base[0].clone(),
            one("data/", 7, "bmtime:2026-11-01T00:00:00Z"),
        ],
        vec![
            base[0].clone(),
            one("data/b", 7, "mtime:2026-11-01T00:00:00Z\0"),
        ],
    ];
    let mut seen = std::collections::HashSet::from([fingerprint(&base)]);
    for (n, v) in variants.iter().enumerate() {
        assert!(seen.insert(fingerprint(v)), "variant {n} collides");
    }
    assert_eq!(fingerprint(&base).len(), 32);
}

/// Issue 16 item 7: a lagging drill over 10 M objects reads ~1.9 M of them, and the
/// selection is held until they are read. It names each point once and keeps per object only
/// what the reads and the standing need (path, size, last verification) — no copy of the
/// point's name, no tag, no digest, no first-listed time.
#[test]
fn a_selection_names_each_point_once_and_keeps_only_what_the_reads_need() {
    let mut ml = MemoryLedger::default();
    for p in ["p1", "p2", "p3"] {
        let objects = listed(p, 50, 10);
        ml.stage(t(0), p, &fingerprint(&objects), &objects);
    }
    let everything = |t0| PhaseQuery {
        t0,
        // A window of one drill: the whole ledger is due.
        within: DAY,
        budget: None,
        schedule: None,
        seed: 7,
    };
    let first = ml.plan(&everything(t(0)));
    assert_eq!(first.read.len(), 150);
    let mut points = first.points.clone();
    points.sort();
    assert_eq!(points, ["p1", "p2", "p3"]);
    assert!(first.read.iter().all(|r| r.last.is_none()));
    ml.record(&PhaseRecord {
        verified: first
            .read
            .iter()
            .filter(|r| first.point(r) == "p2")
            .map(|r| {
                let v = Verification {
                    at: t(0),
                    outcome: Outcome::Failed,
                    algorithm: Algorithm::Sha512,
                    digest: Some("ab".repeat(64)),
                };
                (first.key(r), v)
            })
            .collect(),
        phase: Some(t(0)),
        run_id: "run-0".into(),
        last_verified: Vec::new(),
    });
    let second = ml.plan(&everything(t(1)));
    for r in &second.read {
        let expected = (second.point(r) == "p2").then_some(LastVerified {
            at: t(0),
            outcome: Outcome::Failed,
            algorithm: Algorithm::Sha512,
        });
        assert_eq!(r.last, expected, "{}", second.key(r).path);
        assert_eq!(r.size, 10);
    }
    // A point index, a boxed path, a size and the last verification: at 1.9 M objects read
    // that is ~110 MB with the paths, where a whole ledger row each held ~700 MB.
    assert!(
        std::mem::size_of::<Selected>() <= 56,
        "{} bytes",
        std::mem::size_of::<Selected>()
    );
}
