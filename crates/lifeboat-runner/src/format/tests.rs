//! The window every format's points pass through: after T0 and older than `within` left out
//! and counted, the rest newest first.

use std::time::Duration;

use super::*;

#[derive(Default)]
struct Counted {
    after_t0: usize,
    too_old: usize,
}

impl Census for Counted {
    fn not_a_point(&mut self) {}
    fn after_t0(&mut self) {
        self.after_t0 += 1;
    }
    fn too_old(&mut self) {
        self.too_old += 1;
    }
    fn describe(&self) -> String {
        String::new()
    }
}

fn point(id: &str, time: &str) -> Candidate {
    Candidate {
        id: id.to_owned(),
        time: time.parse().unwrap(),
    }
}

fn ids(points: &[Candidate]) -> Vec<&str> {
    points.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn points_after_t0_or_older_than_the_window_are_left_out_and_counted() {
    let t0: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    let found = || {
        vec![
            point("old", "2026-10-01T00:00:00Z"),
            point("future", "2026-11-22T00:00:01Z"),
            point("mid", "2026-11-20T00:00:00Z"),
            point("at-t0", "2026-11-22T00:00:00Z"),
            point("edge", "2026-11-15T00:00:00Z"),
        ]
    };
    let mut census = Counted::default();
    let kept = in_window(
        found(),
        t0,
        Some(Duration::from_secs(7 * 86_400)),
        &mut census,
    );
    // Newest first; a point exactly at T0, or exactly `within` before it, is in.
    assert_eq!(ids(&kept), ["at-t0", "mid", "edge"]);
    assert_eq!((census.after_t0, census.too_old), (1, 1));

    let mut census = Counted::default();
    let kept = in_window(found(), t0, None, &mut census);
    assert_eq!(ids(&kept), ["at-t0", "mid", "edge", "old"]);
    assert_eq!((census.after_t0, census.too_old), (1, 0));
}

#[test]
fn points_of_the_same_time_are_tried_by_id_descending() {
    let t0: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    let same = "2026-11-21T00:00:00Z";
    let found = vec![point("a", same), point("c", same), point("b", same)];
    let kept = in_window(found, t0, None, &mut Counted::default());
    assert_eq!(ids(&kept), ["c", "b", "a"]);
}
