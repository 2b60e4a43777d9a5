//! Golden output of scikit-learn 1.5.2 `sklearn.covariance.ledoit_wolf(X)` (default
//! `assume_centered=False`) for the matrix in `covariance::tests`, printed with `repr`.

/// `(covariance, shrinkage)`.
pub(super) fn expected() -> (Vec<Vec<f64>>, f64) {
    (
        vec![
            vec![
                0.000_120_742_921_823_495_16,
                -7.256_888_218_618_786e-5,
                5.085_695_315_922_906e-5,
            ],
            vec![
                -7.256_888_218_618_786e-5,
                0.000_125_603_801_456_396_38,
                -3.493_757_236_147_755e-5,
            ],
            vec![
                5.085_695_315_922_906e-5,
                -3.493_757_236_147_755e-5,
                5.884_772_116_455_29e-5,
            ],
        ],
        0.270_868_055_064_816_37,
    )
}
