//! Principal component analysis for pictures: a few leading components by
//! power iteration with deflation, no LAPACK.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Unchecked options of [`Pca`]; [`build`](Self::build) validates them.
///
/// ```
/// let pca = pinnersage::plot::Pca::builder().components(3).max_iterations(500).build()?;
/// assert_eq!(pca.components(), 3);
/// # Ok::<(), pinnersage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcaBuilder {
    components: usize,
    max_iterations: usize,
    tolerance: f64,
}

impl Default for PcaBuilder {
    fn default() -> Self {
        PcaBuilder {
            components: 2,
            max_iterations: 3_000,
            tolerance: 1e-10,
        }
    }
}

impl PcaBuilder {
    /// Number of leading components to compute. Default 2.
    pub fn components(mut self, k: usize) -> Self {
        self.components = k;
        self
    }

    /// Largest number of power-iteration steps per component. Default 3000.
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Convergence tolerance: iteration stops when the residual
    /// `‖A·v − λ·v‖` is at most `tolerance × λ₁` (`λ₁` the largest
    /// eigenvalue). Default `1e-10`.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The validated options.
    ///
    /// # Errors
    /// [`Error::PcaComponents`] if `components` is 0;
    /// [`Error::PcaIterations`] if `max_iterations` is 0;
    /// [`Error::PcaTolerance`] if `tolerance` is not finite or not `> 0`.
    pub fn build(self) -> Result<Pca> {
        if self.components == 0 {
            return Err(Error::PcaComponents {
                components: 0,
                dim: None,
            });
        }
        if self.max_iterations == 0 {
            return Err(Error::PcaIterations);
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(Error::PcaTolerance {
                value: self.tolerance,
            });
        }
        Ok(Pca {
            components: self.components,
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
        })
    }
}

/// Principal component analysis (validated options): the leading
/// eigenvectors of the sample covariance `S = Cᵀ·C / (m − 1)` of the
/// centred rows `C = X − 1·μᵀ` (`m − 1` replaced by 1 when `m = 1`).
///
/// Computed by power iteration with deflation: the `j`-th component iterates
/// `v ← A·v`, orthogonalised against the components found before, where `A`
/// is `S` (`d × d`) when `d <= m` and otherwise the Gram matrix
/// `C·Cᵀ / (m − 1)` (`m × m`, same non-zero eigenvalues; a component is then
/// `Cᵀ·u` normalised). Every start vector is deterministic (the column of `A`
/// with the largest diagonal entry), and each component's sign is fixed so
/// that its entry of largest magnitude is positive (the first such entry on
/// ties): the same input always gives the same picture.
///
/// For a picture, not for modelling: eigenvalues closer than the tolerance
/// allows may converge to any vector of their eigenspace, and components
/// beyond the rank of `C` are completed by an orthonormal basis (explained
/// variance 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pca {
    components: usize,
    max_iterations: usize,
    tolerance: f64,
}

impl Default for Pca {
    /// Two components, 3000 iterations, tolerance `1e-10`.
    fn default() -> Self {
        Pca {
            components: 2,
            max_iterations: 3_000,
            tolerance: 1e-10,
        }
    }
}

/// The result of [`Pca::fit`], all in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The column means `μ` (length `d`).
    pub mean: Array1<f64>,
    /// The components, one orthonormal row each (`k × d`).
    pub components: Array2<f64>,
    /// The variance along each component (eigenvalues of `S`), descending.
    pub explained_variance: Vec<f64>,
    /// The total variance, `trace(S)`: `explained_variance[j] /
    /// total_variance` is the share of component `j` (0 when the total is).
    pub total_variance: f64,
    /// The rows projected: `C·componentsᵀ` (`m × k`).
    pub coordinates: Array2<f64>,
    /// `explained_variance[j] / total_variance`, computed before the
    /// variances are scaled back (so also right when they saturate).
    ratios: Vec<f64>,
}

impl Projection {
    /// The share of the total variance along component `j` (0 when the
    /// total variance is 0 or `j` is out of range).
    pub fn variance_ratio(&self, j: usize) -> f64 {
        self.ratios.get(j).copied().unwrap_or(0.0)
    }
}

impl Pca {
    /// Unchecked options to validate with [`PcaBuilder::build`].
    pub fn builder() -> PcaBuilder {
        PcaBuilder::default()
    }

