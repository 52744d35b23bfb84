//! Schedules: a 6-field cron expression (seconds first, as the `cron` crate
//! parses it) in an IANA time zone, turned into UTC fire times.
//!
//! Times are computed in the zone, so "09:00 every day" stays 09:00 local
//! across daylight-saving changes. The cron expression is matched against
//! the wall clock, and each wall-clock time is then placed in UTC:
//!
//! - In a spring-forward gap (02:30 does not exist in New York on the March
//!   change), the run moves to the first instant after the gap (03:00
//!   local), so a daily check-in still comes once that day. Several times
//!   in one gap come out as one; and a moved run is dropped when another
//!   run of the schedule falls within an hour of it (an hourly schedule
//!   simply has one hour fewer that day, as the clock does).
//! - In a fall-back overlap (01:30 happens twice in New York in November),
//!   the run fires at the first occurrence only.
//!
//! Check-in schedules also have to be humane: [`Schedule::checkin`] refuses
//! a cron that fires more than once an hour (each run is a group post and a
//! private message to every member) or never.

use std::str::FromStr;

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use cron::TimeUnitSpec;

/// A cron expression or zone that cannot be used, with a message fit to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression did not parse.
    #[error(
        "invalid cron expression \"{expr}\": {reason}; expected 6 fields \
         (sec min hour day-of-month month day-of-week), e.g. \"0 0 9 * * *\" for 09:00 every day"
    )]
    Cron {
        /// What was given.
        expr: String,
        /// The parser's reason.
        reason: String,
    },
    /// The zone is not in the IANA database.
    #[error(
        "unknown time zone \"{0}\"; use an IANA name such as \"Europe/London\" or \"America/New_York\""
    )]
    Zone(String),
    /// A check-in schedule that would fire more than once an hour.
    #[error(
        "\"{expr}\" would send a check-in {how_often}, and each one reaches every member; \
         check-ins can go out at most once an hour, so give a single number for the seconds \
         and for the minutes, e.g. \"0 0 9 * * *\" for 09:00 every day"
    )]
    TooOften {
        /// What was given.
        expr: String,
        /// In words: "every second", "more than once a minute", ...
        how_often: &'static str,
    },
    /// A schedule whose date can never come (such as 31 February).
    #[error(
        "\"{expr}\" asks for a date that never comes (like 31 February), so no check-in \
         would ever go out; e.g. \"0 0 9 * * *\" is 09:00 every day"
    )]
    Never {
        /// What was given.
        expr: String,
    },
}

/// A parsed schedule: when, and in which zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    tz: Tz,
}

/// Parses an IANA zone name. Case is forgiven ("europe/london"), since
/// members type these by hand; an exact match is tried first.
pub fn parse_zone(name: &str) -> Result<Tz, ScheduleError> {
    let trimmed = name.trim();
    Tz::from_str(trimmed)
        .ok()
        .or_else(|| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .copied()
                .find(|tz| tz.name().eq_ignore_ascii_case(trimmed))
        })
        .ok_or_else(|| ScheduleError::Zone(name.to_owned()))
}

/// Parses a 6-field cron expression.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, ScheduleError> {
    let fields = expr.split_whitespace().count();
    if fields != 6 {
        return Err(ScheduleError::Cron {
            expr: expr.to_owned(),
            reason: format!("it has {fields} fields"),
        });
    }
    cron::Schedule::from_str(expr).map_err(|e| ScheduleError::Cron {
        expr: expr.to_owned(),
        reason: e.to_string(),
    })
}

/// Parses a cron expression for a group check-in: 6 fields, firing at
/// most once an hour, and at all. The one place this rule lives; config
/// validation and `setup checkin` both come through here.
pub fn parse_checkin_cron(expr: &str) -> Result<cron::Schedule, ScheduleError> {
    let cron = parse_cron(expr)?;
    match checkin_problem(&cron) {
        Some(problem) => Err(problem),
        None => Ok(cron),
    }
}

