//! The paper's offline metrics (Pal et al., KDD 2020, §5.1), on item indices.
//!
//! Throughout, `T` is the set of a user's target items (the distinct items
//! engaged with on the evaluation day), `C` the candidate set retrieved for the
//! user, and `cos(a, b)` the cosine similarity of two items' embeddings.
//!
//! * **Relevance@τ** `= |{t ∈ T : max_{c ∈ C} cos(t, c) ≥ τ}| / |T|`: how many
//!   targets have a close enough candidate (an empty `C` gives 0).
//! * **Recall** `= |T ∩ C| / |T|`: how many targets were retrieved exactly.
//! * **Ranking**: the targets and a set of sampled negatives (the paper's
//!   "impressions") are scored by `s(x) = max_j cos(q_j, x)` over the user's
//!   query embeddings `q_j` and sorted by `(−s(x), x)`. With `R = |T|`,
//!   **R-Precision** `= |T ∩ top R| / R` and **reciprocal rank** `= 1 / r`,
//!   `r` the 1-based position of the first target.
//! * **Budget**: `B` candidates per user, `⌊B / e⌋` per embedding when `e`
//!   embeddings query ([`per_embedding_budget`]).

use super::error::{EvalError, EvalResult};

fn check_tau(tau: f64) -> EvalResult<()> {
    if tau.is_finite() && (-1.0..=1.0).contains(&tau) {
        Ok(())
    } else {
        Err(EvalError::InvalidThreshold { value: tau })
    }
}

/// Relevance@τ: the fraction of `targets` whose maximum cosine to any of
/// `candidates` is `≥ tau`.
///
/// `cosine(t, c)` returns the cosine of items `t` and `c`.
///
/// # Errors
/// [`EvalError::NoTargets`] if `targets` is empty;
/// [`EvalError::InvalidThreshold`] if `tau` is not finite or outside [−1, 1].
///
/// # Complexity
/// O(|T|·|C|) calls of `cosine`.
///
/// # Example
/// ```
/// use pinnersage::eval::metrics::relevance;
/// // items on a line of cosines: cos(a, b) = 1 − |a − b| / 10
/// let cos = |a: usize, b: usize| 1.0 - (a as f64 - b as f64).abs() / 10.0;
/// // target 0 is 1 away from candidate 1 (cos 0.9), target 9 is 8 away (0.2)
/// assert_eq!(relevance(&[0, 9], &[1], cos, 0.8)?, 0.5);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn relevance(
    targets: &[usize],
    candidates: &[usize],
    mut cosine: impl FnMut(usize, usize) -> f64,
    tau: f64,
) -> EvalResult<f64> {
    check_tau(tau)?;
    if targets.is_empty() {
        return Err(EvalError::NoTargets);
    }
    let hits = targets
        .iter()
        .filter(|&&t| candidates.iter().any(|&c| cosine(t, c) >= tau))
        .count();
    Ok(hits as f64 / targets.len() as f64)
}

/// Relevance at several thresholds from each target's best cosine to the
/// candidates (`best[i] = max_c cos(targets[i], c)`, `−∞` if there are no
/// candidates): `out[k] = |{i : best[i] ≥ taus[k]}| / |best|`.
///
/// # Errors
/// As [`relevance`].
///
/// # Complexity
/// O(|T|·|taus|).
///
/// # Example
/// ```
/// use pinnersage::eval::metrics::relevance_from_best;
/// let r = relevance_from_best(&[0.95, 0.75, 0.5, 0.65], &[0.6, 0.7, 0.8])?;
/// assert_eq!(r, vec![0.75, 0.5, 0.25]);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn relevance_from_best(best: &[f64], taus: &[f64]) -> EvalResult<Vec<f64>> {
    for &t in taus {
        check_tau(t)?;
    }
    if best.is_empty() {
        return Err(EvalError::NoTargets);
    }
    Ok(taus
        .iter()
        .map(|&tau| best.iter().filter(|&&b| b >= tau).count() as f64 / best.len() as f64)
        .collect())
}

