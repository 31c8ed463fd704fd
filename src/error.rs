//! The crate's error type.
//!
//! Each validation rule has its own variant (or, for the invariants of a
//! stored profile and the rules of the synthetic generator, its own variant of
//! a payload enum, [`ProfileFault`] and [`SyntheticFault`]), so callers can
//! match on the exact cause and tests check each rule separately. Messages
//! name the offending item id, row, column, index or value.

/// Errors returned by `pinnersage`.
///
/// The enum is `#[non_exhaustive]`: later versions may add variants for new
/// validation rules without a breaking change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The embedding matrix has no rows.
    #[error("the embedding matrix has no rows: at least one observation is required")]
    EmptyInput,

    /// The embedding matrix has rows but zero columns.
    #[error("the embedding matrix has {rows} rows but zero columns")]
    ZeroDimension {
        /// Number of rows of the offending matrix.
        rows: usize,
    },

    /// A value in the embedding matrix is NaN or infinite.
    #[error("non-finite value at row {row}, column {column} of the embedding matrix")]
    NonFiniteValue {
        /// Row of the first non-finite value (row-major order).
        row: usize,
        /// Column of the first non-finite value.
        column: usize,
    },

    /// A row weight is zero, negative, NaN or infinite.
    #[error("weight of row {row} is {value}: weights must be finite and > 0")]
    InvalidWeight {
        /// Row whose weight is invalid.
        row: usize,
        /// The weight, converted to `f64`.
        value: f64,
    },

    /// The row weights are each valid but their sum overflows the element
    /// type: cluster weights (sums of row weights) would be infinite and the
    /// Lance–Williams updates NaN. Scale the weights down (Ward's heights scale
    /// with them).
    #[error(
        "the row weights sum past the largest finite value of the element type: scale them down"
    )]
    WeightSumOverflow,

    /// The weight vector's length differs from the number of rows.
    #[error("{weights} weights were given for {rows} rows")]
    WeightLengthMismatch {
        /// Number of rows of the matrix.
        rows: usize,
        /// Number of weights.
        weights: usize,
    },

    /// A condensed dissimilarity vector's length is not `m(m-1)/2` for any `m`.
    #[error("a condensed dissimilarity vector of length {len} fits no number of observations (expected m(m-1)/2)")]
    CondensedLength {
        /// The length given.
        len: usize,
    },

    /// A condensed dissimilarity is negative, NaN or infinite.
    #[error("condensed dissimilarity at index {index} is {value}: dissimilarities must be finite and >= 0")]
    InvalidDissimilarity {
        /// Index into the condensed vector.
        index: usize,
        /// The value, converted to `f64`.
        value: f64,
    },

    /// The matrix path was forced ([`Strategy::Matrix`](crate::ward::Strategy::Matrix))
    /// but its condensed dissimilarity matrix does not fit the memory budget.
    #[error("the condensed matrix of {observations} observations needs {needed} bytes, over the memory budget of {budget} bytes: raise the budget or use the memory-lean strategy")]
    MemoryBudgetExceeded {
        /// Number of observations (rows).
        observations: usize,
        /// Bytes the condensed matrix needs (`usize::MAX` if that overflows).
        needed: usize,
        /// The budget in bytes.
        budget: usize,
    },

    /// A merge threshold is negative or not finite.
    #[error("merge threshold {value} is invalid: it must be finite and >= 0")]
    InvalidThreshold {
        /// The threshold, converted to `f64`.
        value: f64,
    },

    /// A requested number of clusters is 0 or exceeds the number of observations.
    #[error(
        "cannot cut {observations} observations into {k} clusters: k must be in 1..={observations}"
    )]
    InvalidClusterCount {
        /// Requested number of clusters.
        k: usize,
        /// Number of observations.
        observations: usize,
    },

    /// A vector or matrix has the wrong dimension.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The dimension required.
        expected: usize,
        /// The dimension given.
        got: usize,
    },

    /// An item id occurs more than once where ids must be unique.
    #[error("duplicate item id at row {row}")]
    DuplicateId {
        /// Row of the second occurrence.
        row: usize,
    },

    /// Two collections that must be parallel have different lengths.
    #[error("length mismatch: {what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// What was being matched.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },

    /// An action refers to an item the embedding source does not know, and the
    /// configuration asked for an error in that case.
    #[error("item {item} has no embedding (the action at index {index} of the input)")]
    UnknownItem {
        /// The item id, rendered with `Debug`.
        item: String,
        /// Index of the first action on it in the input slice.
        index: usize,
    },

    /// An action is later than the `now` passed by the caller.
    #[error("action {index} has timestamp {timestamp}, later than now = {now}")]
    ActionInFuture {
        /// Index of the action in the input slice.
        index: usize,
        /// The action's timestamp.
        timestamp: i64,
        /// The `now` passed by the caller.
        now: i64,
    },

    /// A decay rate λ is negative or not finite.
    #[error("decay rate {value} is invalid: it must be finite and >= 0")]
    InvalidDecayRate {
        /// The rate given.
        value: f64,
    },

    /// A history window is shorter than one timestamp tick (0 included).
    #[error("history window {window:?} is shorter than one tick of the timestamps ({unit}): it must cover at least one")]
    InvalidWindow {
        /// The window given.
        window: core::time::Duration,
        /// The configured unit of the timestamps.
        unit: crate::TimestampUnit,
    },

    /// A custom timestamp unit of 0 seconds per tick or 0 ticks per second.
    #[error("timestamp unit {unit:?} is invalid: a custom unit must be > 0")]
    InvalidTimestampUnit {
        /// The unit given.
        unit: crate::TimestampUnit,
    },

    /// A non-empty history whose every action is older than the window, so
    /// nothing is left to profile. Often timestamps in another unit than the
    /// configured one (milliseconds read as seconds look 1000 times older);
    /// otherwise a user inactive for longer than the window.
    #[error("all {actions} actions are outside the window of {window_ticks} ticks ({unit}): the newest, {newest}, is {} ticks before now = {now}; are the timestamps in {unit}?", i128::from(*now) - i128::from(*newest))]
    NoActionsInWindow {
        /// Number of actions given.
        actions: usize,
        /// The newest timestamp among them.
        newest: i64,
        /// The `now` passed by the caller.
        now: i64,
        /// The window in timestamp ticks.
        window_ticks: u64,
        /// The configured unit of the timestamps.
        unit: crate::TimestampUnit,
    },

    /// A cap on the number of actions kept is zero.
    #[error("history cap is 0: keep at least one action, or set no cap")]
    ZeroHistoryCap,

    /// A cap on the number of clusters kept in a profile is zero.
    #[error("maximum number of clusters is 0: keep at least one, or set no maximum")]
    ZeroMaxClusters,

    /// A target number of clusters (instead of a merge threshold) is zero.
    #[error("target number of clusters is 0: it must be at least 1")]
    ZeroClusterTarget,

    /// The embedding an [`EmbeddingSource`](crate::EmbeddingSource) returned for
    /// an action's item contains NaN or infinity (a batch of the wrong shape is
    /// [`Error::LengthMismatch`] or [`Error::DimensionMismatch`]).
    #[error("the embedding of item {item} (the action at index {index} of the input) contains NaN or infinity")]
    InvalidEmbedding {
        /// The item id, rendered with `Debug`.
        item: String,
        /// Index (in the input slice) of the first action on that item.
        index: usize,
    },

    /// A batch of embeddings of `ids × dim` values cannot exist: the matrix
    /// would exceed `isize::MAX` bytes (an
    /// [`EmbeddingSource`](crate::EmbeddingSource) reporting an absurd
    /// [`dim`](crate::EmbeddingSource::dim)).
    #[error("a batch of {ids} embeddings of dimension {dim} exceeds the addressable memory: check the source's dim()")]
    EmbeddingBatchTooLarge {
        /// Number of ids asked for.
        ids: usize,
        /// The source's dimension.
        dim: usize,
    },

    /// An online update was asked for a `now` earlier than the time the
    /// profile was computed for.
    #[error("cannot update a profile computed at {as_of} to an earlier now = {now} (are both in the configuration's timestamp unit?)")]
    NowBeforeProfile {
        /// The `now` passed to the update.
        now: i64,
        /// The time the profile's importances refer to.
        as_of: i64,
    },

    /// A stored profile (deserialized with the `serde` feature) breaks one of
    /// the invariants a computed profile keeps; the fault names which.
    #[error("invalid stored profile: {0}")]
    InvalidProfile(ProfileFault),

    /// Adding new actions to a stored cluster would overflow its `u64`
    /// action count.
    #[error("the action count of a cluster would overflow u64")]
    ActionCountOverflow,

    /// A query vector contains NaN or infinity.
    #[error("non-finite value at position {position} of the query vector")]
    NonFiniteQuery {
        /// Position of the first non-finite value.
        position: usize,
    },

    /// A query in a batch contains NaN or infinity.
    #[error("non-finite value at position {position} of query {query} in the batch")]
    NonFiniteBatchQuery {
        /// Row of the batch holding the first non-finite value.
        query: usize,
        /// Position of that value within the query.
        position: usize,
    },

    /// An interest's importance is negative, NaN or infinite, so it cannot
    /// weigh a draw.
    #[error("importance of interest {index} is {value}: importances must be finite and >= 0")]
    InvalidImportance {
        /// Index of the interest.
        index: usize,
        /// The importance, converted to `f64`.
        value: f64,
    },

    /// A row's Euclidean norm exceeds the largest finite value of the element
    /// type (every value is finite, but `‖x‖` is not), so its cosine with a
    /// query cannot be computed. Only [`Metric::Cosine`](crate::ann::Metric::Cosine)
    /// indexes need the norm; rescale the embeddings.
    #[error("the Euclidean norm of row {row} overflows the element type: its cosine is undefined")]
    NormOverflow {
        /// The offending row.
        row: usize,
    },

    /// An [`EmbeddingSource`](crate::EmbeddingSource) could not produce
    /// embeddings (a fetch from a remote store failed, a record could not be
    /// decoded, ...). The source's own error is kept:
    /// [`ExternalError::downcast_ref`] recovers it.
    #[error("the embedding source failed: {0}")]
    Source(#[source] ExternalError),

    /// A nearest-neighbour backend failed: a custom
    /// [`AnnIndex`](crate::ann::AnnIndex) (say, a remote service), or reading
    /// or writing an index's files (`HnswIndex::save` / `HnswIndex::load`,
    /// feature `hnsw`). The backend's own error is kept.
    #[error("the nearest-neighbour backend failed: {0}")]
    Backend(#[source] ExternalError),

    /// The files of a saved index do not belong together or were altered
    /// (`HnswIndex::load`, feature `hnsw`): `what` names the check that failed.
    #[error("the saved index is not usable: {what} does not match")]
    IndexFileMismatch {
        /// The check that failed (a checksum, the element type, the format).
        what: &'static str,
    },

    /// A vector given for a catalogue (`from_pairs` / `from_map`
    /// constructors) has another length than the first one.
    #[error("the vector of catalogue row {row} has length {got}, expected {expected}")]
    VectorLength {
        /// The row (in the catalogue's order) of the offending vector.
        row: usize,
        /// The length of the first vector.
        expected: usize,
        /// The length of this vector.
        got: usize,
    },

    /// An index does not support the requested metric (HNSW needs a
    /// non-negative distance, so it refuses
    /// [`Metric::InnerProduct`](crate::ann::Metric::InnerProduct)).
    #[error("this index does not support the {metric:?} metric: L2-normalise the embeddings and use Metric::Cosine")]
    UnsupportedMetric {
        /// The metric asked for.
        metric: crate::ann::Metric,
    },

    /// HNSW's `M` (links per node and layer) is outside `2..=255`.
    #[error("HNSW max_connections = {value} is not in 2..=255")]
    HnswMaxConnections {
        /// The value given.
        value: usize,
    },

    /// HNSW's `ef_construction` is 0.
    #[error("HNSW ef_construction is 0: it must be at least 1")]
    ZeroEfConstruction,

    /// HNSW's `ef_search` is 0.
    #[error("HNSW ef_search is 0: it must be at least 1")]
    ZeroEfSearch,

    /// More items than the HNSW backend can address (`i32::MAX`).
    #[error("{items} items exceed the HNSW backend's limit of {limit}")]
    TooManyItems {
        /// Number of items given.
        items: usize,
        /// The backend's limit.
        limit: usize,
    },

    /// A [`MedoidCache`](crate::ann::MedoidCache) capacity of 0.
    #[error("medoid cache capacity is 0: it must hold at least 1 neighbour list")]
    ZeroCacheCapacity,

    /// A [`Recommender`](crate::retrieval::Recommender) asked for 0
    /// recommendations.
    #[error("number of recommendations is 0: ask for at least 1")]
    ZeroRecommendations,

    /// A [`Recommender`](crate::retrieval::Recommender) retrieving 0
    /// neighbours per medoid.
    #[error("neighbours per medoid is 0: retrieve at least 1")]
    ZeroPerMedoid,

    /// A [`Selection`](crate::retrieval::Selection) of 0 interests
    /// (`Sample { n: 0 }` or `TopK { n: 0 }`).
    #[error("the selection keeps 0 interests: choose at least 1")]
    ZeroSelection,

    /// A configuration of the synthetic data generator
    /// ([`synthetic`](crate::synthetic)) breaks a rule; the fault names which.
    #[error("invalid synthetic data configuration: {0}")]
    InvalidSyntheticConfig(SyntheticFault),

    /// A deserialized [`Dendrogram`](crate::ward::Dendrogram) (feature
    /// `serde`) breaks one of the invariants a computed one keeps; the fault
    /// names which.
    #[error("invalid stored dendrogram: {0}")]
    InvalidDendrogram(DendrogramFault),

    /// A flat action log given to
    /// [`batch::group_by_user`](crate::batch::group_by_user) is not sorted by
    /// user: the run of actions starting at `row` (0-based) belongs to a user
    /// smaller than the previous run's. Reported as that user's result.
    #[error("the action log is not sorted by user: the user at row {row} came after a larger user id; sort the log by user")]
    UsersNotSorted {
        /// The 0-based row (action) where the out-of-order run starts.
        row: u64,
    },

    /// The profile store (feature `store`) failed: the database could not be
    /// opened, read or written, or a stored record could not be decoded. The
    /// backend's own error is kept.
    #[error("the profile store failed: {0}")]
    Store(#[source] ExternalError),

    /// A profile written to a profile store was computed with another
    /// configuration than the one the store holds for its profiles (feature
    /// `store`; the configuration is stored once, not per user).
    #[error("the profile's configuration differs from the store's: open the store with the configuration the profiles were computed with, or start a new store")]
    StoreConfigMismatch,

    /// An online update would move a stored profile more than the allowed
    /// span past its last full computation (feature `store`): the update
    /// expires members whose last action left the window, but keeps
    /// untouched clusters whole and older repeats of items still in the
    /// window, so the profile drifts from a recompute as the span grows.
    /// Recompute it (the daily batch).
    #[error("the stored profile was last computed at {computed_at}; an update at {now} is more than {max_ticks} ticks later: recompute it")]
    StaleProfile {
        /// The `now` of the last full computation.
        computed_at: i64,
        /// The `now` of the refused update.
        now: i64,
        /// The allowed span, in timestamp ticks.
        max_ticks: u64,
    },

    // --- pictures (feature `plot`) ---
    /// A profile given to `plot::UserView::from_profile` (feature `plot`)
    /// is not the one its own configuration computes from the actions and
    /// embedding source given with it (other actions, another source, or a
    /// profile changed by an online update since): the picture would show
    /// another clustering than the profile's.
    #[error("the profile does not match the actions and embeddings given: {reason}; pass the history and source it was computed from, or picture a fresh computation (UserView::compute)")]
    PlotProfileMismatch {
        /// What differs.
        reason: &'static str,
    },

    /// There is nothing to draw: the history has no known action in the
    /// window (an empty profile).
    #[error("nothing to draw: the profile has no clusters (no known action in the window)")]
    EmptyPlot,

    /// A leaf index given to a picture (a medoid) is not an observation of
    /// its dendrogram.
    #[error("leaf {leaf} is out of range: the dendrogram has {observations} observations")]
    PlotLeafOutOfRange {
        /// The index given.
        leaf: usize,
        /// Number of observations.
        observations: usize,
    },

    /// A picture's size is too small to draw in.
    #[error(
        "picture size {width}×{height} is too small: at least {min_width}×{min_height} pixels"
    )]
    PlotSize {
        /// Width asked for, in pixels.
        width: u32,
        /// Height asked for, in pixels.
        height: u32,
        /// Smallest width accepted.
        min_width: u32,
        /// Smallest height accepted.
        min_height: u32,
    },

    /// A dendrogram picture must show at least 2 leaves.
    #[error("max_leaves = {value}: a dendrogram picture shows at least 2 leaves")]
    PlotMaxLeaves {
        /// The value given.
        value: usize,
    },

    /// The drawing backend failed (an SVG element could not be written).
    #[error("drawing the picture failed: {0}")]
    PlotRender(#[source] ExternalError),

    /// A picture could not be written to its file.
    #[error("cannot write {path}: {source}")]
    PlotWrite {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: ExternalError,
    },

    /// PCA was asked for no components, or for more than the data has
    /// dimensions.
    #[error("PCA with {components} components{}: it needs 1 to the number of columns", dim.map_or(String::new(), |d| format!(" of {d}-dimensional data")))]
    PcaComponents {
        /// Components asked for.
        components: usize,
        /// The data's dimension (`None` when the count is 0, checked before
        /// any data is seen).
        dim: Option<usize>,
    },

    /// PCA's iteration limit is 0.
    #[error("PCA max_iterations is 0: allow at least 1 power-iteration step")]
    PcaIterations,

    /// PCA's convergence tolerance is not finite or not positive.
    #[error("PCA tolerance {value} is invalid: it must be finite and > 0")]
    PcaTolerance {
        /// The value given.
        value: f64,
    },

    // --- online update with expiry, stored format 2 (issue 11) ---
    /// A deserialized [`InterestCluster`](crate::InterestCluster) on its own
    /// (feature `serde`) breaks an invariant a computed cluster keeps; the
    /// fault names which (its `cluster` is 0).
    #[error("invalid stored interest cluster: {0}")]
    InvalidCluster(ProfileFault),

    /// An online update needs the embedding of a stored member (to
    /// re-cluster the clusters the new actions touch) and the source does not
    /// know the item, with [`UnknownItems::Error`](crate::UnknownItems::Error)
    /// (with `Skip` the member is dropped, as a recompute would skip it).
    #[error("the stored member {item} is unknown to the embedding source")]
    UnknownStoredItem {
        /// The item, formatted with `Debug`.
        item: String,
    },

    /// An online update looked up the embedding of a stored member and the
    /// source returned NaN or infinity.
    #[error("the embedding of stored member {item} holds NaN or infinity")]
    InvalidStoredEmbedding {
        /// The item, formatted with `Debug`.
        item: String,
    },

    /// A profile store (feature `store`) was written with another record
    /// layout than this version reads (`found` is `None` for a store without
    /// a format mark). Rebuild it with the batch.
    #[error("the profile store has record format {found:?}, this version reads {expected}: rebuild it with the batch")]
    StoreFormatMismatch {
        /// The store's format byte, if any.
        found: Option<u8>,
        /// The format this version reads and writes.
        expected: u8,
    },

    // --- hardening (issue 12): numbers out of the element type's range ---
    /// A Ward merge height exceeds the largest finite value of the element
    /// type (the data's magnitude squared, times the weights, does not fit:
    /// use `f64`, or scale the rows down).
    #[error("merge {merge}: the Ward height exceeds the largest finite value of the element type (use f64 or scale the rows down)")]
    HeightOverflow {
        /// The merge (in sorted order) whose height overflows.
        merge: usize,
    },
    /// A positive Ward merge height is below the smallest normal value of the
    /// element type, so it cannot be reported to the type's precision (the
    /// rows differ by less than about `√F::MIN_POSITIVE`: use `f64`, or
    /// scale the rows up).
    #[error("merge {merge}: the Ward height is below the smallest normal value of the element type (use f64 or scale the rows up)")]
    HeightUnderflow {
        /// The merge (in sorted order) whose height underflows.
        merge: usize,
    },
    /// A buffer the caller's configuration allows could not be allocated
    /// (for example the matrix path forced with an unlimited memory budget):
    /// lower the budget or use the memory-lean path.
    #[error("could not allocate {bytes} bytes (lower the memory budget or use Strategy::Lean)")]
    AllocationFailed {
        /// The bytes asked for.
        bytes: usize,
    },
    /// An item of a squared-Euclidean or inner-product index has a value
    /// beyond the index's magnitude limit `√(MAX / (4·d))` (`MAX` the largest
    /// finite value of the type distances are computed in: `f32` for HNSW),
    /// so some distance would overflow.
    #[error("item row {row} has a value beyond the index's magnitude limit {limit:e}")]
    ItemMagnitude {
        /// The first offending row.
        row: usize,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// A query has a value beyond the index's magnitude limit (see
    /// [`Error::ItemMagnitude`]).
    #[error("the query has a value beyond the index's magnitude limit {limit:e}")]
    QueryMagnitude {
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// A candidate handed to [`blend`](crate::retrieval::blend) has a NaN
    /// or infinite distance, which has no score (an [`AnnIndex`](crate::ann::AnnIndex)
    /// implementation returned it).
    #[error("candidate {position} of list {list} has the non-finite distance {value}")]
    NonFiniteDistance {
        /// The list (position in the lists given).
        list: usize,
        /// The candidate's position in its list.
        position: usize,
        /// The distance, converted to `f64`.
        value: f64,
    },
    /// A pair `(i, j)` that is not `i < j < m` was asked of a condensed
    /// matrix of `m` observations.
    #[error("({i}, {j}) is not a pair i < j < {m} of a condensed matrix")]
    InvalidPair {
        /// Observations.
        m: usize,
        /// First index.
        i: usize,
        /// Second index.
        j: usize,
    },
}

/// Which invariant of a stored [`UserProfile`](crate::UserProfile) is broken:
/// the payload of [`Error::InvalidProfile`]. `cluster` is the index of the
/// offending cluster in the stored order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileFault {
    /// The profile has clusters but dimension 0.
    #[error("the profile has clusters but dimension 0")]
    ZeroDimension,
    /// The stored threshold is negative or not finite.
    #[error("threshold {value} is negative or not finite")]
    InvalidThreshold {
        /// The stored threshold.
        value: f64,
    },
    /// A cluster's centroid does not have the profile's dimension.
    #[error("cluster {cluster}: centroid of length {len}, expected {dim}")]
    CentroidLength {
        /// The cluster.
        cluster: usize,
        /// The centroid's length.
        len: usize,
        /// The profile's dimension.
        dim: usize,
    },
    /// A cluster's medoid embedding does not have the profile's dimension.
    #[error("cluster {cluster}: medoid embedding of length {len}, expected {dim}")]
    MedoidEmbeddingLength {
        /// The cluster.
        cluster: usize,
        /// The embedding's length.
        len: usize,
        /// The profile's dimension.
        dim: usize,
    },
    /// A cluster's centroid or medoid embedding holds NaN or infinity.
    #[error("cluster {cluster}: non-finite value in the centroid or medoid embedding")]
    NonFiniteValue {
        /// The cluster.
        cluster: usize,
    },
    /// A cluster has no members.
    #[error("cluster {cluster} has no members")]
    EmptyCluster {
        /// The cluster.
        cluster: usize,
    },
    /// A cluster's members are not sorted by item id, or an id repeats.
    #[error("cluster {cluster}: members not strictly sorted by item id")]
    MembersNotSorted {
        /// The cluster.
        cluster: usize,
    },
    /// An item is a member of two clusters.
    #[error("cluster {cluster}: an item is also a member of an earlier cluster")]
    ItemInTwoClusters {
        /// The later of the two clusters.
        cluster: usize,
    },
    /// The medoid is not a member of its cluster.
    #[error("cluster {cluster}: the medoid is not a member")]
    MedoidNotMember {
        /// The cluster.
        cluster: usize,
    },
    /// A member has 0 actions, or the members' action counts do not sum
    /// (without overflow) to the cluster's action count.
    #[error("cluster {cluster}: member action counts are zero or do not sum to the action count")]
    ActionCount {
        /// The cluster.
        cluster: usize,
    },
    /// An importance is negative, not finite, or larger than the cluster's
    /// action count (each action weighs at most 1, so a larger importance
    /// cannot come from a computation, and merging such clusters in an update
    /// could overflow to ∞).
    #[error("cluster {cluster}: importance {value} is negative, not finite, or more than its action count")]
    InvalidImportance {
        /// The cluster.
        cluster: usize,
        /// The stored importance.
        value: f64,
    },
    /// A cluster's last action is later than the profile's `as_of`.
    #[error("cluster {cluster}: last action {last_action} is later than as_of = {as_of}")]
    LastActionAfterAsOf {
        /// The cluster.
        cluster: usize,
        /// The cluster's last action.
        last_action: i64,
        /// The profile's time.
        as_of: i64,
    },

    // --- stored format 2 (issue 11, issue 12) ---
    /// The profile was written in another layout version than
    /// [`UserProfile::FORMAT`](crate::UserProfile::FORMAT) (0: a profile
    /// written before the version field existed). Recompute it.
    #[error("stored profile format {found}, this version reads {expected}: recompute the profile")]
    UnsupportedFormat {
        /// The stored version.
        found: u32,
        /// The version this crate reads and writes.
        expected: u32,
    },
    /// A member's decayed weight is negative, not finite, or more than its
    /// action count (each action weighs at most 1).
    #[error("cluster {cluster}, member {member}: weight {value} is negative, not finite, or more than its action count")]
    InvalidMemberWeight {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
        /// The stored weight.
        value: f64,
    },
    /// A cluster's importance is not the sum of its members' weights (summed
    /// in item order, as the crate computes it: bit for bit).
    #[error(
        "cluster {cluster}: importance {importance} is not the sum {sum} of its members' weights"
    )]
    ImportanceNotSumOfMembers {
        /// The cluster.
        cluster: usize,
        /// The stored importance.
        importance: f64,
        /// The sum of the members' weights.
        sum: f64,
    },
    /// A cluster's last action is not its members' latest.
    #[error("cluster {cluster}: last action differs from its members' latest")]
    LastActionMismatch {
        /// The cluster.
        cluster: usize,
    },
    /// A member's oldest action (format 3: its first timestamp) is older
    /// than the configuration's window as seen from the profile's `as_of` (a
    /// computation or update drops every such action).
    #[error("cluster {cluster}, member {member}: an action outside the window")]
    MemberOutsideWindow {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
    },
    /// Clusters are not in rank order (importance descending, then most
    /// recent action, then smallest medoid id): `cluster` should come before
    /// the one preceding it. Stored profiles are refused, not re-sorted.
    #[error("cluster {cluster} is out of rank order (importance descending)")]
    ClustersNotSorted {
        /// The cluster.
        cluster: usize,
    },

    // --- stored format 3 (issue 11: per-action timestamps) ---
    /// A member's action timestamps are not sorted oldest first.
    #[error("cluster {cluster}, member {member}: action timestamps not sorted oldest first")]
    TimestampsNotSorted {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
    },
    /// A member's number of action timestamps differs from its action count.
    #[error("cluster {cluster}, member {member}: {timestamps} timestamps for {actions} actions")]
    TimestampCount {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
        /// Number of stored timestamps.
        timestamps: usize,
        /// The member's action count.
        actions: u64,
    },
    /// A member's last action is not its latest timestamp.
    #[error("cluster {cluster}, member {member}: last action differs from its latest timestamp")]
    MemberLastAction {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
    },
    /// A member's weight is not `Σ exp(−λ·(as_of − t))` over its timestamps
    /// (to 1e-12 relative: the stored sum may come from another platform's
    /// `exp`).
    #[error("cluster {cluster}, member {member}: weight {weight} is not the decayed sum {sum} of its timestamps")]
    MemberWeightNotDecayedSum {
        /// The cluster.
        cluster: usize,
        /// The member's position in the cluster.
        member: usize,
        /// The stored weight.
        weight: f64,
        /// The decayed sum of its timestamps as of the profile's `as_of`.
        sum: f64,
    },
}

