//! Benchmark harness shared by the `bench-*` binaries: see BENCHMARKS.md.
pub mod accuracy;
pub mod cpu;
pub mod dbload;
pub mod fleet;
pub mod matrix;
pub mod publish;
pub mod sink;
pub mod systems;

/// The value at quantile `q` (0..=1) of sorted `values`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The median of several runs.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    quantile(&values, 0.5)
}

/// (VmRSS, VmHWM) of a process in kB, from /proc/<pid>/status.
pub fn status_kb(pid: u32) -> anyhow::Result<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let rss = field("VmRSS:").ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?;
    let hwm = field("VmHWM:").ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))?;
    Ok((rss, hwm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 51.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![3.0, f64::NAN, 1.0]), 3.0);
    }
}
