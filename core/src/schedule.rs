//! Schedules: a 6-field cron expression (seconds first, as the `cron` crate
//! parses it) in an IANA time zone, turned into UTC fire times.
//!
//! Times are computed in the zone, so "09:00 every day" stays 09:00 local
//! across daylight-saving changes.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

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

impl Schedule {
    /// Parses both parts.
    pub fn new(cron_expr: &str, zone: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            cron: parse_cron(cron_expr)?,
            tz: parse_zone(zone)?,
        })
    }

    /// Fire times in `(from, until]`, in UTC, lazily.
    pub fn fires_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let local = from.with_timezone(&self.tz);
        self.cron
            .after_owned(local)
            .map(|t| t.with_timezone(&Utc))
            .take_while(move |t| *t <= until)
    }

    /// The first `count` fire times strictly after `from`, in UTC.
    pub fn next_after(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let local = from.with_timezone(&self.tz);
        self.cron
            .after(&local)
            .take(count)
            .map(|t| t.with_timezone(&Utc))
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
