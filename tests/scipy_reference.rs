//! scipy's own Ward reference case (`hierarchy_test_data.py`).

use ndarray::array;
use pinnersage::ward::linkage;

#[test]
fn reproduces_scipy_reference_heights() {
    let x = array![
        [1.43054825, -7.5693489],
        [6.95887839, 6.82293382],
        [2.87137846, -9.68248579],
        [7.87974764, -6.05485803],
        [8.24018364, -6.09495602],
        [7.39020262, 8.54004355]
    ];
    let expected = array![
        [3.0, 4.0, 0.36265956, 2.0],
        [1.0, 5.0, 1.77045373, 2.0],
        [0.0, 2.0, 2.55760419, 2.0],
        [6.0, 8.0, 9.10208346, 4.0],
        [7.0, 9.0, 24.7784379, 6.0]
    ];
    let z = linkage(x.view()).unwrap().to_scipy();
    for (row, exp) in z.rows().into_iter().zip(expected.rows()) {
        assert_eq!(row[0], exp[0]);
        assert_eq!(row[1], exp[1]);
        assert_eq!(row[3], exp[3]);
        // scipy's figures are printed to 9 significant digits
        approx::assert_relative_eq!(row[2], exp[2], max_relative = 1e-8);
    }
    let z32 = linkage(x.mapv(|v| v as f32).view()).unwrap().to_scipy();
    for (row, exp) in z32.rows().into_iter().zip(expected.rows()) {
        approx::assert_relative_eq!(row[2], exp[2], max_relative = 1e-5);
    }
}
