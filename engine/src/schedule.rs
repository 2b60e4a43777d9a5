//! Calendar decisions of the cron: when a bot is kept warm, and when its daily P&L summary is due.
//!
//! The cron runs every minute. A bot with `trading_hours` is pinged (kept warm, so the first
//! TradingView alert of the session does not meet a cold Durable Object) only inside its windows
//! and during a short lead before each opens; outside them it only gets a maintenance tick every
//! [`MAINTENANCE_EVERY_MIN`] minutes (reconciliation, audit outbox, loss checks, the daily
//! summary). A bot without `trading_hours` is pinged every minute. The daily summary reports the
//! previous UTC day once: the day reported is remembered by the bot in the same commit as the
//! message, so a repeated or concurrent tick never sends a second summary for one day.
//!
//! Everything here is pure: times come in as `ms` arguments (the cron passes its scheduled time).
//!
//! | call | answers |
//! |---|---|
//! | [`TradingHours::is_open`] | whether `ms` falls in a window |
//! | [`cron_tick`] | [`CronTick::KeepAlive`], [`CronTick::Maintenance`] or [`CronTick::Skip`] |
//! | [`summary_due`] | the UTC day whose summary must be sent now, if any |

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// Outside trading hours a bot is still ticked every this many minutes (maintenance).
pub const MAINTENANCE_EVERY_MIN: i64 = 15;
/// Keep-alive starts this long before a window opens, so the bot is warm at the open.
pub const WARMUP_MS: i64 = 5 * MINUTE_MS;
/// Most windows a bot may list.
pub const MAX_WINDOWS: usize = 14;

/// Day of the week (UTC), as written in a config: `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    fn index(self) -> i64 {
        self as i64
    }

    /// The UTC weekday of day number `day` (days since 1970-01-01, a Thursday).
    pub fn of_day(day: i64) -> Self {
        const ALL: [Weekday; 7] = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        ALL[(day + 3).rem_euclid(7) as usize]
    }
}

/// One trading window: on each of `days`, from `from` to `to` (UTC, `HH:MM`). A window whose
/// `to` is earlier than its `from` runs past midnight into the next day; `to` may be `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingWindow {
    /// Days the window opens on.
    pub days: Vec<Weekday>,
    /// Opening time, `HH:MM` UTC (`00:00` … `23:59`).
    pub from: String,
    /// Closing time, `HH:MM` UTC (`00:01` … `24:00`), exclusive.
    pub to: String,
}

/// A bot's trading hours: the windows in which the cron keeps it warm (config `trading_hours`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TradingHours(pub Vec<TradingWindow>);

/// Parses `HH:MM` into minutes of the day; `24:00` only when `allow_24` (a closing time).
///
/// # Errors
/// A reason naming what is wrong.
pub fn parse_hhmm(s: &str, allow_24: bool) -> Result<i64, String> {
    let bytes = s.as_bytes();
    let well_formed = bytes.len() == 5
        && bytes[2] == b':'
        && [0, 1, 3, 4].iter().all(|&i| bytes[i].is_ascii_digit());
    if !well_formed {
        return Err(format!("{s:?} must be HH:MM"));
    }
    let h = i64::from(bytes[0] - b'0') * 10 + i64::from(bytes[1] - b'0');
    let m = i64::from(bytes[3] - b'0') * 10 + i64::from(bytes[4] - b'0');
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
        return Err(format!("{s:?} is not a time of day"));
    }
    Ok(h * 60 + m)
}

impl TradingHours {
    /// Every problem, as (field path relative to `trading_hours`, reason).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.0.is_empty() {
            out.push((String::new(), "must list at least one window".into()));
        }
        if self.0.len() > MAX_WINDOWS {
            out.push((String::new(), format!("at most {MAX_WINDOWS} windows")));
        }
        for (i, w) in self.0.iter().enumerate() {
            if w.days.is_empty() {
                out.push((format!("[{i}].days"), "must list at least one day".into()));
            }
            let mut seen = w.days.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != w.days.len() {
                out.push((format!("[{i}].days"), "lists a day twice".into()));
            }
            let from = parse_hhmm(&w.from, false)
                .map_err(|e| out.push((format!("[{i}].from"), e)))
                .ok();
            let to = parse_hhmm(&w.to, true)
                .map_err(|e| out.push((format!("[{i}].to"), e)))
                .ok();
            if let (Some(f), Some(t)) = (from, to) {
                if f == t {
                    out.push((
                        format!("[{i}].to"),
                        "must differ from `from` (a whole day is 00:00 to 24:00)".into(),
                    ));
                }
            }
        }
        out
    }

    /// Whether `ms` (UTC epoch ms) is inside a window. Malformed windows never match.
    pub fn is_open(&self, ms: i64) -> bool {
        let day = ms.div_euclid(DAY_MS);
        let minute = ms.rem_euclid(DAY_MS) / MINUTE_MS;
        let today = Weekday::of_day(day).index();
        let yesterday = Weekday::of_day(day - 1).index();
        self.0.iter().any(|w| {
            let (Ok(from), Ok(to)) = (parse_hhmm(&w.from, false), parse_hhmm(&w.to, true)) else {
                return false;
            };
            let on = |d: i64| w.days.iter().any(|x| x.index() == d);
            if from < to {
                on(today) && minute >= from && minute < to
            } else {
                // Overnight: the evening part on its day, the morning part on the next day.
                (on(today) && minute >= from) || (on(yesterday) && minute < to)
            }
        })
    }
}