/// Why `cron` is no good for check-ins, if it isn't.
///
/// More than one second or minute value means more than one run within
/// some hour; one of each means at most one run per wall-clock hour, and
/// the DST handling in [`Schedule::fires_between`] keeps that true in UTC.
fn checkin_problem(cron: &cron::Schedule) -> Option<ScheduleError> {
    let expr = cron.source().to_owned();
    let how_often = if cron.seconds().is_all() {
        Some("every second")
    } else if cron.seconds().count() > 1 {
        Some("more than once a minute")
    } else if cron.minutes().is_all() {
        Some("every minute")
    } else if cron.minutes().count() > 1 {
        Some("more than once an hour")
    } else {
        None
    };
    if let Some(how_often) = how_often {
        return Some(ScheduleError::TooOften { expr, how_often });
    }
    never_fires(cron).then_some(ScheduleError::Never { expr })
}

/// True when no calendar date matches (31 February, 30 February on a
/// Monday, ...). Cheap: the `cron` crate walks months and days, not
/// seconds, and stops at its last year (2100). Looking from 2000 is enough,
/// since six fields carry no year: every possible month, day and weekday
/// combination (29 February on a Sunday included) comes round within any
/// 28 years of this century.
fn never_fires(cron: &cron::Schedule) -> bool {
    let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default();
    cron.after(&start).next().is_none()
}

impl Schedule {
    /// Parses both parts. Any cron is accepted: previews and schedules
    /// already stored come through here. New check-in schedules use
    /// [`Schedule::checkin`].
    pub fn new(cron_expr: &str, zone: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            cron: parse_cron(cron_expr)?,
            tz: parse_zone(zone)?,
        })
    }

    /// Parses a group check-in schedule: like [`Schedule::new`], and
    /// refuses a cron that fires more than once an hour, or never.
    pub fn checkin(cron_expr: &str, zone: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            cron: parse_checkin_cron(cron_expr)?,
            tz: parse_zone(zone)?,
        })
    }

    /// What would keep this from being accepted as a check-in schedule
    /// today (for schedules stored before the rule existed).
    pub fn checkin_problem(&self) -> Option<ScheduleError> {
        checkin_problem(&self.cron)
    }

    /// True when the schedule never fires at all.
    pub fn never_fires(&self) -> bool {
        never_fires(&self.cron)
    }

    /// Fire times in `(from, until]`, in UTC, lazily.
    pub fn fires_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.fires_after(from).take_while(move |t| *t <= until)
    }

    /// The first `count` fire times strictly after `from`, in UTC.
    pub fn next_after(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        self.fires_after(from).take(count).collect()
    }

    /// Fire times strictly after `from`, in UTC, in order, each once.
    ///
    /// The cron is walked on the wall clock (naive local times, carried
    /// as UTC values so the `cron` crate sees no gaps or overlaps), and
    /// each wall time is placed with [`Schedule::place`]. Placing is
    /// monotonic (a later wall time never lands earlier), so starting at
    /// `from`'s wall time and dropping anything not after `from` loses
    /// nothing, even when `from` is in the second pass of an overlap.
    fn fires_after(&self, from: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let start = from.with_timezone(&self.tz).naive_local().and_utc();
        let mut wall = self
            .cron
            .after_owned(start)
            .map(|t| t.naive_utc())
            .peekable();
        std::iter::from_fn(move || {
            loop {
                let at = wall.next()?;
                let next = wall.peek().copied();
                if let Some(t) = self.place(at, next)
                    && t > from
                {
                    return Some(t);
                }
            }
        })
    }

    /// The instant a wall-clock fire time stands for: itself; the first
    /// occurrence in an overlap; the end of a gap (see the module docs),
    /// or nothing when a gap's run is merged into another. `next` is the
    /// schedule's following wall time.
    fn place(&self, at: NaiveDateTime, next: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&at) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                let end = gap_end(self.tz, at);
                let hour = chrono::Duration::hours(1);
                if let Some(next) = next {
                    match self.tz.from_local_datetime(&next).earliest() {
                        // A later time in the same gap stands for this one.
                        None if gap_end(self.tz, next) == end => return None,
                        Some(t) if t.with_timezone(&Utc) < end + hour => return None,
                        _ => {}
                    }
                }
                // A run shortly before the gap: the moved one would crowd it.
                let before = (end - hour).with_timezone(&self.tz).naive_local();
                if let Some(first) = self.cron.after(&before.and_utc()).next()
                    && first.naive_utc() < at
                    && self.tz.from_local_datetime(&first.naive_utc()) != LocalResult::None
                {
                    return None;
                }
                Some(end)
            }
        }
    }
}