/// Recall: the fraction of `targets` that are among `candidates`.
///
/// # Errors
/// [`EvalError::NoTargets`] if `targets` is empty.
///
/// # Complexity
/// O((|T| + |C|)·log|C|).
///
/// # Example
/// ```
/// use pinnersage::eval::metrics::recall;
/// assert_eq!(recall(&[1, 2, 3, 4], &[4, 9, 1])?, 0.5);
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn recall(targets: &[usize], candidates: &[usize]) -> EvalResult<f64> {
    if targets.is_empty() {
        return Err(EvalError::NoTargets);
    }
    let mut c = candidates.to_vec();
    c.sort_unstable();
    let hits = targets
        .iter()
        .filter(|t| c.binary_search(t).is_ok())
        .count();
    Ok(hits as f64 / targets.len() as f64)
}

/// One item to rank: its index, its score, and whether it is a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The item.
    pub item: usize,
    /// Its score (higher ranks first).
    pub score: f64,
    /// `true` for a target (positive), `false` for a negative impression.
    pub positive: bool,
}

/// Sorts by `(−score, item)`, the protocol's order.
///
/// # Errors
/// [`EvalError::NonFiniteScore`] for a NaN or infinite score.
fn ranked(list: &[Scored]) -> EvalResult<Vec<Scored>> {
    if let Some(s) = list.iter().find(|s| !s.score.is_finite()) {
        return Err(EvalError::NonFiniteScore { item: s.item });
    }
    let mut v = list.to_vec();
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
    Ok(v)
}

/// R-Precision and reciprocal rank of a list of targets and negatives, ranked
/// by `(−score, item)`: `(|T ∩ top R| / R, 1 / rank of the first target)`,
/// `R` the number of positives.
///
/// # Errors
/// [`EvalError::NoTargets`] if no entry is positive;
/// [`EvalError::NonFiniteScore`] for a NaN or infinite score.
///
/// # Complexity
/// O(n log n) for n entries.
///
/// # Example
/// ```
/// use pinnersage::eval::metrics::{ranking, Scored};
/// let s = |item, score, positive| Scored { item, score, positive };
/// // order: 7 (0.9, neg), 3 (0.8, pos), 5 (0.8, neg: item 5 after 3), 1 (0.1, pos)
/// let list = [s(1, 0.1, true), s(3, 0.8, true), s(5, 0.8, false), s(7, 0.9, false)];
/// let (rp, rr) = ranking(&list)?;
/// assert_eq!((rp, rr), (0.5, 0.5)); // top 2 hold one target; first target at rank 2
/// # Ok::<(), pinnersage::eval::EvalError>(())
/// ```
pub fn ranking(list: &[Scored]) -> EvalResult<(f64, f64)> {
    let r = list.iter().filter(|s| s.positive).count();
    if r == 0 {
        return Err(EvalError::NoTargets);
    }
    let v = ranked(list)?;
    let in_top = v[..r].iter().filter(|s| s.positive).count();
    let first = v.iter().position(|s| s.positive).unwrap_or(0) + 1;
    Ok((in_top as f64 / r as f64, 1.0 / first as f64))
}

