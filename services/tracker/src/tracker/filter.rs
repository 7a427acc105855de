//! A Kalman filter on a vehicle's progress along its shape (as TransitClock
//! and others do), rather than trusting each fix: the reported speed
//! carries the progress forward between two reports, and each fix pulls it
//! by how much it is to be trusted. How noisy a device's GPS is, is learned
//! from the fixes themselves: the distance of a fix from the line is its
//! error seen from the side, and GPS error is the same along the line as
//! across it.

/// What a fix's error is taken to be before any is seen (σ 15 m).
const INITIAL_NOISE_VAR: f64 = 15.0 * 15.0;
/// Error of carrying the progress forward by the reported speed: a few
/// metres, plus a share of the distance (the speed is of one instant),
/// plus a metre a second (the vehicle may have stopped or started since).
/// Tuned on the accuracy matrix's tuning seed (7), not the reported one.
const CARRY_BASE_M: f64 = 3.0;
const CARRY_SHARE: f64 = 0.15;
const CARRY_PER_S: f64 = 1.0;
/// Weight of a new fix in the learned noise (a moving average of ~20 fixes).
const NOISE_LEARNING: f64 = 0.05;
/// A side offset past this is not noise (a fix off the shape near a
/// junction, a shape a little off the track) and is not learned.
const NOISE_CAP_M: f64 = 60.0;

#[derive(Debug, Clone, Copy)]
pub(super) struct ProgressFilter {
    /// Variance of the filtered progress, m².
    var: f64,
    /// Learned variance of a fix's error, m².
    noise_var: f64,
}

impl Default for ProgressFilter {
    fn default() -> Self {
        ProgressFilter {
            var: INITIAL_NOISE_VAR,
            noise_var: INITIAL_NOISE_VAR,
        }
    }
}

impl ProgressFilter {
    /// The filtered progress after a fix measured at `measured` along the
    /// shape and `off` metres beside it, when the progress was `from` and
    /// the reported speed carries it `carried` metres further.
    pub(super) fn update(
        &mut self,
        from: f64,
        carried: f64,
        dt: f64,
        measured: f64,
        off: f64,
    ) -> f64 {
        if off <= NOISE_CAP_M {
            self.noise_var += NOISE_LEARNING * (off * off - self.noise_var);
        }
        let predicted = from + carried;
        let carry_sd = CARRY_BASE_M + CARRY_SHARE * carried.abs() + CARRY_PER_S * dt;
        let var = self.var + carry_sd * carry_sd;
        let gain = var / (var + self.noise_var);
        self.var = (1.0 - gain) * var;
        predicted + gain * (measured - predicted)
    }

    /// After a jump the filter starts again from the fix.
    pub(super) fn restart(&mut self) {
        self.var = self.noise_var;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic normal-ish noise: the sum of uniform steps.
    fn noise(k: u64) -> f64 {
        let mut x = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut sum = 0.0;
        for _ in 0..12 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            sum += (x >> 11) as f64 / (1u64 << 53) as f64;
        }
        sum - 6.0
    }

    #[test]
    fn a_noisy_device_is_smoothed_and_a_clean_one_followed() {
        for sigma in [25.0, 2.0] {
            let mut f = ProgressFilter::default();
            let (mut filtered, mut raw_err, mut filtered_err) = (0.0, 0.0, 0.0);
            // 8 m/s, a fix every 10 s, for 100 fixes.
            for k in 1..=100u64 {
                let truth = 80.0 * k as f64;
                let measured = truth + sigma * noise(2 * k);
                let off = sigma * noise(2 * k + 1);
                filtered = f.update(filtered, 80.0, 10.0, measured, off.abs());
                if k > 20 {
                    raw_err += (measured - truth).powi(2);
                    filtered_err += (filtered - truth).powi(2);
                }
            }
            if sigma > 10.0 {
                // Smoothed: well under the raw error.
                assert!(filtered_err < 0.6 * raw_err, "{filtered_err} vs {raw_err}");
            } else {
                // Followed: within a few metres.
                assert!(filtered_err / 80.0 < 9.0, "{filtered_err}");
            }
        }
    }
}