/// The error of a component outside the crate (an embedding store, an ANN
/// service, the file system), carried by [`Error::Source`] and
/// [`Error::Backend`].
///
/// Cheap to clone (reference-counted). Two values compare equal only if they
/// are clones of the same failure (pointer equality): errors of other crates
/// rarely implement `PartialEq`. Use [`downcast_ref`](Self::downcast_ref) to
/// match on the original error.
///
/// ```
/// use pinnersage::{Error, ExternalError};
///
/// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "feature store timed out");
/// let e = Error::Source(ExternalError::new(io));
/// assert!(e.to_string().ends_with("feature store timed out"));
/// if let Error::Source(inner) = &e {
///     let io = inner.downcast_ref::<std::io::Error>().unwrap();
///     assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ExternalError(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ExternalError {
    /// Wraps any error (or a message: `&str` and `String` convert too).
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        ExternalError(std::sync::Arc::from(error.into()))
    }

    /// The wrapped error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The wrapped error as `E`, if it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl PartialEq for ExternalError {
    /// Pointer equality: `true` for clones of the same failure.
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl core::fmt::Display for ExternalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ExternalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Which rule of a synthetic data configuration is broken: the payload of
/// [`Error::InvalidSyntheticConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntheticFault {
    /// A catalogue of zero items.
    #[error("a catalogue needs at least one item")]
    ZeroItems,
    /// Embeddings of dimension 0.
    #[error("the embedding dimension must be at least 1")]
    ZeroDimension,
    /// A catalogue of zero topics.
    #[error("a catalogue needs at least one topic")]
    ZeroTopics,
    /// More topics than items.
    #[error("{topics} topics for {items} items: every topic needs an item")]
    TopicsExceedItems {
        /// Topics asked for.
        topics: usize,
        /// Items asked for.
        items: usize,
    },
    /// A negative or non-finite within-topic spread.
    #[error("spread {value} must be finite and >= 0")]
    InvalidSpread {
        /// The spread given.
        value: f64,
    },
    /// An `items × dim` matrix larger than memory can address.
    #[error("{items} items of dimension {dim} exceed the addressable memory")]
    CatalogTooLarge {
        /// Items asked for.
        items: usize,
        /// Dimension asked for.
        dim: usize,
    },
    /// A user history longer than memory can address.
    #[error("{actions} actions exceed the addressable memory")]
    TooManyActions {
        /// Actions asked for.
        actions: usize,
    },
    /// A user with zero interests.
    #[error("a user needs at least one interest")]
    ZeroInterests,
    /// More interests than the catalogue has topics.
    #[error("{interests} interests but the catalogue has {topics} topics")]
    InterestsExceedTopics {
        /// Interests asked for.
        interests: usize,
        /// Topics of the catalogue.
        topics: usize,
    },
    /// A negative history window.
    #[error("window {value} must be >= 0")]
    NegativeWindow {
        /// The window given.
        value: i64,
    },
    /// A repeat probability outside `[0, 1]` (or NaN).
    #[error("repeat probability {value} is not in [0, 1]")]
    InvalidRepeatProbability {
        /// The probability given.
        value: f64,
    },
    /// `now − window` is below the smallest `i64` timestamp.
    #[error("now = {now} minus window {window} is below the smallest timestamp")]
    WindowStartOverflow {
        /// The `now` given.
        now: i64,
        /// The configured window.
        window: i64,
    },
}

