//! Unit tests of the writer's helpers: UIDs, Decimal Strings, dates and text checks.

use super::check::check_text;
use super::date::dicom_date_time;
use super::elements::ds;
use super::*;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn uids_are_valid_and_unique() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        let u = new_uid();
        assert!(u.starts_with("2.25."), "{u}");
        assert!(is_valid_uid(&u), "{u}");
        assert!(seen.insert(u));
    }
    assert!(is_valid_uid(IMPLEMENTATION_CLASS_UID));
    assert!(!is_valid_uid("1.02.3"));
    assert!(!is_valid_uid("1..3"));
    assert!(!is_valid_uid("1.2.a"));
    assert!(!is_valid_uid(""));
}

#[test]
fn decimal_strings_fit() {
    assert_eq!(ds(40.0), "40");
    assert_eq!(ds(33.333), "33.333");
    let s = ds(1000.0 / 30.0);
    assert!(s.len() <= 16 && s.starts_with("33.3333333"), "{s}");
    assert!((s.parse::<f64>().unwrap() - 1000.0 / 30.0).abs() < 1e-9);
    assert_eq!(ds(76.0), "76");
}

#[test]
fn dates() {
    let day = |days: u64| dicom_date_time(UNIX_EPOCH + Duration::from_secs(days * 86_400));
    assert_eq!(day(0), ("19700101".into(), "000000.000000".into()));
    assert_eq!(day(19_723).0, "20240101");
    assert_eq!(day(19_782).0, "20240229");
    let (d, t) = dicom_date_time(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
    assert_eq!(d, "20231114");
    assert_eq!(t, "221320.123000");
    // Microseconds are cut, not rounded.
    let (_, t) = dicom_date_time(UNIX_EPOCH + Duration::from_nanos(1_999_999_999));
    assert_eq!(t, "000001.999999");
}

#[test]
fn text_checks() {
    assert!(check_text("x", "a^b", 64).is_ok());
    assert!(check_text("x", "a\\b", 64).is_err());
    assert!(check_text("x", "a\nb", 64).is_err());
    assert!(check_text("x", &"a".repeat(17), 16).is_err());
}