    /// Number of components computed.
    pub fn components(&self) -> usize {
        self.components
    }

    /// The leading principal components of the rows of `x` and the rows
    /// projected on them.
    ///
    /// # Errors
    /// * [`Error::EmptyInput`] if `x` has no rows;
    /// * [`Error::ZeroDimension`] if it has no columns;
    /// * [`Error::PcaComponents`] if more components are asked for than
    ///   `x` has columns;
    /// * [`Error::NonFiniteValue`] naming the first NaN or infinite entry.
    ///
    /// # Complexity
    /// With `n = min(m, d)`: O(m·d·n) to form `A`, then O(n²) per iteration
    /// (at most `max_iterations` per component), O(n² + m·d) memory.
    ///
    /// # Example
    /// ```
    /// use pinnersage::ndarray::array;
    /// use pinnersage::plot::Pca;
    ///
    /// // points on the line y = 2x, with a little noise across it
    /// let x = array![[0.0, 0.1], [1.0, 1.9], [2.0, 4.1], [3.0, 5.9]];
    /// let p = Pca::default().fit(x.view())?;
    /// let first = p.components.row(0);
    /// assert!((first[1] / first[0] - 2.0).abs() < 0.05);
    /// assert!(p.explained_variance[0] > 100.0 * p.explained_variance[1]);
    /// # Ok::<(), pinnersage::Error>(())
    /// ```
    pub fn fit<F: Scalar>(&self, x: ArrayView2<'_, F>) -> Result<Projection> {
        let (m, d) = x.dim();
        if m == 0 {
            return Err(Error::EmptyInput);
        }
        if d == 0 {
            return Err(Error::ZeroDimension { rows: m });
        }
        let k = self.components;
        if k > d {
            return Err(Error::PcaComponents {
                components: k,
                dim: Some(d),
            });
        }
        for ((row, column), v) in x.indexed_iter() {
            if !v.is_finite() {
                return Err(Error::NonFiniteValue { row, column });
            }
        }
        // Work on x / 2^e with the largest magnitude in [0.5, 1): the power
        // of two is exact, and keeps the mean, the covariance and the power
        // iteration clear of overflow (rows near 1e300) and underflow (rows
        // near 1e-300 or subnormal), so the picture does not depend on scale.
        let scale = power_of_two_scale(x.iter().map(|v| v.to_f64_lossless().abs()));
        let xf: Array2<f64> = x.mapv(|v| v.to_f64_lossless() / scale);
        let mean = xf.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
        let c = &xf - &mean;
        let denom = if m > 1 { (m - 1) as f64 } else { 1.0 };
        let gram_side = d > m;
        let a = if gram_side {
            c.dot(&c.t()) / denom
        } else {
            c.t().dot(&c) / denom
        };
        let total_variance = (0..a.nrows()).map(|i| a[[i, i]]).sum::<f64>();
        let (vectors, values) = self.leading_eigenvectors(&a);
        // components in R^d
        let mut components = Array2::<f64>::zeros((k, d));
        let mut explained = Vec::with_capacity(k);
        let mut found = 0;
        for (v, lambda) in vectors.iter().zip(&values) {
            if found == k {
                break;
            }
            let comp = if gram_side {
                let w = c.t().dot(v);
                let norm = w.dot(&w).sqrt();
                if *lambda <= 0.0 || norm <= 0.0 {
                    break; // beyond the rank: completed below
                }
                w / norm
            } else {
                v.clone()
            };
            components.row_mut(found).assign(&comp);
            explained.push(lambda.max(0.0));
            found += 1;
        }
        // complete by the standard basis, orthogonalised (Gram–Schmidt)
        let mut basis = 0;
        while found < k && basis < d {
            let mut v = Array1::<f64>::zeros(d);
            v[basis] = 1.0;
            basis += 1;
            for j in 0..found {
                let u = components.row(j);
                let p = u.dot(&v);
                v.scaled_add(-p, &u);
            }
            let norm = v.dot(&v).sqrt();
            if norm > 1e-6 {
                components.row_mut(found).assign(&(v / norm));
                explained.push(0.0);
                found += 1;
            }
        }
        for mut row in components.rows_mut() {
            fix_sign(row.view_mut());
        }
        let coordinates = c.dot(&components.t()) * scale;
        let ratios = explained
            .iter()
            .map(|&v| {
                if total_variance > 0.0 {
                    (v / total_variance).clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect();
        // variances scale by 2^(2e): saturated at f64::MAX past its range
        let square = |v: f64| (v * scale * scale).min(f64::MAX);
        Ok(Projection {
            mean: mean * scale,
            components,
            explained_variance: explained.into_iter().map(square).collect(),
            total_variance: square(total_variance),
            coordinates,
            ratios,
        })
    }

    /// Up to `components` leading eigenpairs of the symmetric positive
    /// semi-definite `a`, by power iteration with deflation (orthogonalising
    /// against the vectors found before).
    /// This PCA with at most `d` components (at least 1), for data of
    /// dimension `d` that a picture draws on fewer axes.
    pub(crate) fn at_most(mut self, d: usize) -> Pca {
        self.components = self.components.min(d).max(1);
        self
    }

    fn leading_eigenvectors(&self, a: &Array2<f64>) -> (Vec<Array1<f64>>, Vec<f64>) {
        let n = a.nrows();
        let k = self.components.min(n);
        let scale = (0..n).map(|i| a[[i, i]]).fold(0.0_f64, f64::max);
        let mut vectors: Vec<Array1<f64>> = Vec::with_capacity(k);
        let mut values = Vec::with_capacity(k);
        if scale <= 0.0 {
            return (vectors, values);
        }
        let deflate = |v: &mut Array1<f64>, found: &[Array1<f64>]| {
            for u in found {
                let p = u.dot(&*v);
                v.scaled_add(-p, u);
            }
        };
        let mut lambda1 = scale;
        for _ in 0..k {
            // deterministic start: the column with the largest diagonal entry
            // among those not yet explained, then the basis
            let mut start: Option<Array1<f64>> = None;
            let mut diag: Vec<usize> = (0..n).collect();
            diag.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]).then(i.cmp(&j)));
            for &i in &diag {
                let mut v = a.column(i).to_owned();
                deflate(&mut v, &vectors);
                let norm = v.dot(&v).sqrt();
                if norm > 1e-9 * scale {
                    start = Some(v / norm);
                    break;
                }
            }
            let Some(mut v) = start else { break };
            let mut lambda = 0.0;
            for _ in 0..self.max_iterations {
                let mut w = a.dot(&v);
                deflate(&mut w, &vectors);
                lambda = v.dot(&w);
                let residual = {
                    let r = &w - &(&v * lambda);
                    r.dot(&r).sqrt()
                };
                let norm = w.dot(&w).sqrt();
                if norm <= 1e-14 * scale {
                    lambda = 0.0;
                    break;
                }
                v = w / norm;
                deflate(&mut v, &vectors);
                let renorm = v.dot(&v).sqrt();
                v /= renorm;
                if residual <= self.tolerance * lambda1 {
                    break;
                }
            }
            if vectors.is_empty() {
                lambda1 = lambda.max(f64::MIN_POSITIVE);
            }
            if lambda <= 0.0 {
                break;
            }
            vectors.push(v);
            values.push(lambda);
        }
        (vectors, values)
    }
}

/// Flips `v` so that its entry of largest magnitude (the first on ties) is
/// positive.
/// The power of two `2^e` with `max / 2^e` in `[0.5, 2)` for the largest
/// finite value of `magnitudes` (1 if all are 0). Dividing by it is exact.
pub(crate) fn power_of_two_scale(magnitudes: impl Iterator<Item = f64>) -> f64 {
    let max = magnitudes.fold(0.0_f64, f64::max);
    if !(max > 0.0 && max.is_finite()) {
        return 1.0;
    }
    // scale <= max / 2 before each doubling: it never overflows, even for a
    // max near f64::MAX; halving stops at the latest at 2^-1074
    let mut scale = 1.0_f64;
    while max / scale >= 2.0 {
        scale *= 2.0;
    }
    while max / scale < 0.5 {
        scale /= 2.0;
    }
    scale
}

fn fix_sign(mut v: ndarray::ArrayViewMut1<'_, f64>) {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if x.abs() > v[best].abs() {
            best = i;
        }
    }
    if v.get(best).is_some_and(|&x| x < 0.0) {
        v.mapv_inplace(|x| -x);
    }
}
