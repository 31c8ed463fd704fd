//! Deserializing a [`UserProfile`]: the stored form is checked before an
//! update can rely on it.

use std::collections::BTreeSet;

use crate::error::{Error, ProfileFault, Result};
use crate::scalar::Scalar;

use super::cluster::InterestCluster;
use super::config::PinnerSage;
use super::prepare::Skipped;
use super::UserProfile;

/// A [`UserProfile`] as stored, not yet validated.
#[derive(serde::Deserialize)]
pub(crate) struct RawUserProfile<I, F> {
    config: PinnerSage,
    as_of: i64,
    threshold: Option<f64>,
    dim: usize,
    clusters: Vec<InterestCluster<I, F>>,
    skipped: Skipped,
}

impl<I: Ord, F: Scalar> TryFrom<RawUserProfile<I, F>> for UserProfile<I, F> {
    type Error = Error;

    fn try_from(raw: RawUserProfile<I, F>) -> Result<Self> {
        let profile = UserProfile {
            config: raw.config,
            as_of: raw.as_of,
            threshold: raw.threshold,
            dim: raw.dim,
            clusters: raw.clusters,
            skipped: raw.skipped,
        };
        profile.check().map_err(Error::InvalidProfile)?;
        Ok(profile)
    }
}

impl<I: Ord, F: Scalar> UserProfile<I, F> {
    /// The first broken invariant, if any.
    ///
    /// O(total members · log) time.
    fn check(&self) -> core::result::Result<(), ProfileFault> {
        if let Some(value) = self.threshold {
            if !value.is_finite() || value < 0.0 {
                return Err(ProfileFault::InvalidThreshold { value });
            }
        }
        if self.dim == 0 && !self.clusters.is_empty() {
            return Err(ProfileFault::ZeroDimension);
        }
        let mut seen: BTreeSet<&I> = BTreeSet::new();
        for (cluster, c) in self.clusters.iter().enumerate() {
            let dim = self.dim;
            if c.centroid.len() != dim {
                let len = c.centroid.len();
                return Err(ProfileFault::CentroidLength { cluster, len, dim });
            }
            if c.medoid_embedding.len() != dim {
                let len = c.medoid_embedding.len();
                return Err(ProfileFault::MedoidEmbeddingLength { cluster, len, dim });
            }
            if c.centroid
                .iter()
                .chain(&c.medoid_embedding)
                .any(|v| !v.is_finite())
            {
                return Err(ProfileFault::NonFiniteValue { cluster });
            }
            if c.members.is_empty() {
                return Err(ProfileFault::EmptyCluster { cluster });
            }
            if c.members.windows(2).any(|w| w[0].item >= w[1].item) {
                return Err(ProfileFault::MembersNotSorted { cluster });
            }
            if !c.contains(&c.medoid) {
                return Err(ProfileFault::MedoidNotMember { cluster });
            }
            let sum = c.members.iter().try_fold(0u64, |sum, m| {
                (m.actions > 0).then_some(())?;
                sum.checked_add(m.actions)
            });
            if sum != Some(c.action_count) {
                return Err(ProfileFault::ActionCount { cluster });
            }
            if !c.importance.is_finite() || c.importance < 0.0 {
                let value = c.importance;
                return Err(ProfileFault::InvalidImportance { cluster, value });
            }
            if c.last_action > self.as_of {
                return Err(ProfileFault::LastActionAfterAsOf {
                    cluster,
                    last_action: c.last_action,
                    as_of: self.as_of,
                });
            }
            if !c.members.iter().all(|m| seen.insert(&m.item)) {
                return Err(ProfileFault::ItemInTwoClusters { cluster });
            }
        }
        Ok(())
    }
}