/// The first instant whose local time in `tz` is at or after `wall`; for a
/// wall time inside a gap, the moment the clocks jump (03:00 local on the
/// American spring-forward day). A binary search over seconds: UTC offsets
/// lie within ±26 hours, so the answer does too, and a zone does not change
/// its offset twice in that span, so local time only moves forward there.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    let span = chrono::Duration::hours(26);
    let (mut lo, mut hi) = (
        (wall - span).and_utc().timestamp(),
        (wall + span).and_utc().timestamp(),
    );
    let local = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .with_timezone(&tz)
            .naive_local()
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid) >= wall {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_default()
}
#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn nine_am_new_york_stays_local_across_dst_start() {
        let s = Schedule::new("0 0 9 * * *", "America/New_York").unwrap();
        let got = s.next_after(utc("2026-03-07T00:00:00Z"), 3);
        let want: Vec<_> = [
            "2026-03-07T14:00:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-09T13:00:00Z",
        ]
        .into_iter()
        .map(utc)
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nine_am_london_stays_local_across_dst_end() {
        let s = Schedule::new("0 0 9 * * *", "Europe/London").unwrap();
        let got = s.next_after(utc("2026-10-24T00:00:00Z"), 3);
        let want: Vec<_> = [
            "2026-10-24T08:00:00Z",
            "2026-10-25T09:00:00Z",
            "2026-10-26T09:00:00Z",
        ]
        .into_iter()
        .map(utc)
        .collect();
        assert_eq!(got, want);
    }

    fn utcs(times: &[&str]) -> Vec<DateTime<Utc>> {
        times.iter().copied().map(utc).collect()
    }

    /// Regression: 02:30 does not exist in New York on 8 March 2026, and
    /// the check-in used to skip that day altogether.
    #[test]
    fn a_time_in_the_spring_gap_moves_to_the_end_of_the_gap_new_york() {
        let s = Schedule::new("0 30 2 * * *", "America/New_York").unwrap();
        assert_eq!(
            s.next_after(utc("2026-03-07T00:00:00Z"), 3),
            utcs(&[
                "2026-03-07T07:30:00Z", // 02:30 EST
                "2026-03-08T07:00:00Z", // 03:00 EDT, the first minute after the gap
                "2026-03-09T06:30:00Z", // 02:30 EDT
            ])
        );
    }

    /// Regression: 01:30 happens twice in New York on 1 November 2026, and
    /// the check-in used to go out twice.
    #[test]
    fn a_time_in_the_autumn_overlap_fires_once_at_its_first_occurrence_new_york() {
        let s = Schedule::new("0 30 1 * * *", "America/New_York").unwrap();
        assert_eq!(
            s.next_after(utc("2026-10-31T00:00:00Z"), 3),
            utcs(&[
                "2026-10-31T05:30:00Z", // 01:30 EDT
                "2026-11-01T05:30:00Z", // 01:30 EDT, the first of two
                "2026-11-02T06:30:00Z", // 01:30 EST
            ])
        );
        // Starting between the two occurrences finds nothing more that day.
        assert_eq!(
            s.next_after(utc("2026-11-01T06:00:00Z"), 1),
            utcs(&["2026-11-02T06:30:00Z"])
        );
    }

    #[test]
    fn gap_and_overlap_in_europe_2026() {
        // Berlin: 02:00 CET -> 03:00 CEST on 29 March, 03:00 CEST -> 02:00 CET on 25 October.
        let berlin = Schedule::new("0 30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            berlin.next_after(utc("2026-03-28T00:00:00Z"), 3),
            utcs(&[
                "2026-03-28T01:30:00Z",
                "2026-03-29T01:00:00Z", // 03:00 CEST
                "2026-03-30T00:30:00Z",
            ])
        );
        assert_eq!(
            berlin.next_after(utc("2026-10-24T00:00:00Z"), 3),
            utcs(&[
                "2026-10-24T00:30:00Z",
                "2026-10-25T00:30:00Z", // 02:30 CEST, not again at 02:30 CET
                "2026-10-26T01:30:00Z",
            ])
        );
        // London: 01:00 GMT -> 02:00 BST on 29 March, 02:00 BST -> 01:00 GMT on 25 October.
        let london = Schedule::new("0 30 1 * * *", "Europe/London").unwrap();
        assert_eq!(
            london.next_after(utc("2026-03-28T00:00:00Z"), 3),
            utcs(&[
                "2026-03-28T01:30:00Z",
                "2026-03-29T01:00:00Z", // 02:00 BST
                "2026-03-30T00:30:00Z",
            ])
        );
        assert_eq!(
            london.next_after(utc("2026-10-24T00:00:00Z"), 3),
            utcs(&[
                "2026-10-24T00:30:00Z",
                "2026-10-25T00:30:00Z", // 01:30 BST only
                "2026-10-26T01:30:00Z",
            ])
        );
    }

    /// Every daily time, in zones with gaps and overlaps of an hour and of
    /// half an hour, in both hemispheres: one run on each local day of 2026.
    #[test]
    fn a_daily_schedule_fires_exactly_once_on_every_local_day() {
        for zone in [
            "America/New_York",
            "Europe/Berlin",
            "Europe/London",
            "Australia/Sydney",
            "Australia/Lord_Howe",
        ] {
            let tz = parse_zone(zone).unwrap();
            for hour in 0..24 {
                for minute in [0, 15, 30, 45] {
                    let cron = format!("0 {minute} {hour} * * *");
                    let s = Schedule::new(&cron, zone).unwrap();
                    let fires: Vec<_> = s
                        .fires_between(utc("2025-12-31T00:00:00Z"), utc("2027-01-02T00:00:00Z"))
                        .map(|t| t.with_timezone(&tz).date_naive())
                        .filter(|d| d.year() == 2026)
                        .collect();
                    assert_eq!(fires.len(), 365, "{zone} {cron}");
                    let days: std::collections::BTreeSet<_> = fires.iter().collect();
                    assert_eq!(days.len(), 365, "{zone} {cron}: a day twice");
                }
            }
        }
    }

    #[test]
    fn an_hourly_schedule_loses_the_missing_hour_and_never_doubles_up() {
        let s = Schedule::new("0 30 * * * *", "America/New_York").unwrap();
        assert_eq!(
            s.fires_between(utc("2026-03-08T05:00:00Z"), utc("2026-03-08T08:00:00Z"))
                .collect::<Vec<_>>(),
            utcs(&[
                "2026-03-08T05:30:00Z", // 00:30 EST
                "2026-03-08T06:30:00Z", // 01:30 EST
                "2026-03-08T07:30:00Z", // 03:30 EDT; 02:30 is not moved onto 03:00
            ])
        );
        assert_eq!(
            s.fires_between(utc("2026-11-01T04:00:00Z"), utc("2026-11-01T08:00:00Z"))
                .collect::<Vec<_>>(),
            utcs(&[
                "2026-11-01T04:30:00Z", // 00:30 EDT
                "2026-11-01T05:30:00Z", // 01:30 EDT, not again at 01:30 EST
                "2026-11-01T07:30:00Z", // 02:30 EST
            ])
        );
        // 01:30 and 02:30: the moved 02:30 would land 30 minutes after 01:30.
        let twice = Schedule::new("0 30 1,2 * * *", "America/New_York").unwrap();
        assert_eq!(
            twice
                .fires_between(utc("2026-03-08T00:00:00Z"), utc("2026-03-09T00:00:00Z"))
                .collect::<Vec<_>>(),
            utcs(&["2026-03-08T06:30:00Z"])
        );
    }

    #[test]
    fn every_second_across_a_gap_has_no_repeats() {
        let s = Schedule::new("* * * * * *", "America/New_York").unwrap();
        assert_eq!(
            s.next_after(utc("2026-03-08T06:59:58Z"), 3),
            utcs(&[
                "2026-03-08T06:59:59Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:00:01Z"
            ])
        );
    }

    /// Regression: `setup checkin * * * * * *` was accepted and sent a
    /// group post and a private message to everyone every second.
    #[test]
    fn checkin_schedules_that_fire_more_than_once_an_hour_are_refused() {
        for (cron, how) in [
            ("* * * * * *", "every second"),
            ("*/10 0 9 * * *", "more than once a minute"),
            ("0 * * * * *", "every minute"),
            ("0 0,30 9 * * *", "more than once an hour"),
            ("0 */5 * * * *", "more than once an hour"),
        ] {
            let err = Schedule::checkin(cron, "UTC").unwrap_err();
            assert_eq!(
                err,
                ScheduleError::TooOften {
                    expr: cron.into(),
                    how_often: how
                }
            );
            let text = err.to_string();
            assert!(
                text.contains("at most once an hour") && text.contains(how),
                "{text}"
            );
        }
        for fine in [
            "0 0 9 * * *",
            "0 0 * * * *",
            "0 30 8,20 * * Mon-Fri",
            "0 0 9 29 2 Mon",
        ] {
            assert!(Schedule::checkin(fine, "UTC").is_ok(), "{fine}");
        }
    }

    /// Regression: `0 0 0 31 2 *` was accepted and silently never sent.
    #[test]
    fn checkin_schedules_that_never_fire_are_refused() {
        for cron in ["0 0 0 31 2 *", "0 0 9 30 2 *", "0 0 9 31 4,6,9,11 *"] {
            let err = Schedule::checkin(cron, "Europe/London").unwrap_err();
            assert_eq!(err, ScheduleError::Never { expr: cron.into() });
            assert!(err.to_string().contains("never comes"), "{err}");
            assert!(Schedule::new(cron, "UTC").unwrap().never_fires());
            assert!(
                Schedule::new(cron, "UTC")
                    .unwrap()
                    .next_after(utc("2026-01-01T00:00:00Z"), 1)
                    .is_empty()
            );
        }
        assert!(!Schedule::new("0 0 9 29 2 *", "UTC").unwrap().never_fires());
    }

    #[test]
    fn five_field_cron_is_refused_with_a_hint() {
        let err = parse_cron("0 9 * * *").unwrap_err().to_string();
        assert!(err.contains("5 fields"), "{err}");
        assert!(err.contains("0 0 9 * * *"), "{err}");
    }

    #[test]
    fn words_are_not_a_cron_expression() {
        assert!(matches!(
            parse_cron("every morning"),
            Err(ScheduleError::Cron { .. })
        ));
    }

    #[test]
    fn zone_names_are_matched_without_regard_to_case() {
        assert_eq!(
            parse_zone("europe/london").unwrap(),
            chrono_tz::Europe::London
        );
        assert_eq!(
            parse_zone(" AMERICA/NEW_YORK ").unwrap(),
            chrono_tz::America::New_York
        );
    }

    #[test]
    fn unknown_zone_is_refused() {
        assert_eq!(
            parse_zone("Mars/Base").unwrap_err(),
            ScheduleError::Zone("Mars/Base".into())
        );
    }
}
