//! Budget periods on the UTC calendar: which period a moment falls in, and when it ends.
//!
//! A period is identified by its start in unix seconds (a number that grows, as the limiter
//! wants); a budget that resets `never` has one period, starting at 0. Weeks start on Monday.
//! Pure integer calendar arithmetic (days ↔ civil dates), no time-zone database.

use portcullis_storage::ResetPeriod;

const DAY_MS: u64 = 86_400_000;

/// The period containing `now_ms` (unix ms): (start in unix seconds, end in unix ms).
pub fn period_of(reset: ResetPeriod, now_ms: u64) -> (u64, u64) {
    let day = now_ms / DAY_MS;
    let (start_day, end_day) = match reset {
        ResetPeriod::Never => return (0, u64::MAX),
        ResetPeriod::Daily => (day, day + 1),
        ResetPeriod::Weekly => {
            // 1970-01-01 was a Thursday: day 0 is weekday 3 counting Monday as 0.
            let weekday = (day + 3) % 7;
            let start = day - weekday;
            (start, start + 7)
        }
        ResetPeriod::Monthly => {
            let (y, m, _) = civil_from_days(day);
            let start = days_from_civil(y, m, 1);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (start, days_from_civil(ny, nm, 1))
        }
    };
    (start_day * 86_400, end_day.saturating_mul(DAY_MS))
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31). Valid for dates after 1970.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// (year ≥ 1970, month, day) → days since 1970-01-01.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-30T21:54:00Z
    const NOW: u64 = 1_796_075_640_000;

    #[test]
    fn civil_dates_round_trip() {
        for day in [0, 59, 60, 365, 10_957, 20_422, 20_787, 40_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(20_422), (2025, 11, 30));
    }

    #[test]
    fn daily_weekly_and_monthly_periods_contain_now() {
        for reset in [
            ResetPeriod::Daily,
            ResetPeriod::Weekly,
            ResetPeriod::Monthly,
        ] {
            let (start, end) = period_of(reset, NOW);
            assert!(start * 1000 <= NOW && NOW < end, "{reset:?}");
        }
        let (start, end) = period_of(ResetPeriod::Daily, NOW);
        assert_eq!(end - start * 1000, DAY_MS);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let (start, end) = period_of(ResetPeriod::Weekly, NOW);
        // 2026-11-30 is a Monday.
        assert_eq!(civil_from_days(start / 86_400), (2026, 11, 30));
        assert_eq!(civil_from_days(end / DAY_MS), (2026, 12, 7));
        let (start, end) = period_of(ResetPeriod::Monthly, NOW);
        assert_eq!(civil_from_days(start / 86_400), (2026, 11, 1));
        assert_eq!(civil_from_days(end / DAY_MS), (2026, 12, 1));
        let december = period_of(ResetPeriod::Monthly, end);
        assert_eq!(civil_from_days(december.1 / DAY_MS), (2027, 1, 1));
    }

    #[test]
    fn a_budget_that_never_resets_has_one_period() {
        assert_eq!(period_of(ResetPeriod::Never, NOW), (0, u64::MAX));
    }
}
