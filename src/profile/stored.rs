//! The stored form of a [`UserProfile`] and of an [`InterestCluster`]: the
//! format version, the serialization of a profile, and the checks a
//! deserialized one passes before an update can rely on it.

use std::collections::BTreeSet;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::error::{Error, ProfileFault, Result};
use crate::history::age;
use crate::scalar::Scalar;

use super::cluster::{InterestCluster, Member};
use super::config::PinnerSage;
use super::prepare::HistorySummary;
use super::UserProfile;

/// The layout version written and read, see [`UserProfile::FORMAT`].
const PROFILE_FORMAT: u32 = 3;

impl<I, F> UserProfile<I, F> {
    /// The version of the stored layout of a profile (its `format` field,
    /// feature `serde`). 3: members carry their actions' timestamps (in
    /// binary formats the first one, then the gap to the previous one as an
    /// unsigned integer, which postcard writes as a varint: one byte for a
    /// gap under 128 ticks); 2 had their last action time and decayed weight
    /// only (1 had neither, and no `format` field). A profile of another
    /// version is refused on load with
    /// [`ProfileFault::UnsupportedFormat`]: recompute it.
    pub const FORMAT: u32 = PROFILE_FORMAT;
}

impl<I: Serialize, F: Serialize + Scalar> Serialize for UserProfile<I, F> {
    /// Fields `config`, `format` ([`UserProfile::FORMAT`]), `as_of`, `threshold`,
    /// `dim`, `clusters`, `history`; floats exact (see [`UserProfile`]).
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        struct Threshold(Option<f64>);
        impl Serialize for Threshold {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                super::exact_float::option::serialize(&self.0, s)
            }
        }
        let mut st = s.serialize_struct("UserProfile", 7)?;
        st.serialize_field("config", &self.config)?;
        st.serialize_field("format", &PROFILE_FORMAT)?;
        st.serialize_field("as_of", &self.as_of)?;
        st.serialize_field("threshold", &Threshold(self.threshold))?;
        st.serialize_field("dim", &self.dim)?;
        st.serialize_field("clusters", &self.clusters)?;
        st.serialize_field("history", &self.history)?;
        st.end()
    }
}

/// The serde form of [`Member::timestamps`]: plain integers in
/// human-readable formats; in binary ones the first timestamp (`i64`) then
/// each gap to the previous one (`u64`, wrapping: any sequence round-trips
/// exactly, a sorted one has small gaps; sorting is checked on load).
pub(crate) mod timestamps {
    use core::fmt;

    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::ser::{SerializeSeq, Serializer};

    /// Serializes `times` as described in the module.
    pub fn serialize<S: Serializer>(times: &[i64], s: S) -> Result<S::Ok, S::Error> {
        let human = s.is_human_readable();
        let mut seq = s.serialize_seq(Some(times.len()))?;
        if human {
            for t in times {
                seq.serialize_element(t)?;
            }
        } else if let Some((first, rest)) = times.split_first() {
            seq.serialize_element(first)?;
            let mut prev = *first;
            for &t in rest {
                // the gap modulo 2^64: decoded back with a wrapping add
                seq.serialize_element(&(t.wrapping_sub(prev) as u64))?;
                prev = t;
            }
        }
        seq.end()
    }

    /// Deserializes what [`serialize`] wrote (in human-readable formats,
    /// plain integers).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        struct Times {
            human: bool,
        }
        impl<'de> Visitor<'de> for Times {
            type Value = Vec<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of timestamps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i64>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                if self.human {
                    while let Some(t) = seq.next_element::<i64>()? {
                        out.push(t);
                    }
                    return Ok(out);
                }
                let Some(first) = seq.next_element::<i64>()? else {
                    return Ok(out);
                };
                out.push(first);
                let mut prev = first;
                while let Some(gap) = seq.next_element::<u64>()? {
                    prev = prev.wrapping_add(gap as i64);
                    out.push(prev);
                }
                Ok(out)
            }
        }
        let human = d.is_human_readable();
        d.deserialize_seq(Times { human })
    }
}

