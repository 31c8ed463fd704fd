//! Errors of the offline evaluation.

/// What can go wrong in the offline evaluation: one variant per rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A metric was asked for an empty target set.
    #[error("no target items: the metric is undefined")]
    NoTargets,
    /// A similarity threshold τ outside [−1, 1] or not finite.
    #[error("relevance threshold {value} is not a finite number in [-1, 1]")]
    InvalidThreshold {
        /// The offending value.
        value: f64,
    },
    /// A score used for ranking is NaN or infinite.
    #[error("score of item {item} is not finite")]
    NonFiniteScore {
        /// The item whose score is bad.
        item: usize,
    },
    /// An embedding row with a zero norm or a non-finite value.
    #[error("embedding row {row} is zero or not finite")]
    BadEmbedding {
        /// The offending row.
        row: usize,
    },
    /// The embedding matrix has no rows or no columns.
    #[error("the embedding matrix is empty ({rows} x {cols})")]
    EmptyEmbeddings {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// An action names an item outside the embedding matrix.
    #[error("item {item} is out of range: the embedding matrix has {items} rows")]
    ItemOutOfRange {
        /// The item named.
        item: usize,
        /// Number of rows of the embedding matrix.
        items: usize,
    },
    /// A timestamp whose day start `day·86400` or window start overflows `i64`.
    #[error("timestamp {timestamp} is too far from 0 for day arithmetic")]
    TimestampOverflow {
        /// The offending timestamp.
        timestamp: i64,
    },
    /// A protocol parameter that breaks its rule.
    #[error("invalid protocol parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An error of the core crate (Ward linkage, medoid).
    #[error(transparent)]
    Core(#[from] crate::Error),
}

/// Result of the evaluation functions.
pub type EvalResult<T> = core::result::Result<T, EvalError>;
