import numpy as np
import pinnersage

rng = np.random.default_rng(0)

# 1. Ward linkage, a drop-in for scipy.cluster.hierarchy.linkage(X, "ward")
X = rng.standard_normal((2000, 256)).astype(np.float32)
Z = pinnersage.linkage(X)  # (1999, 4) float64: [a, b, height, size], scipy's heights
print("linkage:", Z.shape, "last merge at height", round(Z[-1, 2], 3))

# 2. A catalogue of 3000 unit vectors in 30 topics (item i is in topic i % 30)
centres = rng.standard_normal((30, 64))
emb = centres[np.arange(3000) % 30] + 0.1 * rng.standard_normal((3000, 64))
emb /= np.linalg.norm(emb, axis=1, keepdims=True)

# one user: 40 actions on topic 4 (last week), 10 on topic 17 (a month ago)
now, day = 1_700_000_000, 86_400
items = np.concatenate([30 * rng.integers(0, 100, 40) + 4, 30 * rng.integers(0, 100, 10) + 17])
timestamps = np.concatenate([now - rng.integers(0, 7 * day, 40), now - rng.integers(25 * day, 35 * day, 10)])

config = pinnersage.PinnerSage()  # alpha = 4, lambda = 0.01/day, 90-day window, Unix seconds
profile = config.profile(items, timestamps, emb, now)
for c in profile:
    print(f"medoid {c.medoid} (topic {c.medoid % 30}), importance {c.importance:.2f}, {c.size} items")
assert [c.medoid % 30 for c in profile] == [4, 17]
print("medoids to query the index with:", profile.sample_medoids(n=2, seed=7))

# 3. A whole action log (user, item, timestamp columns) at once, in parallel
users = np.repeat(np.arange(100), 50)
log_items = 30 * rng.integers(0, 100, 5000) + (users % 7)
log_ts = now - rng.integers(0, 60 * day, 5000)
cols = config.profiles(users, log_items, log_ts, emb, now)  # dict of numpy arrays
print("batch:", len(np.unique(cols["user"])), "users,", len(cols["user"]), "clusters")