/// A [`UserProfile`] as stored, not yet validated.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "I: serde::Deserialize<'de>, F: serde::Deserialize<'de> + Scalar"))]
pub(crate) struct RawUserProfile<I, F> {
    config: PinnerSage,
    /// Absent before version 2.
    #[serde(default)]
    format: u32,
    as_of: i64,
    #[serde(with = "super::exact_float::option")]
    threshold: Option<f64>,
    dim: usize,
    clusters: Vec<RawInterestCluster<I, F>>,
    history: HistorySummary,
}

/// An [`InterestCluster`] as stored, not yet validated.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "I: serde::Deserialize<'de>, F: serde::Deserialize<'de> + Scalar"))]
pub(crate) struct RawInterestCluster<I, F> {
    medoid: I,
    #[serde(with = "super::exact_float::vec")]
    medoid_embedding: Vec<F>,
    #[serde(with = "super::exact_float::vec")]
    centroid: Vec<F>,
    #[serde(with = "super::exact_float::scalar")]
    importance: f64,
    action_count: u64,
    last_action: i64,
    members: Vec<Member<I>>,
}

impl<I, F> RawInterestCluster<I, F> {
    fn unchecked(self) -> InterestCluster<I, F> {
        let raw = self;
        InterestCluster {
            medoid: raw.medoid,
            medoid_embedding: raw.medoid_embedding,
            centroid: raw.centroid,
            importance: raw.importance,
            action_count: raw.action_count,
            last_action: raw.last_action,
            members: raw.members,
        }
    }
}

impl<I: Ord, F: Scalar> TryFrom<RawInterestCluster<I, F>> for InterestCluster<I, F> {
    type Error = Error;

    /// A standalone cluster: every invariant that does not need its profile
    /// (the fault names cluster 0).
    fn try_from(raw: RawInterestCluster<I, F>) -> Result<Self> {
        let cluster = raw.unchecked();
        let dim = cluster.centroid.len();
        cluster.check(0, dim).map_err(Error::InvalidCluster)?;
        Ok(cluster)
    }
}

impl<I: Ord, F: Scalar> TryFrom<RawUserProfile<I, F>> for UserProfile<I, F> {
    type Error = Error;

    fn try_from(raw: RawUserProfile<I, F>) -> Result<Self> {
        if raw.format != PROFILE_FORMAT {
            return Err(Error::InvalidProfile(ProfileFault::UnsupportedFormat {
                found: raw.format,
                expected: PROFILE_FORMAT,
            }));
        }
        let profile = UserProfile {
            config: raw.config,
            as_of: raw.as_of,
            threshold: raw.threshold,
            dim: raw.dim,
            clusters: raw
                .clusters
                .into_iter()
                .map(RawInterestCluster::unchecked)
                .collect(),
            history: raw.history,
        };
        profile.check().map_err(Error::InvalidProfile)?;
        Ok(profile)
    }
}