/// What the cron does for one bot at one scheduled time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CronTick {
    /// Inside trading hours (or none configured): tick, which keeps the bot warm.
    KeepAlive,
    /// Outside trading hours, on the maintenance cadence: tick anyway.
    Maintenance,
    /// Outside trading hours: leave the bot alone.
    Skip,
}

/// Decides the cron's action for a bot at `scheduled_ms`.
pub fn cron_tick(hours: Option<&TradingHours>, scheduled_ms: i64) -> CronTick {
    let Some(hours) = hours else {
        return CronTick::KeepAlive;
    };
    if hours.is_open(scheduled_ms) || hours.is_open(scheduled_ms + WARMUP_MS) {
        return CronTick::KeepAlive;
    }
    let minute = scheduled_ms.rem_euclid(DAY_MS) / MINUTE_MS;
    if minute % MAINTENANCE_EVERY_MIN == 0 {
        CronTick::Maintenance
    } else {
        CronTick::Skip
    }
}

/// UTC day number (days since 1970-01-01) of `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a UTC day number (proleptic Gregorian).
pub fn date_of_day(day: i64) -> String {
    crate::calendar::date_string(day)
}

/// The UTC day whose summary is due at `now_ms`: the previous day, unless it was already
/// reported (`last_reported`) or ended before the bot existed (`registered_ms`).
pub fn summary_due(last_reported: Option<i64>, registered_ms: i64, now_ms: i64) -> Option<i64> {
    let report = day_of(now_ms) - 1;
    if report < day_of(registered_ms) || last_reported.is_some_and(|d| d >= report) {
        return None;
    }
    Some(report)
}

/// The figures of one day's summary (quote currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    /// Realized P&L booked that day.
    pub realized: Decimal,
    /// Fees in quote.
    pub fees: Decimal,
    /// Funding (positive received).
    pub funding: Decimal,
    /// Fills booked that day.
    pub fills: u64,
    /// Instruments with an open position now.
    pub open_positions: usize,
}

