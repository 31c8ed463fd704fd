//! Everything a picture of one user needs, computed together so that the
//! dendrogram, the embeddings and the profile cannot disagree.

use core::fmt::Debug;

use ndarray::{Array1, Array2};

use crate::embedding::EmbeddingSource;
use crate::error::{DendrogramFault, Error, Result};
use crate::history::Action;
use crate::profile::{CutRule, Member, PinnerSage, UserProfile};
use crate::scalar::Scalar;
use crate::ward::{self, Dendrogram};

/// One user's profile with what the profile does not keep: the embeddings of
/// the clustered items and the Ward dendrogram they were cut from.
///
/// A [`UserProfile`] stores medoids, importances and member ids, not the
/// tree or the member embeddings. A `UserView` recomputes them from the
/// history and the embedding source, exactly as
/// [`PinnerSage::profile`] does (same window, unknown-item rule, history cap,
/// weights), so rows, tree and clusters always belong together:
///
/// * [`compute`](Self::compute) takes the configuration, the actions, the
///   source and `now`, and computes the profile too;
/// * [`from_profile`](Self::from_profile) takes an existing profile with the
///   actions and source it came from and checks that they reproduce it
///   ([`Error::PlotProfileMismatch`] if not: a mismatch is refused, never
///   drawn).
///
/// Rows are the distinct items used, sorted by id (as the profile lays them
/// out), each weighted by its number of actions. With
/// [`max_clusters`](PinnerSage::max_clusters) the dropped clusters' rows are
/// still in the tree, with no profile cluster ([`cluster_of`](Self::cluster_of)
/// is `None`).
#[derive(Debug, Clone)]
pub struct UserView<I, F> {
    profile: UserProfile<I, F>,
    items: Vec<Member<I>>,
    embeddings: Array2<F>,
    tree: Dendrogram<F>,
    cluster_of: Vec<Option<usize>>,
    medoid_rows: Vec<usize>,
    cut_height: f64,
}