impl<I: Ord, F: Scalar> InterestCluster<I, F> {
    /// The first broken invariant of cluster number `cluster` in dimension
    /// `dim`, if any.
    ///
    /// O(members · log) time.
    fn check(&self, cluster: usize, dim: usize) -> core::result::Result<(), ProfileFault> {
        let c = self;
        if dim == 0 {
            return Err(ProfileFault::ZeroDimension);
        }
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
        for (member, m) in c.members.iter().enumerate() {
            if m.timestamps.windows(2).any(|w| w[0] > w[1]) {
                return Err(ProfileFault::TimestampsNotSorted { cluster, member });
            }
            if m.timestamps.len() as u64 != m.actions {
                return Err(ProfileFault::TimestampCount {
                    cluster,
                    member,
                    timestamps: m.timestamps.len(),
                    actions: m.actions,
                });
            }
            if m.timestamps.last() != Some(&m.last_action) {
                return Err(ProfileFault::MemberLastAction { cluster, member });
            }
        }
        // each action weighs at most 1 (and more than 0 unless it underflowed)
        if let Some(member) = c
            .members
            .iter()
            .position(|m| !m.weight.is_finite() || m.weight < 0.0 || m.weight > m.actions as f64)
        {
            let value = c.members[member].weight;
            return Err(ProfileFault::InvalidMemberWeight {
                cluster,
                member,
                value,
            });
        }
        // rounding is monotone, so a computed importance never exceeds the
        // action count (as `f64`): merging clusters cannot overflow to ∞
        if !c.importance.is_finite() || c.importance < 0.0 || c.importance > c.action_count as f64 {
            let value = c.importance;
            return Err(ProfileFault::InvalidImportance { cluster, value });
        }
        // the crate sums the members' weights in item order: bit for bit
        let sum: f64 = c.members.iter().map(|m| m.weight).sum();
        if sum.to_bits() != c.importance.to_bits() {
            return Err(ProfileFault::ImportanceNotSumOfMembers {
                cluster,
                importance: c.importance,
                sum,
            });
        }
        let last = c.members.iter().map(|m| m.last_action).max();
        if last != Some(c.last_action) {
            return Err(ProfileFault::LastActionMismatch { cluster });
        }
        Ok(())
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
            c.check(cluster, self.dim)?;
            if c.last_action > self.as_of {
                return Err(ProfileFault::LastActionAfterAsOf {
                    cluster,
                    last_action: c.last_action,
                    as_of: self.as_of,
                });
            }
            if let Some(w) = self.config.window_ticks() {
                // the computation and every update drop each action that
                // left the window (timestamps are sorted: the first is the
                // oldest)
                if let Some(member) = c.members.iter().position(|m| {
                    m.timestamps
                        .first()
                        .is_some_and(|&t| age(t, self.as_of) > i128::from(w))
                }) {
                    return Err(ProfileFault::MemberOutsideWindow { cluster, member });
                }
            }
            // weights are the decayed sums of the timestamps as of `as_of`
            let decay = self.config.time_decay();
            for (member, m) in c.members.iter().enumerate() {
                let sum = m.timestamps.iter().try_fold(0.0, |sum, &t| {
                    decay.weight_at(t, self.as_of).map(|w| sum + w)
                });
                // no timestamp is after `as_of` (checked above)
                let sum = sum.unwrap_or(f64::NAN);
                // (the weight is finite: checked with the cluster)
                if sum.is_nan() || (m.weight - sum).abs() > 1e-12 * sum.abs().max(m.weight.abs()) {
                    return Err(ProfileFault::MemberWeightNotDecayedSum {
                        cluster,
                        member,
                        weight: m.weight,
                        sum,
                    });
                }
            }
            if !c.members.iter().all(|m| seen.insert(&m.item)) {
                return Err(ProfileFault::ItemInTwoClusters { cluster });
            }
            // rank order: importance desc, last action desc, medoid asc
            if let Some(prev) = cluster.checked_sub(1).map(|p| &self.clusters[p]) {
                let order = prev
                    .importance
                    .total_cmp(&c.importance)
                    .reverse()
                    .then(c.last_action.cmp(&prev.last_action))
                    .then_with(|| prev.medoid.cmp(&c.medoid));
                if order != core::cmp::Ordering::Less {
                    return Err(ProfileFault::ClustersNotSorted { cluster });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, InMemoryEmbeddings};
    use serde_json::{json, Value};

    /// A valid stored profile of two clusters {0, 1} and {2}, as JSON.
    fn stored() -> Value {
        let source =
            InMemoryEmbeddings::new(vec![0u32, 1, 2], ndarray::array![[0.0], [0.1], [10.0]])
                .unwrap();
        let config = PinnerSage::builder().alpha(1.0).build().unwrap();
        let actions = [
            Action::new(0, 100),
            Action::new(1, 100),
            Action::new(1, 90),
            Action::new(2, 100),
        ];
        let p: UserProfile<u32, f64> = config.profile(&actions, &source, 100).unwrap();
        assert_eq!(p.clusters()[0].size(), 2);
        serde_json::to_value(&p).unwrap()
    }

    fn load(value: Value) -> Result<UserProfile<u32, f64>> {
        let raw: RawUserProfile<u32, f64> = serde_json::from_value(value).unwrap();
        UserProfile::try_from(raw)
    }

    fn fault(edit: impl FnOnce(&mut Value)) -> ProfileFault {
        let mut v = stored();
        edit(&mut v);
        match load(v) {
            Err(Error::InvalidProfile(f)) => f,
            other => panic!("accepted or other error: {other:?}"),
        }
    }

    #[test]
    fn a_valid_profile_loads() {
        let p = load(stored()).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), stored());
        // and through serde's own entry point
        assert_eq!(
            serde_json::from_value::<UserProfile<u32, f64>>(stored()).unwrap(),
            p
        );
    }

