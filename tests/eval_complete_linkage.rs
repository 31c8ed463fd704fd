//! Complete linkage (through kodama) against scipy's
//! `linkage(X, 'complete')`: fixtures from scripts/make_eval_fixtures.py.

use ndarray::Array2;
use pinnersage::eval::baselines::complete_linkage;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/eval/{path}")).unwrap()
}

fn matrix(name: &str) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = read(&format!("{name}.x.csv"))
        .lines()
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let d = rows[0].len();
    Array2::from_shape_vec((rows.len(), d), rows.concat()).unwrap()
}

#[test]
fn complete_linkage_matches_scipy() {
    for name in ["blobs", "uniform", "scipy_ref"] {
        let x = matrix(name);
        let m = x.nrows();
        let (_, merges) = complete_linkage(x.view(), 1).unwrap();
        let scipy: Vec<[f64; 4]> = read(&format!("{name}.z.csv"))
            .lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3]]
            })
            .collect();
        assert_eq!(merges.len(), m - 1);
        for (ours, theirs) in merges.iter().zip(&scipy) {
            assert!(
                (ours[2] - theirs[2]).abs() <= 1e-12 * theirs[2].max(1.0),
                "{name}: {ours:?} vs {theirs:?}"
            );
            assert_eq!(ours[3], theirs[3], "{name}: sizes");
        }
        let mut checked = 0;
        for line in read(&format!("{name}.k.csv")).lines().skip(1) {
            let (k, labels) = line.split_once(',').unwrap();
            let k: usize = k.parse().unwrap();
            let want: Vec<usize> = labels.split(' ').map(|v| v.parse().unwrap()).collect();
            let (got, _) = complete_linkage(x.view(), k).unwrap();
            assert_eq!(got, want, "{name}, k = {k}");
            checked += 1;
        }
        assert!(checked >= 4, "{name}: only {checked} cuts checked");
    }
}
