//! The bodies of the `cargo fuzz` targets in `fuzz/` (each target calls one
//! of these functions with the fuzzer's bytes), shared with
//! `tests/fuzz_corpus.rs`, which runs them over a generated corpus on stable
//! Rust. Each function decodes bytes into inputs for a public entry point,
//! calls it, and panics if an `Ok` breaks an invariant; a typed `Err` is
//! fine.
#![allow(dead_code)]

use ndarray::{Array1, Array2};
use pinnersage::ward::{linkage_condensed, Dendrogram, Strategy, Ward};
use pinnersage::{Action, InMemoryEmbeddings, PinnerSage, UserProfile};

/// A cursor over the fuzzer's bytes; reads past the end give zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }
    pub fn u8(&mut self) -> u8 {
        let v = self.data.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        v
    }
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }
    pub fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    /// An f64 from raw bits (any NaN, ∞, subnormal) or, for a small tag, a
    /// "structured" value (offsets, powers of ten), to reach both worlds.
    pub fn f64(&mut self) -> f64 {
        match self.u8() % 4 {
            0 => f64::from_bits(self.u64()),
            1 => {
                let e = i32::from(self.u8() as i8) * 2; // 10^-256 ..= 10^254
                let m = f64::from(self.u8()) / 16.0;
                m * 10f64.powi(e)
            }
            2 => 1000.0 + f64::from(self.u8()) * 1e-6,
            _ => f64::from(self.u8() as i8),
        }
    }
    pub fn f32(&mut self) -> f32 {
        match self.u8() % 4 {
            0 => f32::from_bits(self.u64() as u32),
            1 => {
                let e = i32::from(self.u8() as i8) / 3; // 10^-42 ..= 10^42
                let m = f32::from(self.u8()) / 16.0;
                m * 10f32.powi(e)
            }
            2 => 1000.0 + f32::from(self.u8()) * 1e-3,
            _ => f32::from(self.u8() as i8),
        }
    }
    pub fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

fn check_tree<F: pinnersage::Scalar>(tree: &Dendrogram<F>, m: usize) {
    let d = tree.distances();
    assert_eq!(d.len(), m.saturating_sub(1));
    assert!(d.iter().all(|h| h.is_finite() && *h >= F::zero()));
    assert!(d.windows(2).all(|w| w[0] <= w[1]));
    for k in 1..=m.min(4) {
        let labels = tree.cut_k(k).expect("k in 1..=m");
        assert!(labels.iter().all(|&l| l < k));
    }
    let _ = tree.to_scipy();
}

/// Ward linkage (all paths, weighted or not, f32 or f64), the condensed
/// entry point and the medoid.
pub fn linkage(data: &[u8]) {
    let mut b = Bytes::new(data);
    let head = b.u8();
    let d = usize::from(b.u8() % 4) + 1;
    let m = usize::from(b.u8() % 24);
    let strategy = [Strategy::Auto, Strategy::Matrix, Strategy::Lean][usize::from(head % 3)];
    let ward = Ward::new().strategy(strategy);
    if head & 8 == 0 {
        let x = Array2::from_shape_fn((m, d), |_| b.f64());
        let w = Array1::from_shape_fn(m, |_| b.f64().abs());
        let got = if head & 16 == 0 {
            ward.linkage(x.view())
        } else {
            ward.linkage_weighted(x.view(), w.view())
        };
        if let Ok(t) = got {
            check_tree(&t, m);
        }
        if let Ok(i) = pinnersage::medoid::medoid(x.view(), Some(w.view())) {
            assert!(i < m);
        }
        let c = Array1::from_shape_fn(m * m.saturating_sub(1) / 2, |_| b.f64());
        if let Ok(t) = linkage_condensed(c.view()) {
            check_tree(&t, m.max(1));
        }
    } else {
        let x = Array2::from_shape_fn((m, d), |_| b.f32());
        if let Ok(t) = ward.linkage(x.view()) {
            check_tree(&t, m);
        }
        if let Ok(i) = pinnersage::medoid::medoid(x.view(), None) {
            assert!(i < m);
        }
    }
}

fn check_profile(p: &UserProfile<u32, f32>, n: Option<usize>) {
    if let Some(t) = p.threshold() {
        assert!(t.is_finite() && t >= 0.0);
    }
    let imps: Vec<f64> = p.clusters().iter().map(|c| c.importance()).collect();
    assert!(imps.iter().all(|i| i.is_finite() && *i >= 0.0));
    if let Some(n) = n {
        for c in p.clusters() {
            assert!((*c.medoid() as usize) < n);
        }
    }
}