    #[test]
    fn error_invalid_threshold() {
        assert_eq!(
            fault(|v| v["threshold"] = json!(-1.0)),
            ProfileFault::InvalidThreshold { value: -1.0 }
        );
    }

    #[test]
    fn error_zero_dimension() {
        assert_eq!(fault(|v| v["dim"] = json!(0)), ProfileFault::ZeroDimension);
    }

    #[test]
    fn error_centroid_length() {
        assert_eq!(
            fault(|v| v["clusters"][1]["centroid"] = json!([])),
            ProfileFault::CentroidLength {
                cluster: 1,
                len: 0,
                dim: 1
            }
        );
    }

    #[test]
    fn error_medoid_embedding_length() {
        assert_eq!(
            fault(|v| v["clusters"][0]["medoid_embedding"] = json!([1.0, 2.0])),
            ProfileFault::MedoidEmbeddingLength {
                cluster: 0,
                len: 2,
                dim: 1
            }
        );
    }

    #[test]
    fn error_non_finite_value() {
        // JSON has no ∞: a number too large for f64 (serde_json rejects it),
        // so check the rule on a deserialized profile directly
        let mut p = load(stored()).unwrap();
        p.clusters[1].centroid[0] = f64::INFINITY;
        assert_eq!(p.check(), Err(ProfileFault::NonFiniteValue { cluster: 1 }));
        let mut p = load(stored()).unwrap();
        p.clusters[0].medoid_embedding[0] = f64::NAN;
        assert_eq!(p.check(), Err(ProfileFault::NonFiniteValue { cluster: 0 }));
    }

    #[test]
    fn error_empty_cluster() {
        assert_eq!(
            fault(|v| v["clusters"][1]["members"] = json!([])),
            ProfileFault::EmptyCluster { cluster: 1 }
        );
    }

    #[test]
    fn error_members_not_sorted() {
        let swapped = |v: &mut Value| {
            let m = v["clusters"][0]["members"].as_array_mut().unwrap();
            m.swap(0, 1);
        };
        assert_eq!(
            fault(swapped),
            ProfileFault::MembersNotSorted { cluster: 0 }
        );
        let duplicated = |v: &mut Value| {
            let m = v["clusters"][0]["members"].as_array_mut().unwrap();
            m[1] = m[0].clone();
        };
        assert_eq!(
            fault(duplicated),
            ProfileFault::MembersNotSorted { cluster: 0 }
        );
    }

    #[test]
    fn error_item_in_two_clusters() {
        assert_eq!(
            fault(|v| {
                v["clusters"][1]["members"][0]["item"] = json!(1);
                v["clusters"][1]["medoid"] = json!(1);
                v["clusters"][1]["action_count"] = json!(1);
                v["clusters"][1]["members"][0]["actions"] = json!(1);
            }),
            ProfileFault::ItemInTwoClusters { cluster: 1 }
        );
    }

    #[test]
    fn error_medoid_not_member() {
        assert_eq!(
            fault(|v| v["clusters"][1]["medoid"] = json!(7)),
            ProfileFault::MedoidNotMember { cluster: 1 }
        );
    }

