//! Resident memory of this process, which `live` and `soak` sample while they stream.

/// Resident memory of this process, KiB (`VmRSS` of `/proc/self/status`).
pub fn resident_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read() {
        assert!(resident_kib().is_some_and(|k| k > 0));
    }
}