/// Candidates each of `e` embeddings may retrieve from a budget of `budget`
/// per user: `⌊budget / e⌋` (the whole budget when `e` is 0 or 1).
///
/// # Example
/// ```
/// use pinnersage::eval::metrics::per_embedding_budget;
/// assert_eq!(per_embedding_budget(400, 3), 133);
/// assert_eq!(per_embedding_budget(400, 1), 400);
/// ```
pub fn per_embedding_budget(budget: usize, e: usize) -> usize {
    budget / e.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 4-item space with hand-set cosines (symmetric, 1 on the diagonal).
    const COS: [[f64; 4]; 4] = [
        [1.0, 0.85, 0.65, 0.1],
        [0.85, 1.0, 0.75, 0.2],
        [0.65, 0.75, 1.0, 0.3],
        [0.1, 0.2, 0.3, 1.0],
    ];
    fn cos(a: usize, b: usize) -> f64 {
        COS[a][b]
    }

    #[test]
    fn relevance_hand_computed() {
        // targets 0, 2, 3; candidates {1}: best cosines 0.85, 0.75, 0.2
        let r = |tau| relevance(&[0, 2, 3], &[1], cos, tau).unwrap();
        assert_eq!(r(0.6), 2.0 / 3.0);
        assert_eq!(r(0.7), 2.0 / 3.0);
        assert_eq!(r(0.8), 1.0 / 3.0);
        assert_eq!(r(0.9), 0.0);
        // a target that is a candidate has cosine 1
        assert_eq!(relevance(&[3], &[3], cos, 0.8).unwrap(), 1.0);
        // no candidates: nothing is relevant
        assert_eq!(relevance(&[3], &[], cos, -1.0).unwrap(), 0.0);
        assert_eq!(
            relevance_from_best(&[0.85, 0.75, 0.2], &[0.6, 0.7, 0.8]).unwrap(),
            vec![2.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0]
        );
    }

    #[test]
    fn recall_hand_computed() {
        assert_eq!(recall(&[0, 1, 2], &[2, 3]).unwrap(), 1.0 / 3.0);
        assert_eq!(recall(&[0], &[]).unwrap(), 0.0);
    }

    #[test]
    fn ranking_hand_computed() {
        let s = |item, score, positive| Scored {
            item,
            score,
            positive,
        };
        // 3 positives (scores 0.9, 0.5, 0.2) among negatives 0.95, 0.6, 0.1:
        // order 10(n) 0(p) 11(n) 1(p) 2(p) 12(n); top 3 = 10, 0, 11 -> 1 positive
        let list = [
            s(0, 0.9, true),
            s(1, 0.5, true),
            s(2, 0.2, true),
            s(10, 0.95, false),
            s(11, 0.6, false),
            s(12, 0.1, false),
        ];
        assert_eq!(ranking(&list).unwrap(), (1.0 / 3.0, 0.5));
        // a tie goes to the lower item index
        let tie = [s(4, 0.5, true), s(3, 0.5, false)];
        assert_eq!(ranking(&tie).unwrap(), (0.0, 0.5));
        let tie = [s(2, 0.5, true), s(3, 0.5, false)];
        assert_eq!(ranking(&tie).unwrap(), (1.0, 1.0));
    }

    #[test]
    fn error_no_targets() {
        assert_eq!(relevance(&[], &[1], cos, 0.5), Err(EvalError::NoTargets));
        assert_eq!(recall(&[], &[1]), Err(EvalError::NoTargets));
        assert_eq!(relevance_from_best(&[], &[0.5]), Err(EvalError::NoTargets));
        let neg = [Scored {
            item: 0,
            score: 1.0,
            positive: false,
        }];
        assert_eq!(ranking(&neg), Err(EvalError::NoTargets));
    }

    #[test]
    fn error_invalid_threshold() {
        for bad in [f64::NAN, 1.5, -2.0, f64::INFINITY] {
            assert!(matches!(
                relevance(&[0], &[1], cos, bad),
                Err(EvalError::InvalidThreshold { .. })
            ));
        }
    }

    #[test]
    fn error_non_finite_score() {
        let list = [Scored {
            item: 7,
            score: f64::NAN,
            positive: true,
        }];
        assert_eq!(ranking(&list), Err(EvalError::NonFiniteScore { item: 7 }));
    }

    #[test]
    fn budget_split() {
        assert_eq!(per_embedding_budget(400, 0), 400);
        assert_eq!(per_embedding_budget(400, 7), 57);
    }
}