/// The one-line text of a daily summary.
pub fn summary_text(date: &str, quote: &str, f: &DayFigures) -> String {
    let net = f.realized + f.funding - f.fees;
    format!(
        "{date}: net {} {quote} (realized {}, fees {}, funding {}); {} fill(s); {} open position(s)",
        net.normalize(),
        f.realized.normalize(),
        f.fees.normalize(),
        f.funding.normalize(),
        f.fills,
        f.open_positions
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// 2026-11-23 is a Monday.
    const MON: i64 = 20_780 * DAY_MS;

    fn at(day_offset: i64, hh: i64, mm: i64) -> i64 {
        MON + day_offset * DAY_MS + hh * 3_600_000 + mm * MINUTE_MS
    }

    fn hours(v: serde_json::Value) -> TradingHours {
        match serde_json::from_value(v) {
            Ok(h) => h,
            Err(e) => panic!("bad fixture: {e}"),
        }
    }

    #[test]
    fn calendar() {
        assert_eq!(date_of_day(day_of(MON)), "2026-11-23");
        assert_eq!(Weekday::of_day(day_of(MON)), Weekday::Mon);
        assert_eq!(Weekday::of_day(0), Weekday::Thu);
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(day_of(at(7, 0, 0))), "2026-11-30");
        assert_eq!(date_of_day(-1), "1969-12-31");
        assert_eq!(date_of_day(11_016), "2000-02-29");
    }

    #[test]
    fn windows() {
        let week = hours(serde_json::json!([
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:30"},
            {"days": ["sun"], "from": "22:00", "to": "02:00"}
        ]));
        let cases = [
            ("mon 07:59", at(0, 7, 59), false),
            ("mon 08:00", at(0, 8, 0), true),
            ("mon 17:29", at(0, 17, 29), true),
            ("mon 17:30 (exclusive end)", at(0, 17, 30), false),
            ("sat 10:00", at(5, 10, 0), false),
            ("sun 21:59", at(6, 21, 59), false),
            ("sun 23:00", at(6, 23, 0), true),
            ("mon 01:59 (sunday's overnight)", at(7, 1, 59), true),
            ("mon 02:00", at(7, 2, 0), false),
            ("tue 01:00 (monday has no overnight)", at(1, 1, 0), false),
        ];
        for (name, ms, open) in cases {
            assert_eq!(week.is_open(ms), open, "{name}");
        }
        let all_day = hours(serde_json::json!([{"days": ["sat"], "from": "00:00", "to": "24:00"}]));
        assert!(all_day.problems().is_empty());
        assert!(all_day.is_open(at(5, 0, 0)) && all_day.is_open(at(5, 23, 59)));
        assert!(!all_day.is_open(at(6, 0, 0)) && !all_day.is_open(at(4, 23, 59)));
        let late = hours(serde_json::json!([{"days": ["sat"], "from": "12:00", "to": "24:00"}]));
        assert!(late.problems().is_empty());
        assert!(late.is_open(at(5, 23, 59)));
        assert!(!late.is_open(at(6, 0, 0)));
    }

    #[test]
    fn validation() {
        let cases = [
            (serde_json::json!([]), vec![""]),
            (
                serde_json::json!([{"days": [], "from": "08:00", "to": "09:00"}]),
                vec!["[0].days"],
            ),
            (
                serde_json::json!([{"days": ["mon", "mon"], "from": "08:00", "to": "09:00"}]),
                vec!["[0].days"],
            ),
            (
                serde_json::json!([{"days": ["mon"], "from": "8:00", "to": "09:00"}]),
                vec!["[0].from"],
            ),
            (
                serde_json::json!([{"days": ["mon"], "from": "24:00", "to": "09:00"}]),
                vec!["[0].from"],
            ),
            (
                serde_json::json!([{"days": ["mon"], "from": "08:60", "to": "25:00"}]),
                vec!["[0].from", "[0].to"],
            ),
            (
                serde_json::json!([{"days": ["mon"], "from": "08:00", "to": "08:00"}]),
                vec!["[0].to"],
            ),
            (
                serde_json::json!([{"days": ["mon"], "from": "08:00", "to": "24:00"}]),
                vec![],
            ),
        ];
        for (v, fields) in cases {
            let got: Vec<String> = hours(v.clone())
                .problems()
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(got, fields, "{v}");
        }
        let unknown = serde_json::from_value::<TradingHours>(
            serde_json::json!([{"days": ["mon"], "from": "08:00", "to": "09:00", "tz": "CET"}]),
        );
        assert!(unknown.is_err());
        let bad_day = serde_json::from_value::<TradingHours>(
            serde_json::json!([{"days": ["monday"], "from": "08:00", "to": "09:00"}]),
        );
        assert!(bad_day.is_err());
    }

    #[test]
    fn cron_decisions() {
        let h = hours(serde_json::json!([{"days": ["mon"], "from": "08:00", "to": "09:00"}]));
        let cases = [
            ("no hours: always", None, at(5, 3, 7), CronTick::KeepAlive),
            ("inside", Some(&h), at(0, 8, 30), CronTick::KeepAlive),
            ("warm-up lead", Some(&h), at(0, 7, 55), CronTick::KeepAlive),
            ("before the lead", Some(&h), at(0, 7, 54), CronTick::Skip),
            (
                "outside, quarter hour",
                Some(&h),
                at(0, 10, 45),
                CronTick::Maintenance,
            ),
            (
                "outside, midnight",
                Some(&h),
                at(2, 0, 0),
                CronTick::Maintenance,
            ),
            ("outside", Some(&h), at(0, 10, 7), CronTick::Skip),
            ("after close", Some(&h), at(0, 9, 1), CronTick::Skip),
        ];
        for (name, hours, ms, want) in cases {
            assert_eq!(cron_tick(hours, ms), want, "{name}");
        }
    }

    #[test]
    fn summaries_once_per_day() {
        let registered = at(0, 10, 0);
        let today = day_of(MON);
        let cases = [
            ("same day as registration", None, at(0, 23, 0), None),
            (
                "next day: the registration day",
                None,
                at(1, 0, 0),
                Some(today),
            ),
            ("already reported", Some(today), at(1, 0, 15), None),
            ("a day later", Some(today), at(2, 0, 0), Some(today + 1)),
            (
                "after a gap only the last day",
                Some(today),
                at(5, 9, 0),
                Some(today + 4),
            ),
        ];
        for (name, last, now, want) in cases {
            assert_eq!(summary_due(last, registered, now), want, "{name}");
        }
    }

    #[test]
    fn summary_line() {
        let f = DayFigures {
            realized: dec!(12.50),
            fees: dec!(0.30),
            funding: dec!(-0.2),
            fills: 4,
            open_positions: 1,
        };
        assert_eq!(
            summary_text("2026-11-23", "USDT", &f),
            "2026-11-23: net 12 USDT (realized 12.5, fees 0.3, funding -0.2); 4 fill(s); 1 open position(s)"
        );
    }
}
