//! Online update between batch runs, and when to recompute instead.
//!
//! ```text
//! cargo run --release --features serde --example online_update
//! ```
//!
//! A profile is computed in the nightly batch, stored (JSON here), loaded the
//! next day when the user acts again, and updated with only the new actions
//! ([`UserProfile::update`]): no history is read. The example then recomputes
//! the profile from the full history at the same `now` and compares the two,
//! first after one day, then after 60 more days of updates only.
//!
//! What it teaches:
//! * an update agrees with a recompute on importances and action counts (up
//!   to rounding) and, for well-separated interests, on memberships; the
//!   clusters the new actions touch are re-clustered from their members'
//!   embeddings (looked up in the source), so their medoids are the
//!   recompute's;
//! * an update expires every action that leaves the window (members keep
//!   their action timestamps), so its members, counts and importances stay
//!   the recompute's; but it never splits an untouched cluster: after weeks
//!   of updates only, its clusters can drift from a recompute's. So **recompute in the batch** (daily, as the paper
//!   does) and **update in between** (the last hours' actions); the profile
//!   store refuses updates more than 2 days after the last batch.

use std::collections::HashSet;

use pinnersage::rand::rngs::Xoshiro256PlusPlus;
use pinnersage::rand::SeedableRng;
use pinnersage::synthetic::{Catalog, CatalogConfig, UserConfig};
use pinnersage::{Action, InMemoryEmbeddings, InterestCluster, PinnerSage, UserProfile};

type BoxError = Box<dyn std::error::Error>;

/// Compares the profiles, matching each updated cluster with the recomputed
/// cluster that contains its medoid (one line each if `verbose`), and
/// returns how many clusters have the same members.
fn compare(
    updated: &UserProfile<usize, f32>,
    recomputed: &UserProfile<usize, f32>,
    verbose: bool,
) -> usize {
    let actions = |p: &UserProfile<usize, f32>| -> u64 {
        p.clusters().iter().map(|c| c.action_count()).sum()
    };
    let members = |c: &InterestCluster<usize, f32>| -> HashSet<usize> {
        c.members().iter().map(|m| m.item).collect()
    };
    let mut same = 0;
    for c in updated.clusters() {
        let Some(r) = recomputed
            .clusters()
            .iter()
            .find(|r| r.contains(c.medoid()))
        else {
            continue; // its actions expired from the recompute's window
        };
        let equal = members(c) == members(r);
        same += usize::from(equal);
        if verbose {
            println!(
                "  medoid {:>5} / {:>5}: importance {:>8.4} / {:>8.4}, actions {:>3} / {:>3}, members {}",
                c.medoid(),
                r.medoid(),
                c.importance(),
                r.importance(),
                c.action_count(),
                r.action_count(),
                if equal { "equal" } else { "differ" }
            );
        }
    }
    println!(
        "  updated: {} clusters, {} actions | recomputed: {} clusters, {} actions | \
         {same} of {} clusters have the same members",
        updated.len(),
        actions(updated),
        recomputed.len(),
        actions(recomputed),
        updated.len()
    );
    same
}

fn main() -> Result<(), BoxError> {
    // a seeded catalogue (64-d unit vectors in 50 topics) and one user
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let catalog = Catalog::<f32>::generate(&CatalogConfig::default(), &mut rng);
    let source = InMemoryEmbeddings::with_row_ids(catalog.embeddings().to_owned())?;
    let day = 86_400;
    let batch_time = 1_700_000_000;
    let history = catalog
        .user(&UserConfig::default(), batch_time, &mut rng)?
        .actions;
    // the actions of the next day: a few clicks on one topic
    let next_day = UserConfig::builder()
        .interests(1)
        .actions(6)
        .window(day)
        .build()?;
    let new_actions = catalog.user(&next_day, batch_time + day, &mut rng)?.actions;

    // 1. nightly batch: profile, then store it (serde; here a JSON string)
    let config = PinnerSage::default();
    let profile = config.profile(&history, &source, batch_time)?;
    let stored: String = serde_json::to_string(&profile)?;
    println!(
        "batch: {} clusters from {} actions, stored as {} bytes of JSON",
        profile.len(),
        history.len(),
        stored.len()
    );

    // 2. next day: load and update with the new actions only
    let now = batch_time + day;
    let mut updated: UserProfile<usize, f32> = serde_json::from_str(&stored)?;
    assert_eq!(updated, profile, "a stored profile loads equal");
    let used = updated.update(&new_actions, &source, now)?;
    println!(
        "update: {} new actions used, now {} clusters",
        used.used_actions,
        updated.len()
    );

    // 3. the same `now`, recomputed from the whole history
    let all: Vec<Action<usize>> = history.iter().chain(&new_actions).copied().collect();
    let recomputed = config.profile(&all, &source, now)?;
    println!("\nafter 1 day (update vs recompute):");
    if compare(&updated, &recomputed, true) != updated.len() {
        return Err("after one day the update should match the recompute".into());
    }

    // 4. 60 more days of updates only: both expire what leaves the window;
    //    the update keeps untouched clusters whole
    let mut all = all;
    for d in 2..=61 {
        let t = batch_time + d * day;
        let more = catalog.user(&next_day, t, &mut rng)?.actions;
        updated.update(&more, &source, t)?;
        all.extend(more);
    }
    let now = batch_time + 61 * day;
    let recomputed = config.profile(&all, &source, now)?;
    println!(
        "\nafter 61 days of updates only (recompute: {} actions outside the window):",
        recomputed.history().outside_window
    );
    compare(&updated, &recomputed, false);
    println!("\nrecompute in the batch, update in between.");
    Ok(())
}
