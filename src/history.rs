//! A user's actions: which item, and when.

/// One engagement of a user with an item (a save, a click, ...).
///
/// `I` is the caller's item id type (an integer, a string, a newtype):
/// [`PinnerSage::profile`](crate::PinnerSage::profile) and
/// [`UserProfile::update`](crate::UserProfile::update) need `Clone + Ord`
/// (ids are sorted, so results do not depend on hashing or input order), and
/// [`InMemoryEmbeddings`](crate::InMemoryEmbeddings) needs `Clone + Eq + Hash`. Timestamps are the caller's integers; Unix seconds is
/// the natural choice, and every time parameter of the crate (windows, decay
/// rate) is expressed against the same unit.
///
/// ```
/// use pinnersage::Action;
/// let a = Action::new("pin:42", 1_700_000_000);
/// assert_eq!(a.item, "pin:42");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Action<I> {
    /// The item acted on.
    pub item: I,
    /// When, in the caller's time unit (Unix seconds by convention).
    pub timestamp: i64,
}

impl<I> Action<I> {
    /// An action on `item` at `timestamp`.
    pub fn new(item: I, timestamp: i64) -> Self {
        Action { item, timestamp }
    }
}