    #[test]
    fn error_action_count() {
        // a count that does not sum
        assert_eq!(
            fault(|v| v["clusters"][0]["action_count"] = json!(4)),
            ProfileFault::ActionCount { cluster: 0 }
        );
        // a member with 0 actions
        assert_eq!(
            fault(|v| {
                v["clusters"][0]["members"][1]["actions"] = json!(0);
                v["clusters"][0]["action_count"] = json!(1);
            }),
            ProfileFault::ActionCount { cluster: 0 }
        );
        // counts whose sum overflows u64
        assert_eq!(
            fault(|v| {
                v["clusters"][0]["members"][0]["actions"] = json!(u64::MAX);
                v["clusters"][0]["action_count"] = json!(u64::MAX);
            }),
            ProfileFault::ActionCount { cluster: 0 }
        );
    }

    #[test]
    fn error_invalid_importance() {
        assert_eq!(
            fault(|v| v["clusters"][1]["importance"] = json!(-0.5)),
            ProfileFault::InvalidImportance {
                cluster: 1,
                value: -0.5
            }
        );
    }

    #[test]
    fn error_importance_above_action_count() {
        // cluster 0 has 3 actions: an importance of 3 is possible (λ = 0),
        // 3.5 is not
        let mut v = stored();
        v["config"] = serde_json::to_value(
            PinnerSage::builder()
                .alpha(1.0)
                .decay(crate::DecayRate::per_day(0.0).unwrap())
                .build()
                .unwrap(),
        )
        .unwrap();
        v["clusters"][0]["members"][0]["weight"] = json!("1");
        v["clusters"][0]["members"][1]["weight"] = json!("2");
        v["clusters"][0]["importance"] = json!("3");
        assert!(load(v).is_ok());
        assert_eq!(
            fault(|v| v["clusters"][0]["importance"] = json!("3.5")),
            ProfileFault::InvalidImportance {
                cluster: 0,
                value: 3.5
            }
        );
        assert_eq!(
            fault(|v| v["clusters"][1]["importance"] = json!(f64::MAX)),
            ProfileFault::InvalidImportance {
                cluster: 1,
                value: f64::MAX
            }
        );
    }

    #[test]
    fn error_last_action_after_as_of() {
        assert_eq!(
            fault(|v| {
                v["clusters"][0]["last_action"] = json!(101);
                v["clusters"][0]["members"][1]["last_action"] = json!(101);
                v["clusters"][0]["members"][1]["timestamps"] = json!([90, 101]);
            }),
            ProfileFault::LastActionAfterAsOf {
                cluster: 0,
                last_action: 101,
                as_of: 100
            }
        );
    }

    #[test]
    fn error_unsupported_format() {
        // a profile of the first layout has no `format` field
        let unsupported = |found| ProfileFault::UnsupportedFormat {
            found,
            expected: UserProfile::<u32, f64>::FORMAT,
        };
        assert_eq!(
            fault(|v| {
                v.as_object_mut().unwrap().remove("format");
            }),
            unsupported(0)
        );
        assert_eq!(fault(|v| v["format"] = json!(1)), unsupported(1));
        // format 2: members without timestamps
        assert_eq!(
            fault(|v| {
                v["format"] = json!(2);
                for c in 0..2 {
                    for m in v["clusters"][c]["members"].as_array_mut().unwrap() {
                        m.as_object_mut().unwrap().remove("timestamps");
                    }
                }
            }),
            unsupported(2)
        );
        assert_eq!(fault(|v| v["format"] = json!(4)), unsupported(4));
    }

    #[test]
    fn error_invalid_member_weight() {
        assert_eq!(
            fault(|v| v["clusters"][0]["members"][0]["weight"] = json!("1.5")),
            ProfileFault::InvalidMemberWeight {
                cluster: 0,
                member: 0,
                value: 1.5
            }
        );
        assert_eq!(
            fault(|v| v["clusters"][1]["members"][0]["weight"] = json!("-1e-300")),
            ProfileFault::InvalidMemberWeight {
                cluster: 1,
                member: 0,
                value: -1e-300
            }
        );
    }

