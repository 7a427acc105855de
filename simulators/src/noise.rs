//! The GPS and reporting model: when a device reports (irregular intervals,
//! silent gaps), how wrong its position is (Gaussian error truncated at 4 σ,
//! occasional outliers) and how wrong its clock is.
use rand::Rng;
use rand::rngs::StdRng;

use crate::config::NoiseConfig;
use crate::projection::Xy;

/// The per-device traits drawn once per vehicle.
#[derive(Debug, Clone, Copy)]
pub struct DeviceProfile {
    /// Added to every device timestamp, seconds (0 for a good clock).
    pub clock_offset_s: f64,
    /// The driver never logs in to trips on this vehicle.
    pub never_logs_in: bool,
}

impl DeviceProfile {
    pub fn draw(cfg: &NoiseConfig, rng: &mut StdRng) -> DeviceProfile {
        if !cfg.enabled {
            return DeviceProfile {
                clock_offset_s: 0.0,
                never_logs_in: false,
            };
        }
        let off = if rng.random_bool(cfg.clock_offset_share.clamp(0.0, 1.0)) {
            let mag = rng.random_range(5.0..=cfg.clock_offset_max_s.max(5.0));
            if rng.random_bool(0.5) { mag } else { -mag }
        } else {
            0.0
        };
        DeviceProfile {
            clock_offset_s: off,
            never_logs_in: rng.random_bool(cfg.never_logged_in_share.clamp(0.0, 1.0)),
        }
    }
}

/// Report instants in `[on, off]` and the silent gaps, seconds.
pub fn report_times(
    cfg: &NoiseConfig,
    on: f64,
    off: f64,
    rng: &mut StdRng,
) -> (Vec<f64>, Vec<(f64, f64)>) {
    let (lo, hi) = cfg.interval_s;
    let mut times = Vec::new();
    let mut gaps = Vec::new();
    let mut t = on;
    while t <= off {
        times.push(t);
        if !cfg.enabled {
            t += (lo + hi) / 2.0;
            continue;
        }
        let step = if hi > lo {
            rng.random_range(lo..hi)
        } else {
            lo
        };
        if rng.random_bool(cfg.gap_share.clamp(0.0, 1.0)) {
            let gap = rng.random_range(cfg.gap_s.0..=cfg.gap_s.1.max(cfg.gap_s.0));
            gaps.push((t, t + gap));
            t += gap;
        } else {
            t += step;
        }
    }
    (times, gaps)
}

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The error added to one report, metres, within [`NoiseConfig::max_outlier_error_m`].
pub fn position_error(cfg: &NoiseConfig, rng: &mut StdRng) -> Xy {
    if !cfg.enabled || cfg.sigma_m <= 0.0 && cfg.outlier_share <= 0.0 {
        return Xy { x: 0.0, y: 0.0 };
    }
    if rng.random_bool(cfg.outlier_share.clamp(0.0, 1.0)) {
        let lo = cfg.max_error_m().min(cfg.outlier_max_m);
        let r = rng.random_range(lo..=cfg.outlier_max_m.max(lo));
        let a = rng.random_range(0.0..std::f64::consts::TAU);
        return Xy {
            x: r * a.cos(),
            y: r * a.sin(),
        };
    }
    let max = cfg.max_error_m();
    loop {
        let e = Xy {
            x: normal(rng) * cfg.sigma_m,
            y: normal(rng) * cfg.sigma_m,
        };
        if e.x.hypot(e.y) <= max {
            return e;
        }
    }
}
