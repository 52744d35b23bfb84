//! `mood [days]`: a member's own check-in history, as a short summary and
//! a PNG chart, shown only to them. Gaps are just gaps: the summary never
//! counts missed days, and a streak is weeks with any check-in at all.

use chrono::{Datelike, NaiveDate};
use plotters::prelude::*;

use crate::model::Checkin;

/// Days shown when none are asked for.
pub const DEFAULT_DAYS: i64 = 14;
/// The longest history shown.
pub const MAX_DAYS: i64 = 90;

/// The `days` argument of `mood` and `stats`: `default` when empty, else
/// a number from 1 to [`MAX_DAYS`]; the kind answer to anything else.
pub fn parse_days(args: &str, default: i64, command: &str, p: &str) -> Result<i64, String> {
    match args.trim() {
        "" => Ok(default),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                format!("{p}{command} takes a number of days from 1 to {MAX_DAYS}, e.g. {p}{command} 30.")
            }),
    }
}

/// The chart's size in pixels.
const SIZE: (u32, u32) = (640, 320);

/// A few plain sentences about the check-ins from `from` to `to`.
pub fn summary(checkins: &[Checkin], from: NaiveDate, to: NaiveDate, p: &str) -> String {
    let days = (to - from).num_days() + 1;
    let shown: Vec<&Checkin> = checkins
        .iter()
        .filter(|c| c.local_date >= from && c.local_date <= to)
        .collect();
    let Some(last) = shown.last() else {
        return format!(
            "You have no check-ins in the last {days} days, and that's okay. {p}checkin starts one \
             whenever you like."
        );
    };
    let moods: Vec<i64> = shown.iter().map(|c| c.mood).collect();
    let average = moods.iter().sum::<i64>() as f64 / moods.len() as f64;
    let low = shown.iter().min_by_key(|c| c.mood).copied().unwrap_or(last);
    let high = shown.iter().max_by_key(|c| c.mood).copied().unwrap_or(last);
    let day = |d: NaiveDate| d.format("%-d %b").to_string();
    let mut out = format!(
        "Your mood over the last {days} days ({} to {}): {} check-in{}, average {average:.1} \
         out of 10, lowest {} ({}), highest {} ({}). Most recent: {} on {}.",
        day(from),
        day(to),
        shown.len(),
        if shown.len() == 1 { "" } else { "s" },
        low.mood,
        day(low.local_date),
        high.mood,
        day(high.local_date),
        last.mood,
        last.local_date.format("%A %-d %B"),
    );
    if shown.len() >= 4 {
        let half = shown.len() / 2;
        let mean = |s: &[&Checkin]| s.iter().map(|c| c.mood).sum::<i64>() as f64 / s.len() as f64;
        let (early, late) = (mean(&shown[..half]), mean(&shown[half..]));
        out.push_str(if late >= early + 1.0 {
            " Lately it has been a bit higher than before."
        } else if late <= early - 1.0 {
            " Lately it has been a bit lower than before; be gentle with yourself, and the group \
             is here if you want to talk."
        } else {
            " It has been fairly steady."
        });
    }
    let weeks = weeks_running(checkins, to);
    if weeks >= 2 {
        out.push_str(&format!(" You've checked in {weeks} weeks running."));
    }
    let by_day: Vec<String> = shown
        .iter()
        .map(|c| format!("{} {}", day(c.local_date), c.mood))
        .collect();
    out.push_str(&format!("\nDay by day: {}.", by_day.join(", ")));
    out.push_str("\nOnly you can see this.");
    out
}

/// Weeks in a row, up to the week of `today`, with at least one check-in
/// (a week without one so far this week does not break the run yet).
pub fn weeks_running(checkins: &[Checkin], today: NaiveDate) -> usize {
    let week = |d: NaiveDate| {
        let w = d.iso_week();
        (w.year(), w.week())
    };
    let weeks: std::collections::HashSet<(i32, u32)> =
        checkins.iter().map(|c| week(c.local_date)).collect();
    let mut day = today;
    if !weeks.contains(&week(day)) {
        day -= chrono::Duration::days(7);
    }
    let mut run = 0;
    while weeks.contains(&week(day)) {
        run += 1;
        day -= chrono::Duration::days(7);
    }
    run
}

/// The chart: one point a check-in, joined by a line, on a 0 to 10 scale
/// with faint lines at 0, 5 and 10. No text, so no fonts are needed; the
/// summary says the numbers.
pub fn chart_png(checkins: &[Checkin], from: NaiveDate, to: NaiveDate) -> Result<Vec<u8>, String> {
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let days = (to - from).num_days().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .build_cartesian_2d(0..days, 0..10)
            .map_err(|e| e.to_string())?;
        let faint = RGBColor(220, 220, 220);
        for level in [0, 5, 10] {
            chart
                .draw_series(LineSeries::new(
                    [(0, level), (days, level)],
                    faint.stroke_width(1),
                ))
                .map_err(|e| e.to_string())?;
        }
        let points: Vec<(i64, i32)> = checkins
            .iter()
            .filter(|c| c.local_date >= from && c.local_date <= to)
            .map(|c| ((c.local_date - from).num_days(), c.mood.clamp(0, 10) as i32))
            .collect();
        let calm = RGBColor(52, 101, 164);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                calm.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, calm.filled())))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let image = image::RgbImage::from_raw(w, h, pixels).ok_or("chart buffer has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png.into_inner())
}

