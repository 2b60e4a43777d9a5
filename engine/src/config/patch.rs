//! Config changes as JSON merge-patch (RFC 7396): the API's `PATCH /bots/{id}` body is applied to
//! the current config, the result is parsed and validated like a new config, and the field-level
//! diff (old -> new) goes into the audit trail with the new config version.

use super::{BotConfig, ConfigError};
use serde::Serialize;
use serde_json::{Map, Value};

/// One changed leaf of the config. Arrays are compared whole (`instruments` is one field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Dotted path (`risk.max_leverage`).
    pub field: String,
    /// Value before (`null` when absent).
    pub old: Value,
    /// Value after (`null` when removed).
    pub new: Value,
}

/// RFC 7396: objects merge recursively, `null` removes a member, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                let entry = target_map.entry(key.clone()).or_insert(Value::Null);
                merge_patch(entry, value);
            }
        }
    }
}

/// Every leaf that differs between two JSON documents, sorted by path. `null` and absent are the
/// same (an optional field set to `null` was not really changed).
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into("", old, new, &mut out);
    out
}

fn diff_into(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let a_v = a.get(key).unwrap_or(&Value::Null);
                let b_v = b.get(key).unwrap_or(&Value::Null);
                diff_into(&child, a_v, b_v, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            field: path.to_string(),
            old: a.clone(),
            new: b.clone(),
        }),
    }
}

impl BotConfig {
    /// Applies a merge-patch and returns the new validated config with its diff. The bot's `id`
    /// cannot change (it names the Durable Object and every audit event).
    ///
    /// # Errors
    /// [`ConfigError`] when the patch is not an object, touches `id`, or the result is invalid.
    pub fn apply_patch(&self, patch: &Value) -> Result<(BotConfig, Vec<FieldChange>), ConfigError> {
        let Value::Object(map) = patch else {
            return Err(ConfigError::Parse {
                field: ".".into(),
                reason: "a config patch must be a JSON object".into(),
            });
        };
        if let Some(id) = map.get("id") {
            if id.as_str() != Some(self.id.as_str()) {
                return Err(ConfigError::Parse {
                    field: "id".into(),
                    reason: "the bot id cannot be changed".into(),
                });
            }
        }
        let old = self.to_value()?;
        let mut merged = old.clone();
        merge_patch(&mut merged, patch);
        let config = BotConfig::from_value(merged)?;
        // Diff the normalised forms so `"3"` vs `3` or re-ordered keys are not changes.
        let new = config.to_value()?;
        Ok((config, diff(&old, &new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7396_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            let mut t = target.clone();
            merge_patch(&mut t, &patch);
            assert_eq!(t, expected, "{target} + {patch}");
        }
    }

    #[test]
    fn diffs() {
        let old = json!({"a":1,"r":{"x":"1","y":null},"l":[1]});
        let new = json!({"a":1,"r":{"x":"2"},"l":[1,2],"n":true});
        let d = diff(&old, &new);
        let fields: Vec<&str> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["l", "n", "r.x"]);
        assert_eq!(d[2].old, json!("1"));
        assert_eq!(d[2].new, json!("2"));
        assert_eq!(d[1].old, Value::Null);
    }
}