impl<I: Clone + Ord + Debug, F: Scalar> UserView<I, F> {
    /// The profile of `actions` as of `now` under `config`, with its rows and
    /// dendrogram.
    ///
    /// # Errors
    /// Those of [`PinnerSage::profile`]; [`Error::EmptyPlot`] if the profile
    /// is empty (no known action in the window);
    /// [`Error::InvalidDendrogram`] if a merge distance overflows the element
    /// type (embeddings too large for it: rescale them); [`Error::LengthMismatch`] if
    /// the source's batch lookup returns the wrong number of rows;
    /// [`Error::PlotProfileMismatch`] if the source answers differently on a
    /// second lookup (a non-deterministic source).
    ///
    /// # Complexity
    /// Twice the profile computation (once as configured, once without
    /// [`max_clusters`](PinnerSage::max_clusters) to recover every row), plus
    /// one lookup of the distinct items.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::UserView;
    /// use pinnersage::{Action, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![
    ///     [1.0_f32, 0.0], [0.995, 0.0998], [0.0, 1.0], [0.0998, 0.995],
    /// ])?;
    /// let actions: Vec<Action<usize>> = (0..4).map(|i| Action::new(i, 100)).collect();
    /// let config = PinnerSage::builder().alpha(1.0).build()?;
    /// let view = UserView::compute(&config, &actions, &source, 100)?;
    /// assert_eq!(view.tree().observations(), 4);
    /// assert_eq!(view.profile().len(), 2);
    /// assert_eq!(view.cut_height(), 1.0);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn compute<S>(
        config: &PinnerSage,
        actions: &[Action<I>],
        source: &S,
        now: i64,
    ) -> Result<Self>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        let profile = config.profile(actions, source, now)?;
        Self::assemble(profile, actions, source)
    }

    /// The view of an existing `profile`, recomputed from the `actions` and
    /// `source` it was computed from (with its own configuration and
    /// [`as_of`](UserProfile::as_of) as `now`).
    ///
    /// # Errors
    /// [`Error::PlotProfileMismatch`] if the recomputed profile differs from
    /// `profile` (other actions or embeddings, or a profile changed by
    /// [`UserProfile::update`] since its computation); otherwise as
    /// [`compute`](Self::compute).
    ///
    /// # Complexity
    /// As [`compute`](Self::compute).
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::UserView;
    /// use pinnersage::{Action, Error, InMemoryEmbeddings, PinnerSage};
    ///
    /// let source = InMemoryEmbeddings::with_row_ids(array![[1.0_f32, 0.0], [0.0, 1.0]])?;
    /// let actions = vec![Action::new(0_usize, 100), Action::new(1, 100)];
    /// let profile = PinnerSage::default().profile(&actions, &source, 100)?;
    /// assert!(UserView::from_profile(&profile, &actions, &source).is_ok());
    /// // another history than the profile's is refused
    /// let other = vec![Action::new(0_usize, 100)];
    /// assert!(matches!(
    ///     UserView::from_profile(&profile, &other, &source),
    ///     Err(Error::PlotProfileMismatch { .. })
    /// ));
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn from_profile<S>(
        profile: &UserProfile<I, F>,
        actions: &[Action<I>],
        source: &S,
    ) -> Result<Self>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        let again = profile.config().profile(actions, source, profile.as_of())?;
        if again != *profile {
            return Err(Error::PlotProfileMismatch {
                reason: "recomputing the profile from these actions and this source gives other clusters",
            });
        }
        Self::assemble(again, actions, source)
    }

    fn assemble<S>(profile: UserProfile<I, F>, actions: &[Action<I>], source: &S) -> Result<Self>
    where
        S: EmbeddingSource<Id = I, Elem = F> + ?Sized,
    {
        if profile.is_empty() {
            return Err(Error::EmptyPlot);
        }
        let config = *profile.config();
        // every row, dropped clusters included
        let all = if config.max_clusters().is_some() {
            config.to_builder().max_clusters(None).build()?.profile(
                actions,
                source,
                profile.as_of(),
            )?
        } else {
            profile.clone()
        };
        let mut items: Vec<Member<I>> = all
            .clusters()
            .iter()
            .flat_map(|c| c.members().iter().cloned())
            .collect();
        items.sort_by(|a, b| a.item.cmp(&b.item));
        let ids: Vec<I> = items.iter().map(|m| m.item.clone()).collect();
        let batch = crate::embedding::checked_embeddings(source, &ids)?;
        if batch.found.iter().any(|f| !f) {
            return Err(Error::PlotProfileMismatch {
                reason: "the source no longer knows an item of the profile",
            });
        }
        let embeddings = batch.matrix;
        let weights: Array1<F> = items
            .iter()
            .map(|m| F::from_f64_rounded(m.actions as f64))
            .collect();
        let tree = ward::linkage_weighted(embeddings.view(), weights.view())?;
        // a distance that overflowed the element type cannot be drawn (nor
        // cut consistently): refused here, where the caller learns why
        if let Some((merge, s)) = tree
            .merges()
            .iter()
            .enumerate()
            .find(|(_, s)| !s.distance.to_f64_lossless().is_finite())
        {
            return Err(Error::InvalidDendrogram(DendrogramFault::InvalidDistance {
                merge,
                value: s.distance.to_f64_lossless(),
            }));
        }
        let m = tree.observations();
        let merges = tree.merges();
        let applied = match config.cut() {
            CutRule::Threshold(alpha) => {
                merges.partition_point(|s| s.distance.to_f64_lossless() <= alpha)
            }
            CutRule::Clusters(k) => m - k.min(m).max(1),
        };
        let labels = tree.cut_k(m - applied)?;
        let cut_height = match config.cut() {
            CutRule::Threshold(alpha) => alpha,
            CutRule::Clusters(_) => {
                let at = |t: usize| merges[t].distance.to_f64_lossless();
                match (applied.checked_sub(1), applied < merges.len()) {
                    (Some(below), true) => at(below) / 2.0 + at(applied) / 2.0,
                    (None, true) => at(0) / 2.0,
                    (Some(below), false) => (at(below) * 1.02).min(f64::MAX),
                    (None, false) => 0.0,
                }
            }
        };
        // match the flat clusters to the profile's
        let k = labels.iter().max().map_or(0, |&l| l + 1);
        let mut rows_of = vec![Vec::new(); k];
        for (row, &l) in labels.iter().enumerate() {
            rows_of[l].push(row);
        }
        let mismatch = Error::PlotProfileMismatch {
            reason: "the dendrogram's cut does not give the profile's clusters",
        };
        let mut cluster_of = vec![None; m];
        let mut matched = vec![false; profile.len()];
        for rows in &rows_of {
            let first = &items[rows[0]].item;
            let Some(c) = profile.clusters().iter().position(|c| c.contains(first)) else {
                continue; // dropped by max_clusters
            };
            let cluster = &profile.clusters()[c];
            if matched[c]
                || cluster.size() != rows.len()
                || !rows.iter().all(|&r| cluster.contains(&items[r].item))
            {
                return Err(mismatch);
            }
            matched[c] = true;
            for &r in rows {
                cluster_of[r] = Some(c);
            }
        }
        if matched.iter().any(|m| !m) {
            return Err(mismatch);
        }
        let medoid_rows = profile
            .clusters()
            .iter()
            .map(|c| {
                ids.binary_search(c.medoid())
                    .map_err(|_| Error::PlotProfileMismatch {
                        reason: "a medoid is not among the rows",
                    })
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(UserView {
            profile,
            items,
            embeddings,
            tree,
            cluster_of,
            medoid_rows,
            cut_height,
        })
    }
}

impl<I, F> UserView<I, F> {
    /// The profile.
    pub fn profile(&self) -> &UserProfile<I, F> {
        &self.profile
    }

    /// The rows: distinct items sorted by id, with their action counts (the
    /// Ward weights).
    pub fn items(&self) -> &[Member<I>] {
        &self.items
    }

    /// The rows' embeddings, row `r` for `items()[r]`.
    pub fn embeddings(&self) -> &Array2<F> {
        &self.embeddings
    }

    /// The Ward dendrogram of the rows (observation `r` is row `r`).
    pub fn tree(&self) -> &Dendrogram<F> {
        &self.tree
    }

    /// For each row, the index of its cluster in
    /// [`profile().clusters()`](UserProfile::clusters) (most important
    /// first), or `None` for a cluster dropped by
    /// [`max_clusters`](PinnerSage::max_clusters).
    pub fn cluster_of(&self) -> &[Option<usize>] {
        &self.cluster_of
    }

    /// For each profile cluster, the row of its medoid.
    pub fn medoid_rows(&self) -> &[usize] {
        &self.medoid_rows
    }

    /// Where the cut is drawn, in merge distance (paper convention): α for
    /// [`CutRule::Threshold`]; for [`CutRule::Clusters`] halfway between the
    /// last merge applied and the next one.
    pub fn cut_height(&self) -> f64 {
        self.cut_height
    }
}