/// A profile of fuzzed embeddings and actions, then an online update.
pub fn profile_update(data: &[u8]) {
    let mut b = Bytes::new(data);
    let n = usize::from(b.u8() % 12) + 1;
    let d = usize::from(b.u8() % 3) + 1;
    let rows = Array2::from_shape_fn((n, d), |_| b.f32());
    let Ok(source) = InMemoryEmbeddings::new((0..n as u32).collect(), rows) else {
        return;
    };
    let mut builder = PinnerSage::builder().window(None);
    match b.u8() % 3 {
        0 => builder = builder.target_clusters(usize::from(b.u8() % 4)),
        1 => builder = builder.alpha(b.f64()),
        _ => {}
    }
    let Ok(config) = builder.build() else { return };
    let now = b.i64();
    let count = usize::from(b.u8() % 16);
    let actions: Vec<Action<u32>> = (0..count)
        .map(|_| {
            Action::new(
                u32::from(b.u8()) % (n as u32 + 1),
                now.saturating_sub(i64::from(b.u8())),
            )
        })
        .collect();
    let Ok(mut p) = config.profile(&actions, &source, now) else {
        return;
    };
    check_profile(&p, Some(n));
    let later = now.saturating_add(i64::from(b.u8()));
    let more: Vec<Action<u32>> = (0..usize::from(b.u8() % 8))
        .map(|_| {
            Action::new(
                u32::from(b.u8()) % n as u32,
                later.saturating_sub(i64::from(b.u8())),
            )
        })
        .collect();
    if p.update(&more, &source, later).is_ok() {
        check_profile(&p, Some(n));
    }
}

/// A stored profile (JSON, and postcard with the `store` feature): loading
/// gives `Err` or a profile that validates, re-serializes to itself and
/// updates without panicking.
pub fn stored_profile(data: &[u8]) {
    let source = InMemoryEmbeddings::new(
        (0..4u32).collect(),
        Array2::from_shape_fn((4, 2), |(i, j)| (i * 2 + j) as f32),
    )
    .expect("valid");
    load_profile(data, &source);
    // a valid payload with bytes overwritten at fuzzed positions
    let actions = [Action::new(0, 1), Action::new(1, 2), Action::new(3, 3)];
    let valid = PinnerSage::builder()
        .window(None)
        .build()
        .and_then(|c| c.profile(&actions, &source, 5))
        .expect("valid profile");
    let mut json = serde_json::to_vec(&valid).expect("serializes");
    let mut b = Bytes::new(data);
    while !b.done() && !json.is_empty() {
        let at = usize::from(b.u8()) * 7 % json.len();
        json[at] = b.u8();
    }
    load_profile(&json, &source);
}

fn load_profile(data: &[u8], source: &InMemoryEmbeddings<u32, f32>) {
    if let Ok(p) = serde_json::from_slice::<UserProfile<u32, f32>>(data) {
        let again: UserProfile<u32, f32> =
            serde_json::from_str(&serde_json::to_string(&p).expect("serializes")).expect("reloads");
        assert_eq!(again, p);
        let mut p = p;
        let now = p.as_of().saturating_add(1);
        if p.update(&[Action::new(1, now)], source, now).is_ok() {
            check_profile(&p, None);
        }
    }
    #[cfg(feature = "store")]
    if let Ok(p) = postcard::from_bytes::<UserProfile<u32, f32>>(data) {
        let bytes = postcard::to_stdvec(&p).expect("serializes");
        let again: UserProfile<u32, f32> = postcard::from_bytes(&bytes).expect("reloads");
        assert_eq!(again, p);
    }
}

/// A stored dendrogram (JSON): `Err` or one that cuts like a computed one.
/// The bytes are tried as a payload themselves and as the description of a
/// structured one (small ids, sizes and any distance).
pub fn dendrogram(data: &[u8]) {
    load_dendrogram(data);
    let mut b = Bytes::new(data);
    let m = usize::from(b.u8() % 8);
    let merges: Vec<serde_json::Value> = (0..usize::from(b.u8() % 8))
        .map(|_| {
            serde_json::json!({
                "a": b.u8() % 10, "b": b.u8() % 10, "distance": b.f64(), "size": b.u8() % 10
            })
        })
        .collect();
    let payload = serde_json::json!({ "observations": m, "merges": merges });
    load_dendrogram(&serde_json::to_vec(&payload).expect("serializes"));
}

fn load_dendrogram(data: &[u8]) {
    if let Ok(t) = serde_json::from_slice::<Dendrogram<f64>>(data) {
        check_tree(&t, t.observations());
        let _ = t.cut(1.0);
    }
    if let Ok(t) = serde_json::from_slice::<Dendrogram<f32>>(data) {
        check_tree(&t, t.observations());
    }
}
