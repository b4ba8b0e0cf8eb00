//! Rollout policy (docs/spec.md `rollout`): waves and their gates, the in-flight
//! and hourly limits, the proposal window and the error budget. Pure
//! functions of the changes and the clock, so they are easy to test.

use tern_catalog::{Change, ChangeState};
use tern_spec::{Approval, PauseWhen, Wave, Weekday, Window};

/// Assigns waves to `count` changes in campaign order: change `i` belongs to
/// the first wave whose cumulative size exceeds `i`.
pub fn wave_of(i: usize, count: usize, waves: &[Wave]) -> u32 {
    for (w, wave) in waves.iter().enumerate() {
        if i < wave.cumulative(count) {
            return w as u32;
        }
    }
    waves.len().saturating_sub(1) as u32
}

/// Whether a change of an earlier wave lets the next wave open (docs/cli.md).
/// A canary change must have gone well (merged, nothing to do, or green and
/// waiting for its owners) or been withdrawn by a person (closed, rolled
/// back: their decision about that consumer). After the canary a change need
/// only have settled: failed and needs-attention changes go to their owners
/// without holding the fleet, and the error budget is what stops it.
pub fn clears_gate(c: &Change, approval: Approval) -> bool {
    let green_for_owners = c.state == ChangeState::Open
        && approval == Approval::Owners
        && c.verify.as_ref().is_none_or(|v| v.ok);
    if c.wave == 0 {
        matches!(
            c.state,
            ChangeState::Merged
                | ChangeState::Skipped
                | ChangeState::Closed
                | ChangeState::RolledBack
        ) || green_for_owners
    } else {
        c.state.is_settled() || green_for_owners
    }
}

/// Proposed and not yet settled: what `max_in_flight` counts.
pub const IN_FLIGHT: [ChangeState; 4] = [
    ChangeState::Patched,
    ChangeState::Verifying,
    ChangeState::Open,
    ChangeState::Approved,
];

/// Proposed and not yet settled: counts against `max_in_flight`.
pub fn in_flight(c: &Change) -> bool {
    IN_FLIGHT.contains(&c.state)
}

/// Changes open or waiting for a person: the burndown's second line.
pub fn waiting_for_people(changes: &[Change]) -> u64 {
    changes
        .iter()
        .filter(|c| in_flight(c) || c.state == ChangeState::NeedsAttention)
        .count() as u64
}

/// Why the error budget stops the campaign, if it does: failed changes at
/// least `min_failed` and failed over finished at least `failed_ratio`.
pub fn budget_exceeded(changes: &[Change], pause_when: &PauseWhen) -> Option<String> {
    let failed = changes
        .iter()
        .filter(|c| c.state == ChangeState::Failed)
        .count();
    let finished = changes
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                ChangeState::Failed
                    | ChangeState::Merged
                    | ChangeState::Open
                    | ChangeState::Approved
                    | ChangeState::NeedsAttention
            )
        })
        .count();
    if finished == 0 || (failed as u64) < pause_when.min_failed.max(1) {
        return None;
    }
    let ratio = failed as f64 / finished as f64;
    (ratio >= pause_when.failed_ratio).then(|| {
        format!(
            "error budget: {failed} of {finished} finished changes failed ({:.0}%, limit {:.0}% once {} fail)",
            ratio * 100.0,
            pause_when.failed_ratio * 100.0,
            pause_when.min_failed
        )
    })
}

/// UTC weekday (Monday first) and hour of a Unix time.
pub fn weekday_hour(unix: i64) -> (Weekday, u8) {
    let days = unix.div_euclid(86_400);
    let hour = (unix.rem_euclid(86_400) / 3600) as u8;
    // 1970-01-01 was a Thursday.
    let day = [
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
    ][days.rem_euclid(7) as usize];
    (day, hour)
}

/// True when changes may be proposed at `unix` (always, without a window).
pub fn in_window(window: Option<&Window>, unix: i64) -> bool {
    let Some(w) = window else { return true };
    let (day, hour) = weekday_hour(unix);
    (w.days.is_empty() || w.days.contains(&day)) && hour >= w.hours.0 && hour < w.hours.1
}

