//! Typed, validated parameters and the immutable version identity derived from them.

use super::StrategyError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One parameter a strategy accepts: its default and inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Name in `params`.
    pub name: &'static str,
    /// Value when absent.
    pub default: f64,
    /// Smallest allowed.
    pub min: f64,
    /// Largest allowed.
    pub max: f64,
    /// Must be a whole number (window lengths).
    pub integer: bool,
}

impl ParamSpec {
    /// A whole-number parameter (a window length).
    pub const fn int(name: &'static str, default: f64, min: f64, max: f64) -> Self {
        Self {
            name,
            default,
            min,
            max,
            integer: true,
        }
    }

    /// A real-valued parameter (a threshold, a multiplier).
    pub const fn real(name: &'static str, default: f64, min: f64, max: f64) -> Self {
        Self {
            name,
            default,
            min,
            max,
            integer: false,
        }
    }
}

/// Validated parameter values, every spec filled (defaults included), sorted by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Params(BTreeMap<String, f64>);

impl Params {
    /// Validates `given` against `specs`: unknown names, non-finite values, values out of
    /// range and fractions for whole-number parameters are refused; absent ones take defaults.
    ///
    /// # Errors
    /// [`StrategyError::UnknownParam`] or [`StrategyError::BadParam`] naming the parameter.
    pub fn validate(
        strategy: &str,
        specs: &[ParamSpec],
        given: &BTreeMap<String, f64>,
    ) -> Result<Self, StrategyError> {
        if let Some(name) = given
            .keys()
            .find(|k| !specs.iter().any(|s| s.name == k.as_str()))
        {
            return Err(StrategyError::UnknownParam {
                strategy: strategy.to_string(),
                name: name.clone(),
            });
        }
        let mut out = BTreeMap::new();
        for spec in specs {
            let value = given.get(spec.name).copied().unwrap_or(spec.default);
            let bad = |reason: String| StrategyError::BadParam {
                name: spec.name.to_string(),
                value,
                reason,
            };
            if !value.is_finite() {
                return Err(bad("is not a finite number".into()));
            }
            if value < spec.min || value > spec.max {
                return Err(bad(format!("is outside [{}, {}]", spec.min, spec.max)));
            }
            if spec.integer && value.fract() != 0.0 {
                return Err(bad("must be a whole number".into()));
            }
            out.insert(spec.name.to_string(), value);
        }
        Ok(Self(out))
    }

    /// Parameters built by the crate itself (a composer's weights), already valid.
    pub(crate) fn from_map(values: BTreeMap<String, f64>) -> Self {
        Self(values)
    }

    /// A parameter's value (0 for a name the specs do not have; validated params have all).
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// A whole-number parameter as a window length.
    pub fn window(&self, name: &str) -> usize {
        self.get(name).max(0.0) as usize
    }

    /// The values, sorted by name.
    pub fn values(&self) -> &BTreeMap<String, f64> {
        &self.0
    }
}

/// A strategy's immutable identity: every fill carries `id`, so it is attributable to the exact
/// code version and parameters. Changing either yields a different id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyVersion {
    /// Registered name.
    pub name: String,
    /// Code version of the implementation (bumped when its logic changes).
    pub version: u32,
    /// Validated parameters.
    pub params: Params,
    /// `name@version#<first 16 hex of sha256(name|version|k=v;…)>`, short enough for a tag.
    pub id: String,
}

impl StrategyVersion {
    /// Derives the id from name, version and parameters (shortest round-trip `f64` text).
    pub fn new(name: &str, version: u32, params: Params) -> Self {
        Self::composite(name, version, params, &[])
    }

    /// Like [`StrategyVersion::new`], also hashing the ids of the strategies it is made of (a
    /// composer), so changing any leg changes the composite's id.
    pub fn composite(name: &str, version: u32, params: Params, children: &[&str]) -> Self {
        let mut h = Sha256::new();
        for c in children {
            h.update(format!("leg={c};").as_bytes());
        }
        h.update(format!("{name}|{version}|").as_bytes());
        for (k, v) in params.values() {
            h.update(format!("{k}={v:?};").as_bytes());
        }
        let digest = hex::encode(h.finalize());
        let id = format!("{name}@{version}#{}", &digest[..16]);
        Self {
            name: name.to_string(),
            version,
            params,
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [ParamSpec; 2] = [
        ParamSpec::int("n", 10.0, 2.0, 100.0),
        ParamSpec::real("k", 2.0, 0.5, 4.0),
    ];

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn validation_table() {
        struct Case {
            given: Vec<(&'static str, f64)>,
            err: Option<&'static str>,
        }
        let cases = [
            Case {
                given: vec![],
                err: None,
            },
            Case {
                given: vec![("n", 20.0)],
                err: None,
            },
            Case {
                given: vec![("n", 1.0)],
                err: Some("n"),
            },
            Case {
                given: vec![("n", 2.5)],
                err: Some("n"),
            },
            Case {
                given: vec![("k", f64::NAN)],
                err: Some("k"),
            },
            Case {
                given: vec![("z", 1.0)],
                err: Some("z"),
            },
        ];
        for c in cases {
            let got = Params::validate("s", &SPECS, &map(&c.given));
            match (got, c.err) {
                (Ok(p), None) => assert_eq!(
                    p.get("k"),
                    c.given.iter().find(|g| g.0 == "k").map_or(2.0, |g| g.1)
                ),
                (Err(StrategyError::BadParam { name, .. }), Some(e))
                | (Err(StrategyError::UnknownParam { name, .. }), Some(e)) => assert_eq!(name, e),
                (other, e) => panic!("{:?}: got {other:?}, want {e:?}", c.given),
            }
        }
    }

    #[test]
    fn version_id_changes_with_params_and_version_only() {
        let p = |n: f64| Params::validate("s", &SPECS, &map(&[("n", n)])).unwrap();
        let a = StrategyVersion::new("s", 1, p(10.0));
        assert_eq!(
            a,
            StrategyVersion::new("s", 1, Params::validate("s", &SPECS, &map(&[])).unwrap())
        );
        assert_ne!(a.id, StrategyVersion::new("s", 1, p(11.0)).id);
        assert_ne!(a.id, StrategyVersion::new("s", 2, p(10.0)).id);
        assert!(a.id.starts_with("s@1#") && a.id.len() == "s@1#".len() + 16);
    }
}
