//! Scoring a computed [`UserProfile`] with the offline metrics: how much an
//! [online update](crate::UserProfile::update)'s drift from a recompute
//! matters for retrieval (`examples/update_drift.rs --relevance`).

use super::error::{EvalError, EvalResult};
use super::metrics::{per_embedding_budget, recall, relevance_from_best};
use super::run::Protocol;
use super::space::ItemSpace;
use crate::scalar::Scalar;
use crate::UserProfile;

/// Relevance and recall of one profile's candidates for one day's targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileScores {
    /// Relevance at each of the protocol's thresholds
    /// ([`Protocol::taus`]).
    pub relevance: [f64; 3],
    /// Recall: the fraction of the targets among the candidates.
    pub recall: f64,
    /// Number of distinct candidates.
    pub candidates: usize,
}

/// Scores `profile` as the "top medoids" method of the protocol does: the
/// `top` most important clusters' medoids (the profile's order; the
/// protocol's default is 3) each retrieve their `⌊budget / e⌋` nearest items in `space` (`e`
/// the number of medoids used); the union is the candidate set, scored
/// against `targets` with [`relevance_from_best`] at the protocol's
/// thresholds and [`recall`]. Item ids are rows of `space`. Deterministic.
///
/// # Errors
/// [`EvalError::NoTargets`] for empty `targets`;
/// [`EvalError::ItemOutOfRange`] if a medoid or a target is not a row of
/// `space`.
///
/// # Complexity
/// O(e·(n·d + n log k)) the first time a medoid's neighbours are asked for
/// (cached in `space` after), plus O(|targets|·candidates) cosines.
///
/// # Example
/// ```
/// use pinnersage::eval::{score_profile, ItemSpace, Protocol};
/// use pinnersage::ndarray::array;
/// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
///
/// let x = array![[1.0_f32, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]];
/// let source = InMemoryEmbeddings::with_row_ids(x.clone())?;
/// let profile = PinnerSage::default().profile(&[Action::new(0, 0)], &source, 0)?;
/// let mut space = ItemSpace::new(x.view(), 4)?;
/// let p = Protocol::builder().budget(2).build()?;
/// let s = score_profile(&mut space, &profile, &[1, 2], &p, 3)?;
/// assert_eq!(s.candidates, 2); // item 0 and its nearest, item 1
/// assert_eq!(s.recall, 0.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_profile<F: Scalar>(
    space: &mut ItemSpace,
    profile: &UserProfile<usize, F>,
    targets: &[usize],
    protocol: &Protocol,
    top: usize,
) -> EvalResult<ProfileScores> {
    if targets.is_empty() {
        return Err(EvalError::NoTargets);
    }
    let items = space.len();
    let out_of_range = |item: usize| EvalError::ItemOutOfRange { item, items };
    if let Some(&t) = targets.iter().find(|&&t| t >= items) {
        return Err(out_of_range(t));
    }
    let medoids: Vec<usize> = profile
        .clusters()
        .iter()
        .take(top)
        .map(|c| *c.medoid())
        .collect();
    let k = per_embedding_budget(protocol.budget(), medoids.len().max(1));
    let mut candidates: Vec<usize> = Vec::new();
    for &m in &medoids {
        candidates.extend(space.neighbours(m, k).ok_or_else(|| out_of_range(m))?);
    }
    candidates.sort_unstable();
    candidates.dedup();
    let best: Vec<f64> = targets
        .iter()
        .map(|&t| {
            candidates
                .iter()
                .filter_map(|&c| space.cosine(t, c))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let r = relevance_from_best(&best, &protocol.taus())?;
    Ok(ProfileScores {
        relevance: [r[0], r[1], r[2]],
        recall: recall(targets, &candidates)?,
        candidates: candidates.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, InMemoryEmbeddings, PinnerSage};

    #[test]
    fn two_interests_retrieve_around_both_medoids() {
        // items 0–1 one way, 2–3 another; a profile with both interests
        let x = ndarray::array![[1.0_f64, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]];
        let source = InMemoryEmbeddings::with_row_ids(x.clone()).unwrap();
        let config = PinnerSage::builder().alpha(0.5).build().unwrap();
        let profile = config
            .profile(&[Action::new(0, 0), Action::new(2, 0)], &source, 0)
            .unwrap();
        assert_eq!(profile.len(), 2);
        let mut space = ItemSpace::new(x.view(), 4).unwrap();
        let p = Protocol::builder().budget(4).build().unwrap();
        // each medoid retrieves itself and its neighbour: all four items
        let s = score_profile(&mut space, &profile, &[1, 3], &p, 3).unwrap();
        assert_eq!(s.candidates, 4);
        assert_eq!(s.recall, 1.0);
        assert_eq!(s.relevance, [1.0, 1.0, 1.0]);
        // one medoid only (top = 1): half the targets are far from it
        let p = Protocol::builder().budget(1).build().unwrap();
        let s = score_profile(&mut space, &profile, &[1, 3], &p, 1).unwrap();
        assert_eq!(s.candidates, 1);
        assert_eq!(s.recall, 0.0);
        // cos(item 1, item 0) = 0.9/|(0.9, 0.1)| ≈ 0.994 ≥ 0.8; cos(3, 0) ≈ 0.11
        assert_eq!(s.relevance, [0.5, 0.5, 0.5]);
    }

    #[test]
    fn errors() {
        let x = ndarray::array![[1.0_f64, 0.0], [0.0, 1.0]];
        let source = InMemoryEmbeddings::with_row_ids(x.clone()).unwrap();
        let profile = PinnerSage::default()
            .profile(&[Action::new(0, 0)], &source, 0)
            .unwrap();
        let mut space = ItemSpace::new(x.view(), 2).unwrap();
        let p = Protocol::default();
        assert_eq!(
            score_profile(&mut space, &profile, &[], &p, 3),
            Err(EvalError::NoTargets)
        );
        assert_eq!(
            score_profile(&mut space, &profile, &[5], &p, 3),
            Err(EvalError::ItemOutOfRange { item: 5, items: 2 })
        );
        // a medoid outside the space
        let big = InMemoryEmbeddings::with_row_ids(ndarray::array![
            [1.0_f64, 0.0],
            [0.0, 1.0],
            [1.0, 1.0]
        ])
        .unwrap();
        let far = PinnerSage::default()
            .profile(&[Action::new(2, 0)], &big, 0)
            .unwrap();
        assert_eq!(
            score_profile(&mut space, &far, &[0], &p, 3),
            Err(EvalError::ItemOutOfRange { item: 2, items: 2 })
        );
    }
}