/// A short list of consumers for a message: `a (failed), b (open) and 3 more`.
pub fn describe(changes: &[&Change]) -> String {
    let mut parts: Vec<String> = changes
        .iter()
        .take(3)
        .map(|c| format!("{} ({})", c.consumer, c.state.as_str()))
        .collect();
    if changes.len() > 3 {
        parts.push(format!("{} more", changes.len() - 3));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_catalog::{Consumer, Via};

    fn change(id: &str, state: ChangeState) -> Change {
        let mut c = Change::planned(
            "m",
            &Consumer {
                id: id.into(),
                repo: "/r".into(),
                owner: None,
            },
            Via::Catalog,
        );
        c.state = state;
        c
    }

    #[test]
    fn waves_are_cumulative() {
        let waves = [
            Wave::Count(1),
            Wave::Count(10),
            Wave::Percent(25.0),
            Wave::Percent(100.0),
        ];
        let of: Vec<u32> = (0..100).map(|i| wave_of(i, 100, &waves)).collect();
        assert_eq!(of[0], 0);
        assert_eq!(of[1], 1);
        assert_eq!(of[9], 1);
        assert_eq!(of[10], 2);
        assert_eq!(of[24], 2);
        assert_eq!(of[25], 3);
        assert_eq!(of[99], 3);
        // Fewer consumers than the canary's count: everyone is in it.
        assert_eq!(wave_of(2, 3, &[Wave::Count(5), Wave::Percent(100.0)]), 0);
    }

    #[test]
    fn the_budget_trips_at_ratio_and_minimum() {
        let pw = PauseWhen {
            failed_ratio: 0.2,
            min_failed: 3,
        };
        let mut cs: Vec<Change> = (0..8)
            .map(|i| change(&i.to_string(), ChangeState::Merged))
            .collect();
        cs.extend((0..2).map(|i| change(&format!("f{i}"), ChangeState::Failed)));
        assert!(
            budget_exceeded(&cs, &pw).is_none(),
            "2 failures are under min_failed"
        );
        cs.push(change("f2", ChangeState::Failed));
        let why = budget_exceeded(&cs, &pw).unwrap();
        assert!(why.contains("3 of 11"), "{why}");
        cs.extend((0..10).map(|i| change(&format!("m{i}"), ChangeState::Merged)));
        assert!(budget_exceeded(&cs, &pw).is_none(), "3 of 21 is under 20%");
    }

    #[test]
    fn the_canary_gates_and_later_waves_only_settle() {
        use ChangeState as S;
        // (state, wave, approval, verify passed, clears the gate)
        let table = [
            (S::Merged, 0, Approval::Auto, true, true),
            (S::Skipped, 0, Approval::Auto, true, true),
            (S::Open, 0, Approval::Owners, true, true),
            (S::Open, 0, Approval::Owners, false, false),
            (S::Open, 0, Approval::Auto, true, false),
            (S::Failed, 0, Approval::Auto, false, false),
            (S::NeedsAttention, 0, Approval::Owners, true, false),
            (S::RolledBack, 0, Approval::Owners, true, true),
            (S::Closed, 0, Approval::Owners, true, true),
            (S::Planned, 0, Approval::Auto, true, false),
            (S::Approved, 0, Approval::Owners, true, false),
            (S::Failed, 1, Approval::Auto, false, true),
            (S::NeedsAttention, 1, Approval::Owners, true, true),
            (S::RolledBack, 2, Approval::Auto, true, true),
            (S::Closed, 1, Approval::Auto, true, true),
            (S::Merged, 1, Approval::Auto, true, true),
            (S::Open, 1, Approval::Owners, true, true),
            (S::Open, 1, Approval::Auto, true, false),
            (S::Planned, 1, Approval::Auto, true, false),
            (S::Patched, 1, Approval::Auto, true, false),
            (S::Verifying, 1, Approval::Auto, true, false),
            (S::Approved, 1, Approval::Owners, true, false),
        ];
        for (state, wave, approval, ok, clears) in table {
            let mut c = change("a", state);
            c.wave = wave;
            c.verify = Some(tern_catalog::VerifyResult {
                ok,
                seconds: 0.0,
                command: Some("make test".into()),
                log_tail: String::new(),
            });
            assert_eq!(
                clears_gate(&c, approval),
                clears,
                "{state:?} in wave {wave} under {approval:?}, verify ok {ok}"
            );
        }
    }

    #[test]
    fn windows() {
        // 2026-11-25 was a Wednesday.
        let wed_10 = 1_795_600_800 - 1_795_600_800 % 86_400 + 10 * 3600;
        assert_eq!(weekday_hour(wed_10), (Weekday::Wed, 10));
        let w = Window {
            days: vec![Weekday::Mon, Weekday::Wed],
            hours: (9, 17),
        };
        assert!(in_window(Some(&w), wed_10));
        assert!(!in_window(Some(&w), wed_10 + 8 * 3600));
        assert!(!in_window(Some(&w), wed_10 + 86_400));
        assert!(in_window(None, wed_10));
    }
}