/// Which invariant of a stored [`Dendrogram`](crate::ward::Dendrogram) is
/// broken: the payload of [`Error::InvalidDendrogram`]. `merge` is the index
/// of the offending merge in the stored order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DendrogramFault {
    /// Zero observations: a dendrogram has at least one.
    #[error("zero observations")]
    NoObservations,
    /// Not `observations − 1` merges.
    #[error("{merges} merges for {observations} observations (expected observations − 1)")]
    MergeCount {
        /// The stored number of observations.
        observations: usize,
        /// The stored number of merges.
        merges: usize,
    },
    /// A merge names a cluster that does not exist yet (ids must satisfy
    /// `a < b < observations + merge`), or names the same cluster twice.
    #[error("merge {merge}: clusters {a} and {b} are not two existing clusters with a < b")]
    NodeOutOfRange {
        /// The merge.
        merge: usize,
        /// Its first cluster id.
        a: usize,
        /// Its second cluster id.
        b: usize,
    },
    /// A merge uses a cluster an earlier merge already absorbed.
    #[error("merge {merge}: cluster {node} was already merged")]
    NodeReused {
        /// The merge.
        merge: usize,
        /// The cluster merged twice.
        node: usize,
    },
    /// A merge distance is negative, NaN or infinite, or smaller than the
    /// previous merge's (merges are sorted by distance).
    #[error("merge {merge}: distance {value} is not finite, >= 0 and >= the previous one")]
    InvalidDistance {
        /// The merge.
        merge: usize,
        /// The stored distance, converted to `f64`.
        value: f64,
    },
    /// A merge's size is not the sum of its two clusters' sizes.
    #[error("merge {merge}: size {size}, but its clusters hold {expected} observations")]
    WrongSize {
        /// The merge.
        merge: usize,
        /// The stored size.
        size: usize,
        /// The sum of the two clusters' sizes.
        expected: usize,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
