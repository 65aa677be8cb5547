//! A small seeded random number generator (SplitMix64) and the distributions the demo generators need.
//!
//! Hand-written rather than taken from a crate so that the stream of numbers for a seed can never
//! change under a dependency upgrade: demo files must stay byte-identical for the same options.

/// SplitMix64 (Steele, Lea and Flood 2014): one 64-bit word of state, full period, good enough
/// statistical quality for synthetic data, and trivially reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function, also used to mix seeds and stream labels together.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream for one purpose, derived from a seed and a path of labels
    /// (for example `[workspace index, STREAM_USERS]`), so that adding draws to one stream never
    /// shifts the numbers of another.
    pub(crate) fn derive(seed: u64, labels: &[u64]) -> Self {
        let mut state = mix64(seed ^ 0x6A09_E667_F3BC_C908);
        for &label in labels {
            state = mix64(state.wrapping_add(GOLDEN_GAMMA).wrapping_add(mix64(label)));
        }
        Rng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `low..=high` (Lemire's multiply-shift; the bias is below 2^-32 for the
    /// small ranges used here). `low > high` returns `low`.
    pub(crate) fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = (high - low) as u64 + 1;
        let offset = ((self.next_u64() as u128 * span as u128) >> 64) as i64;
        low + offset
    }

    /// Uniform in [low, high).
    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub(crate) fn bernoulli(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    /// Weights must be non-negative with a positive sum.
    pub(crate) fn pick_weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.next_f64() * total;
        for (index, weight) in weights.iter().enumerate() {
            if target < *weight {
                return index;
            }
            target -= weight;
        }
        weights.len() - 1
    }

    /// A uniformly chosen element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }

    /// Approximately standard normal: the Irwin–Hall sum of twelve uniforms minus six. Bounded to
    /// ±6, which suits noise terms better than real tails, and uses no transcendental functions.
    pub(crate) fn normalish(&mut self) -> f64 {
        (0..12).map(|_| self.next_f64()).sum::<f64>() - 6.0
    }

    /// Exponentially distributed with the given mean.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.next_f64()).ln()
    }

    /// Poisson distributed with mean `lambda`: Knuth's product method for small means, a rounded
    /// normal approximation above 30.
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            let draw = lambda + lambda.sqrt() * self.normalish();
            return draw.round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut count = 0;
        let mut product = self.next_f64();
        while product > limit {
            count += 1;
            product *= self.next_f64();
        }
        count
    }

    /// `value` rounded down or up at random so that the expectation equals `value`.
    pub(crate) fn stochastic_round(&mut self, value: f64) -> u64 {
        if value <= 0.0 {
            return 0;
        }
        let floor = value.floor();
        let up = self.bernoulli(value - floor);
        floor as u64 + u64::from(up)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_stream_and_labels_separate_streams() {
        let mut first = Rng::derive(42, &[1, 2]);
        let mut second = Rng::derive(42, &[1, 2]);
        let mut other = Rng::derive(42, &[2, 1]);
        let a: Vec<u64> = (0..8).map(|_| first.next_u64()).collect();
        let b: Vec<u64> = (0..8).map(|_| second.next_u64()).collect();
        let c: Vec<u64> = (0..8).map(|_| other.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn distributions_stay_in_range_with_plausible_means() {
        let mut rng = Rng::derive(7, &[]);
        let draws = 20_000;
        let mut f_sum = 0.0;
        let mut poisson_sum = 0;
        let mut heads = 0;
        for _ in 0..draws {
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
            f_sum += f;
            let r = rng.range(3, 9);
            assert!((3..=9).contains(&r));
            poisson_sum += rng.poisson(4.0);
            heads += u32::from(rng.bernoulli(0.25));
            assert!(rng.pick_weighted(&[0.0, 1.0, 0.0]) == 1);
        }
        assert!((f_sum / draws as f64 - 0.5).abs() < 0.01);
        assert!((poisson_sum as f64 / draws as f64 - 4.0).abs() < 0.1);
        assert!((f64::from(heads) / draws as f64 - 0.25).abs() < 0.02);
    }
}
