//! The statistics `explain` uses to say whether one segment moved beyond chance: an exact
//! test that two Poisson counts share one rate, and Holm's correction over many such tests.
//!
//! A segment's count on the period, x, and its counts on the k baseline ranges (each as long
//! as the period), summing to y: if all k + 1 ranges share one rate, then given n = x + y,
//! x is Binomial(n, 1 / (k + 1)), whatever that rate is. The test needs no estimate of the
//! rate and allows for the baseline's own noise. Two-sided p-values double the tail on x's
//! side (at most 1). Deterministic: the same counts give the same bits.

/// The two-sided p-value of `x` successes in `n` trials of probability `p` (0 < p < 1): twice
/// the smaller tail, P(X ≤ x) when x is at or below the mean, else P(X ≥ x), at most 1.
pub(super) fn binomial_two_sided(n: u64, x: u64, p: f64) -> f64 {
    if n == 0 || x > n {
        return 1.0;
    }
    let q = 1.0 - p;
    let (nf, xf) = (n as f64, x as f64);
    let ln_term = |k: f64| {
        ln_gamma(nf + 1.0) - ln_gamma(k + 1.0) - ln_gamma(nf - k + 1.0)
            + k * p.ln()
            + (nf - k) * q.ln()
    };
    // Walk from x away from the mean: the terms shrink, and the walk stops once they no
    // longer change the sum.
    let mut term = ln_term(xf).exp();
    let mut sum = term;
    if xf <= nf * p {
        let mut k = xf;
        while k > 0.0 && term > sum * 1e-17 {
            term *= k / (nf - k + 1.0) * (q / p);
            sum += term;
            k -= 1.0;
        }
    } else {
        let mut k = xf;
        while k < nf && term > sum * 1e-17 {
            term *= (nf - k) / (k + 1.0) * (p / q);
            sum += term;
            k += 1.0;
        }
    }
    (2.0 * sum).min(1.0)
}

/// Holm's step-down adjustment of `p` (any order): the adjusted p-value of the i-th smallest
/// of m is the largest (m − j)·p₍ⱼ₎ over j ≤ i, at most 1. Rejecting those at or below α keeps
/// the chance of any false rejection among the m at or below α.
pub(super) fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]).then(a.cmp(b)));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (j, i) in order.into_iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; relative error near 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut factorial = 1.0_f64;
        for n in 1..30u32 {
            factorial *= f64::from(n);
            assert!(close(ln_gamma(f64::from(n) + 1.0), factorial.ln()), "{n}");
        }
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln()));
    }

    #[test]
    fn binomial_tails_match_hand_sums() {
        // Bin(10, 1/2): P(X ≤ 2) = (1 + 10 + 45) / 1024.
        assert!(close(binomial_two_sided(10, 2, 0.5), 2.0 * 56.0 / 1024.0));
        // P(X ≥ 8) is the same by symmetry.
        assert!(close(binomial_two_sided(10, 8, 0.5), 2.0 * 56.0 / 1024.0));
        // Bin(5, 1/5): P(X = 0) = 0.8⁵.
        assert!(close(binomial_two_sided(5, 0, 0.2), 2.0 * 0.8f64.powi(5)));
        // At the mean the doubled tail is capped at 1.
        assert_eq!(binomial_two_sided(10, 5, 0.5), 1.0);
        assert_eq!(binomial_two_sided(0, 0, 0.2), 1.0);
        // The demo's planted segment: 5 signups against 27, 28, 29, 30 (114 in four weeks).
        let p = binomial_two_sided(119, 5, 0.2);
        let by_hand: f64 = (0..=5u64)
            .map(|k| {
                let choose: f64 = (0..k).map(|i| (119 - i) as f64 / (i + 1) as f64).product();
                choose * 0.2f64.powi(k as i32) * 0.8f64.powi(119 - k as i32)
            })
            .sum();
        assert!(close(p, 2.0 * by_hand), "{p} vs {}", 2.0 * by_hand);
        // Large counts stay finite and small.
        let far = binomial_two_sided(2_000_000, 300_000, 0.2);
        assert!(far.is_finite() && far < 1e-100, "{far}");
    }

    #[test]
    fn holm_steps_down_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        // Sorted: 0.005×4 = 0.02, 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 → max 0.06.
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e), "{adjusted:?}");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
