//! EKS's Kubernetes release calendar: when each minor version leaves
//! standard support and extended support (docs.aws.amazon.com/eks,
//! "Kubernetes version lifecycle"; checked 2026-11).

use super::Date;

/// (minor version, end of standard support, end of extended support).
pub const CALENDAR: &[(&str, Date, Date)] = &[
    ("1.23", Date::ymd(2023, 10, 11), Date::ymd(2024, 10, 11)),
    ("1.24", Date::ymd(2024, 1, 31), Date::ymd(2025, 1, 31)),
    ("1.25", Date::ymd(2024, 5, 1), Date::ymd(2025, 5, 1)),
    ("1.26", Date::ymd(2024, 6, 11), Date::ymd(2025, 6, 11)),
    ("1.27", Date::ymd(2024, 7, 24), Date::ymd(2025, 7, 24)),
    ("1.28", Date::ymd(2024, 11, 26), Date::ymd(2025, 11, 26)),
    ("1.29", Date::ymd(2025, 3, 23), Date::ymd(2026, 3, 23)),
    ("1.30", Date::ymd(2025, 7, 23), Date::ymd(2026, 7, 23)),
    ("1.31", Date::ymd(2025, 11, 26), Date::ymd(2026, 11, 26)),
    ("1.32", Date::ymd(2026, 3, 23), Date::ymd(2027, 3, 23)),
    ("1.33", Date::ymd(2026, 7, 29), Date::ymd(2027, 7, 29)),
    ("1.34", Date::ymd(2026, 12, 2), Date::ymd(2027, 12, 2)),
    ("1.35", Date::ymd(2027, 3, 27), Date::ymd(2028, 3, 27)),
];

/// Where a version stands on a day.
#[derive(Debug, PartialEq, Eq)]
pub enum Support {
    Standard,
    /// Past standard support, in extended support until the date.
    Extended {
        standard_ended: Date,
        until: Date,
    },
    /// Past every support window (older than the calendar, or its
    /// extended support has ended).
    Ended {
        ended: Option<Date>,
    },
    /// Newer than the calendar knows.
    Unknown,
}

fn minor(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.split('.').next()?.parse().ok()?))
}

pub fn support(version: &str, today: Date) -> Support {
    let Some(v) = minor(version) else {
        return Support::Unknown;
    };
    if let Some((_, standard, extended)) = CALENDAR.iter().find(|(c, ..)| minor(c) == Some(v)) {
        return if today <= *standard {
            Support::Standard
        } else if today <= *extended {
            Support::Extended {
                standard_ended: *standard,
                until: *extended,
            }
        } else {
            Support::Ended {
                ended: Some(*extended),
            }
        };
    }
    let oldest = CALENDAR.first().and_then(|(c, ..)| minor(c));
    match oldest {
        Some(o) if v < o => Support::Ended { ended: None },
        _ => Support::Unknown,
    }
}

/// Whether a cluster of a version pays EKS extended support on a day: in
/// extended support, or past it (EKS then upgrades it to the oldest
/// version in extended support, which is billed as such).
pub fn extended(version: &str, today: Date) -> bool {
    matches!(
        support(version, today),
        Support::Extended { .. } | Support::Ended { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_windows() {
        let d = Date::ymd(2026, 11, 21);
        assert_eq!(support("1.35", d), Support::Standard);
        assert_eq!(support("1.34", d), Support::Standard);
        assert_eq!(
            support("1.33", d),
            Support::Extended {
                standard_ended: Date::ymd(2026, 7, 29),
                until: Date::ymd(2027, 7, 29)
            }
        );
        assert_eq!(
            support("1.29", d),
            Support::Ended {
                ended: Some(Date::ymd(2026, 3, 23))
            }
        );
        assert_eq!(support("1.21", d), Support::Ended { ended: None });
        assert_eq!(support("1.40", d), Support::Unknown);
        assert_ne!(support("1.34", Date::ymd(2026, 12, 3)), Support::Standard);
    }
}