    #[test]
    fn error_importance_not_sum_of_members() {
        let v = stored();
        let weight = |m: usize| -> f64 {
            v["clusters"][0]["members"][m]["weight"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        };
        // one ulp off the members' sum
        let sum = weight(0) + weight(1);
        let off = f64::from_bits(sum.to_bits() - 1);
        assert_eq!(
            fault(|v| v["clusters"][0]["importance"] = json!(format!("{off:?}"))),
            ProfileFault::ImportanceNotSumOfMembers {
                cluster: 0,
                importance: off,
                sum
            }
        );
    }

    #[test]
    fn error_last_action_mismatch() {
        assert_eq!(
            fault(|v| v["clusters"][0]["last_action"] = json!(99)),
            ProfileFault::LastActionMismatch { cluster: 0 }
        );
    }

    #[test]
    fn error_member_outside_window() {
        // the default window is 90 days: member 0 of cluster 0 acted 91 days
        // before as_of (its cluster's last action is member 1's)
        assert_eq!(
            fault(|v| {
                let t = 100 - 91 * 86_400;
                v["clusters"][0]["members"][0]["last_action"] = json!(t);
                v["clusters"][0]["members"][0]["timestamps"] = json!([t]);
            }),
            ProfileFault::MemberOutsideWindow {
                cluster: 0,
                member: 0
            }
        );
    }

    #[test]
    fn error_timestamps_not_sorted() {
        // member 1 of cluster 0 acted at 90 and 100
        assert_eq!(
            fault(|v| v["clusters"][0]["members"][1]["timestamps"] = json!([100, 90])),
            ProfileFault::TimestampsNotSorted {
                cluster: 0,
                member: 1
            }
        );
    }

    #[test]
    fn error_timestamp_count() {
        assert_eq!(
            fault(|v| v["clusters"][0]["members"][1]["timestamps"] = json!([100])),
            ProfileFault::TimestampCount {
                cluster: 0,
                member: 1,
                timestamps: 1,
                actions: 2
            }
        );
        assert_eq!(
            fault(|v| v["clusters"][1]["members"][0]["timestamps"] = json!([])),
            ProfileFault::TimestampCount {
                cluster: 1,
                member: 0,
                timestamps: 0,
                actions: 1
            }
        );
    }

    #[test]
    fn error_member_last_action() {
        assert_eq!(
            fault(|v| v["clusters"][0]["members"][1]["timestamps"] = json!([90, 99])),
            ProfileFault::MemberLastAction {
                cluster: 0,
                member: 1
            }
        );
    }

    #[test]
    fn error_member_weight_not_decayed_sum() {
        // an older timestamp than the weight says: within the window, sorted,
        // but 10 s older decays the sum by ~1e-6 relative
        let v = stored();
        let weight: f64 = v["clusters"][0]["members"][1]["weight"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        match fault(|v| v["clusters"][0]["members"][1]["timestamps"] = json!([80, 100])) {
            ProfileFault::MemberWeightNotDecayedSum {
                cluster: 0,
                member: 1,
                weight: w,
                sum,
            } => {
                assert_eq!(w, weight);
                assert!(sum < weight && sum > weight - 1e-5, "{sum} vs {weight}");
            }
            other => panic!("{other:?}"),
        }
        // a weight one ulp off is within 1e-12 relative: accepted (another
        // platform's `exp` may round differently)
        let mut ok = stored();
        let off = f64::from_bits(weight.to_bits() + 1);
        let other: f64 = ok["clusters"][0]["members"][0]["weight"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        ok["clusters"][0]["members"][1]["weight"] = json!(format!("{off:?}"));
        ok["clusters"][0]["importance"] = json!(format!("{:?}", other + off));
        assert!(load(ok).is_ok());
    }

    #[cfg(feature = "store")]
    #[test]
    fn corrupted_postcard_timestamps_are_refused() {
        // the binary form: first timestamp, then gaps; a gap of 2^64 − 10
        // wraps to a step back of 10, which the load refuses as unsorted
        let p = load(stored()).unwrap();
        let bytes = postcard::to_stdvec(&p).unwrap();
        // member 1 of cluster 0: [2 (len), 90 (zigzag 180), 10 (gap)]
        let times = [2u8, 180, 1, 10];
        let at = bytes.windows(times.len()).position(|w| w == times).unwrap();
        let mut bad = bytes[..at + 3].to_vec();
        bad.extend(postcard::to_stdvec(&(-10i64 as u64)).unwrap());
        bad.extend(&bytes[at + 4..]);
        let raw: RawUserProfile<u32, f64> = postcard::from_bytes(&bad).unwrap();
        assert_eq!(
            UserProfile::try_from(raw),
            Err(Error::InvalidProfile(ProfileFault::TimestampsNotSorted {
                cluster: 0,
                member: 1
            }))
        );
        // and through serde's own entry point
        assert!(postcard::from_bytes::<UserProfile<u32, f64>>(&bad).is_err());
        // the untouched bytes load
        assert_eq!(
            postcard::from_bytes::<UserProfile<u32, f64>>(&bytes).unwrap(),
            p
        );
    }

    #[test]
    fn error_clusters_not_sorted() {
        // refused, not re-sorted: a stored profile out of rank order did not
        // come from the crate
        assert_eq!(
            fault(|v| v["clusters"].as_array_mut().unwrap().swap(0, 1)),
            ProfileFault::ClustersNotSorted { cluster: 1 }
        );
    }

    #[test]
    fn a_standalone_cluster_is_validated() {
        let v = stored();
        let ok: InterestCluster<u32, f64> =
            serde_json::from_value(v["clusters"][0].clone()).unwrap();
        assert_eq!(ok.size(), 2);
        let mut bad = v["clusters"][1].clone();
        bad["medoid"] = json!(7);
        let raw: RawInterestCluster<u32, f64> = serde_json::from_value(bad.clone()).unwrap();
        match InterestCluster::try_from(raw) {
            Err(Error::InvalidCluster(ProfileFault::MedoidNotMember { cluster: 0 })) => {}
            other => panic!("{other:?}"),
        }
        // and through serde's own entry point
        let e = serde_json::from_value::<InterestCluster<u32, f64>>(bad).unwrap_err();
        assert!(e.to_string().contains("the medoid is not a member"), "{e}");
        let mut empty = v["clusters"][0].clone();
        empty["centroid"] = json!([]);
        empty["medoid_embedding"] = json!([]);
        let raw: RawInterestCluster<u32, f64> = serde_json::from_value(empty).unwrap();
        assert!(matches!(
            InterestCluster::try_from(raw),
            Err(Error::InvalidCluster(ProfileFault::ZeroDimension))
        ));
    }

    /// Issue 12: with λ = 0, two stored clusters of importance 1e308 made an
    /// update return ∞. An importance is at most its action count, so such a
    /// profile is refused on load (and since format 3 an action count needs
    /// as many stored timestamps).
    #[test]
    fn huge_importances_are_refused_and_updates_stay_finite() {
        let config = serde_json::to_value(
            PinnerSage::builder()
                .alpha(1e6)
                .decay(crate::DecayRate::per_day(0.0).unwrap())
                .build()
                .unwrap(),
        )
        .unwrap();
        let mut v = stored();
        v["config"] = config;
        assert_eq!(
            fault(|w| {
                *w = v.clone();
                w["clusters"][0]["importance"] = json!("1e308");
            }),
            ProfileFault::InvalidImportance {
                cluster: 0,
                value: 1e308
            }
        );
        // a huge action count without as many timestamps is refused too:
        // since format 3 an importance is bounded by the number of stored
        // timestamps, so updates cannot reach ∞
        let half = u64::MAX / 2;
        assert_eq!(
            fault(|w| {
                w["clusters"][1]["members"][0]["actions"] = json!(half);
                w["clusters"][1]["action_count"] = json!(half);
            }),
            ProfileFault::TimestampCount {
                cluster: 1,
                member: 0,
                timestamps: 1,
                actions: half
            }
        );
    }
}