/// Totals are shown only when at least this many members answered, so no
/// one can be picked out.
pub const MIN_FOR_TOTALS: usize = 5;

/// Anonymous group totals over `days` days from `(member, mood, sleep)`
/// answers, or a plain refusal when fewer than [`MIN_FOR_TOTALS`]
/// members answered. `opted_in` is how many members get check-ins now.
pub fn group_totals(
    answers: &[(crate::ids::MemberId, i64, Option<i64>)],
    opted_in: usize,
    days: i64,
) -> String {
    let members: std::collections::HashSet<_> = answers.iter().map(|(m, _, _)| *m).collect();
    if members.len() < MIN_FOR_TOTALS {
        return format!(
            "Fewer than {MIN_FOR_TOTALS} members checked in over the last {days} days, so there \
             are no totals to show: with so few, answers could be told apart. {}",
            // Even how many chose check-ins is a count about people: only
            // from five up, like every other total.
            if opted_in >= MIN_FOR_TOTALS {
                format!("({opted_in} members currently get check-ins.)")
            } else {
                format!("(Fewer than {MIN_FOR_TOTALS} members get check-ins.)")
            }
        );
    }
    let moods: Vec<i64> = answers.iter().map(|(_, m, _)| *m).collect();
    let average = moods.iter().sum::<i64>() as f64 / moods.len() as f64;
    let bucket = |lo: i64, hi: i64| moods.iter().filter(|m| (lo..=hi).contains(*m)).count();
    let sleeps: Vec<i64> = answers.iter().filter_map(|(_, _, s)| *s).collect();
    let mut out = format!(
        "Group check-ins over the last {days} days (anonymous): {} members answered, {} \
         check-ins in all; {opted_in} member{} currently get check-ins.\n\
         Mood: average {average:.1} out of 10. 0-2: {}, 3-4: {}, 5-6: {}, 7-8: {}, 9-10: {}.",
        members.len(),
        answers.len(),
        if opted_in == 1 { "" } else { "s" },
        bucket(0, 2),
        bucket(3, 4),
        bucket(5, 6),
        bucket(7, 8),
        bucket(9, 10),
    );
    if !sleeps.is_empty() {
        out.push_str(&format!(
            " Sleep: average {:.1} out of 10 ({} answers).",
            sleeps.iter().sum::<i64>() as f64 / sleeps.len() as f64,
            sleeps.len()
        ));
    }
    out.push_str("\nNo one's answers are shown, only totals.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(date: &str, mood: i64) -> Checkin {
        Checkin::answered(NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(), mood)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn summary_says_the_numbers_plainly() {
        let history = [
            on("2026-06-01", 3),
            on("2026-06-03", 4),
            on("2026-06-08", 6),
            on("2026-06-10", 7),
        ];
        let text = summary(&history, d("2026-05-28"), d("2026-06-10"), "/");
        assert!(
            text.starts_with(
                "Your mood over the last 14 days (28 May to 10 Jun): 4 check-ins, average 5.0 \
                 out of 10, lowest 3 (1 Jun), highest 7 (10 Jun). Most recent: 7 on Wednesday \
                 10 June."
            ),
            "{text}"
        );
        assert!(text.contains("a bit higher than before"), "{text}");
        assert!(text.contains("2 weeks running"), "{text}");
        assert!(
            text.contains("Day by day: 1 Jun 3, 3 Jun 4, 8 Jun 6, 10 Jun 7."),
            "{text}"
        );
    }

    #[test]
    fn totals_need_five_members_and_show_no_one() {
        let m = crate::ids::MemberId;
        let four: Vec<_> = (0..8).map(|i| (m(i % 4), 5, None)).collect();
        let refused = group_totals(&four, 6, 7);
        assert!(refused.starts_with("Fewer than 5 members"), "{refused}");
        let five: Vec<_> = (0..10).map(|i| (m(i % 5), i % 11, Some(6))).collect();
        let totals = group_totals(&five, 7, 7);
        assert!(
            totals.contains("5 members answered, 10 check-ins")
                && totals.contains("average 4.5")
                && totals.contains("0-2: 3, 3-4: 2, 5-6: 2, 7-8: 2, 9-10: 1")
                && totals.contains("Sleep: average 6.0"),
            "{totals}"
        );
    }

    #[test]
    fn no_history_is_not_a_failure() {
        let text = summary(&[], d("2026-06-01"), d("2026-06-14"), "!ipt ");
        assert!(
            text.contains("that's okay") && text.contains("!ipt checkin"),
            "{text}"
        );
    }

    #[test]
    fn streaks_count_weeks_with_any_checkin() {
        // Weeks of 25 May, 1 Jun and 8 Jun; one check-in each is enough.
        let history = [
            on("2026-05-25", 5),
            on("2026-06-06", 5),
            on("2026-06-08", 5),
        ];
        assert_eq!(weeks_running(&history, d("2026-06-10")), 3);
        // Nothing yet this week does not break the run.
        assert_eq!(weeks_running(&history, d("2026-06-15")), 3);
        assert_eq!(weeks_running(&history, d("2026-06-22")), 0);
    }

    #[test]
    fn chart_is_a_png_with_the_points_drawn() {
        let history = [on("2026-06-01", 2), on("2026-06-05", 9)];
        let png = chart_png(&history, d("2026-06-01"), d("2026-06-14")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), SIZE);
        let blue = image.pixels().filter(|p| p.0 == [52, 101, 164]).count();
        assert!(blue > 100, "{blue} line pixels");
    }
}
