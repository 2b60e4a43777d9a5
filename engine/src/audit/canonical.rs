//! Canonical JSON: the exact bytes an audit event is hashed over.
//!
//! A hash chain is only verifiable if every party (the Durable Object today, the neo4j-proxy, a
//! future auditor's script) produces the same bytes for the same event. serde's output depends on
//! field order and library versions, so the hashed form is defined here, byte by byte:
//!
//! | JSON value | canonical bytes |
//! |---|---|
//! | object | `{` members sorted by key (raw UTF-8 byte order), each `"key":value`, joined by `,`, `}`; members whose value is `null` are **dropped** (absent and null mean the same) |
//! | array | `[` elements in order joined by `,` `]` (nulls inside arrays are kept) |
//! | string | `"` … `"`; `"` → `\"`, `\` → `\\`, U+0008 `\b`, U+000C `\f`, U+000A `\n`, U+000D `\r`, U+0009 `\t`, other U+0000–U+001F → `\u00xx` (lowercase hex); every other character as raw UTF-8 (no `\/`, no `\u` for non-ASCII) |
//! | number | integers only, in base 10, `-` for negatives, no `+`, no leading zeros, no exponent; any other number is an error (decimals travel as strings) |
//! | `true` / `false` / `null` | those literals |
//!
//! No whitespace anywhere. The output is therefore valid JSON that `serde_json` parses back.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A JSON number that is not an integer (money must be a decimal string).
    #[error("number {value} at {path} is not an integer; decimals must be strings")]
    NonIntegerNumber {
        /// JSON pointer of the offending value.
        path: String,
        /// The number as written.
        value: String,
    },
}

/// Renders `value` in canonical form (see the module table).
///
/// # Errors
/// [`CanonicalError::NonIntegerNumber`] for a float or an out-of-range number.
pub fn to_canonical_string(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, &mut String::new())?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value, path: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else {
                return Err(CanonicalError::NonIntegerNumber {
                    path: if path.is_empty() {
                        "/".to_string()
                    } else {
                        path.clone()
                    },
                    value: n.to_string(),
                });
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let len = path.len();
                path.push_str(&format!("/{i}"));
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k)
                .collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                let len = path.len();
                path.push('/');
                path.push_str(key);
                if let Some(v) = map.get(key) {
                    write_value(out, v, path)?;
                }
                path.truncate(len);
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_bytes_table() {
        struct Case {
            input: Value,
            expected: &'static str,
        }
        let cases = [
            Case {
                input: json!({"b": 1, "a": [true, null, "x"]}),
                expected: r#"{"a":[true,null,"x"],"b":1}"#,
            },
            Case {
                input: json!({"z": null, "y": {"d": -5, "c": "1.50"}}),
                expected: r#"{"y":{"c":"1.50","d":-5}}"#,
            },
            Case {
                input: json!("q\"\\\n\t\u{1}é/"),
                expected: "\"q\\\"\\\\\\n\\t\\u0001é/\"",
            },
            Case {
                input: json!({"B": 1, "a": 2, "É": 3}),
                expected: r#"{"B":1,"a":2,"É":3}"#,
            },
            Case {
                input: json!(18446744073709551615u64),
                expected: "18446744073709551615",
            },
        ];
        for case in cases {
            assert_eq!(
                to_canonical_string(&case.input).as_deref(),
                Ok(case.expected)
            );
        }
    }

    #[test]
    fn floats_are_refused_with_their_path() {
        let err = to_canonical_string(&json!({"a": [{"p": 1.5}]}));
        assert_eq!(
            err,
            Err(CanonicalError::NonIntegerNumber {
                path: "/a/0/p".into(),
                value: "1.5".into()
            })
        );
    }

    #[test]
    fn output_parses_back_to_the_same_value_without_nulls() {
        let v = json!({"k": "\u{2028}line", "n": [1, 2], "o": {"x": null}});
        let s = to_canonical_string(&v).unwrap_or_default();
        let back: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
        assert_eq!(back, json!({"k": "\u{2028}line", "n": [1, 2], "o": {}}));
    }
}
