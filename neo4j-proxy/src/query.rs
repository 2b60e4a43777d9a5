//! Neo4j Query API v2, sans-IO: building the request (`POST {url}/db/{db}/query/v2`, Basic auth,
//! one parameterised statement) and reading the answer, including Neo4j's error bodies and the
//! transient / permanent split that decides whether the outbox retries.
//!
//! Answer shapes (measured against Neo4j 5.26 Community):
//! - success: `202 {"data":{"fields":[…],"values":[[…],…]},"counters":{…},"bookmarks":[…]}`
//! - runtime error mid-result: `202 {"data":{…},"errors":[{"code":"Neo.ClientError.Statement.ArithmeticError",…}]}`
//! - request errors: `400 {"errors":[{"code":"Neo.ClientError.Statement.SyntaxError",…}]}`,
//!   `401 …Security.Unauthorized`, `404 …Database.DatabaseNotFound`; older servers spell the code
//!   key `error` instead of `code`: both are read.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A ready-to-send Query API request (the I/O layer only copies these fields into a fetch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Full URL.
    pub url: String,
    /// HTTP method.
    pub method: &'static str,
    /// Headers, including `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: String,
}

/// Where and as whom to talk to Neo4j.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neo4jTarget {
    /// Base URL without trailing slash (`https://x.databases.neo4j.io`, `http://127.0.0.1:7474`).
    pub base_url: String,
    /// Database name.
    pub database: String,
    /// User.
    pub user: String,
    /// Password (lives only in the `Authorization` header).
    pub password: String,
}

/// Why a target could not be built from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// `NEO4J_URL` is not an http(s) URL.
    #[error("NEO4J_URL must start with http:// or https://, got {0:?}")]
    BadUrl(String),
    /// `NEO4J_DATABASE` holds characters Neo4j does not allow in a database name.
    #[error("NEO4J_DATABASE {0:?} is not a valid database name (a-z 0-9 . -)")]
    BadDatabase(String),
}

impl Neo4jTarget {
    /// Validates the pieces.
    ///
    /// # Errors
    /// [`TargetError`] naming the bad variable.
    pub fn new(url: &str, database: &str, user: &str, password: &str) -> Result<Self, TargetError> {
        let base_url = url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(TargetError::BadUrl(url.to_string()));
        }
        let database = database.trim().to_ascii_lowercase();
        let valid = !database.is_empty()
            && database.len() <= 63
            && database
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !valid {
            return Err(TargetError::BadDatabase(database));
        }
        Ok(Self {
            base_url,
            database,
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// `POST {base}/db/{db}/query/v2` running `statement` with `parameters` in an implicit
    /// transaction, asking for update counters.
    pub fn query(&self, statement: &str, parameters: Value) -> HttpRequest {
        let body = serde_json::json!({"statement": statement, "parameters": parameters, "includeCounters": true});
        HttpRequest {
            url: format!("{}/db/{}/query/v2", self.base_url, self.database),
            method: "POST",
            headers: vec![
                ("Content-Type", "application/json".to_string()),
                ("Accept", "application/json".to_string()),
                ("Authorization", self.basic_auth()),
            ],
            body: body.to_string(),
        }
    }

    /// Unauthenticated discovery document `GET {base}/` (version, edition).
    pub fn discovery(&self) -> HttpRequest {
        HttpRequest {
            url: format!("{}/", self.base_url),
            method: "GET",
            headers: vec![("Accept", "application/json".to_string())],
            body: String::new(),
        }
    }

    fn basic_auth(&self) -> String {
        let raw = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// A successful result: rows keyed by field name, plus update counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// Rows, each a map field → value.
    pub rows: Vec<Map<String, Value>>,
    /// `counters` as sent (empty when absent).
    pub counters: Map<String, Value>,
}

impl QueryResult {
    /// A counter as u64 (0 when absent).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).and_then(Value::as_u64).unwrap_or(0)
    }
}

/// Retry class of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Retrying later can succeed (Neo4j busy, down, leader switch, lock, network).
    Transient,
    /// The same request will fail again (syntax, auth, unknown database, bad data).
    Permanent,
}

/// A failed Query API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryFailure {
    /// Retry class.
    pub class: FailureClass,
    /// HTTP status from Neo4j (0 when no answer).
    pub status: u16,
    /// Neo4j status code (`Neo.ClientError.…`) or `http_<status>` / `network`.
    pub code: String,
    /// Message.
    pub message: String,
}

#[derive(Deserialize)]
struct WireError {
    code: Option<String>,
    error: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct WireData {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
struct WireAnswer {
    data: Option<WireData>,
    #[serde(default)]
    counters: Map<String, Value>,
    #[serde(default)]
    errors: Vec<WireError>,
}

/// Classifies a Neo4j status code. ClientErrors are permanent except those that only reflect a
/// race or a momentary limit (a concurrent MERGE on the same key, a timed-out transaction, auth
/// rate limiting, a cluster leader switch).
pub fn classify_code(code: &str) -> FailureClass {
    const RETRYABLE_CLIENT: [&str; 5] = [
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
        "Neo.ClientError.Security.AuthenticationRateLimit",
        "Neo.ClientError.Cluster.NotALeader",
    ];
    if code.starts_with("Neo.TransientError.")
        || code.starts_with("Neo.DatabaseError.")
        || RETRYABLE_CLIENT.contains(&code)
    {
        FailureClass::Transient
    } else {
        FailureClass::Permanent
    }
}

/// Whether a failed schema statement only lost a race to an identical one: two isolates running
/// `CREATE … IF NOT EXISTS` at once on a fresh database make one of them fail with these codes
/// (measured on Neo4j 5.26), although the rule it asked for now exists. Treating that as a
/// permanent failure parked every outbox that hit it for the slow retry period.
pub fn schema_rule_exists(code: &str) -> bool {
    matches!(
        code,
        "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists"
            | "Neo.ClientError.Schema.ConstraintAlreadyExists"
            | "Neo.ClientError.Schema.IndexAlreadyExists"
            | "Neo.ClientError.Schema.ConstraintWithNameAlreadyExists"
            | "Neo.ClientError.Schema.IndexWithNameAlreadyExists"
    )
}

/// Classifies an HTTP status with no readable Neo4j error.
pub fn classify_status(status: u16) -> FailureClass {
    if status >= 500 || status == 429 || status == 408 {
        FailureClass::Transient
    } else {
        FailureClass::Permanent
    }
}

/// A failure for "no answer at all" (DNS, refused connection, timeout).
pub fn network_failure(message: &str) -> QueryFailure {
    QueryFailure {
        class: FailureClass::Transient,
        status: 0,
        code: "network".into(),
        message: message.into(),
    }
}

/// Reads a Query API answer.
///
/// # Errors
/// [`QueryFailure`] for any `errors[]` entry (even on 202) or a non-2xx status; the first error
/// decides the class, a 5xx status is always transient.
pub fn parse_answer(status: u16, body: &str) -> Result<QueryResult, QueryFailure> {
    let parsed: Option<WireAnswer> = serde_json::from_str(body).ok();
    if let Some(first) = parsed.as_ref().and_then(|a| a.errors.first()) {
        let code = first
            .code
            .clone()
            .or_else(|| first.error.clone())
            .unwrap_or_else(|| format!("http_{status}"));
        let mut class = classify_code(&code);
        if status >= 500 {
            class = FailureClass::Transient;
        }
        let message = first.message.clone().unwrap_or_default();
        return Err(QueryFailure {
            class,
            status,
            code,
            message,
        });
    }
    if !(200..300).contains(&status) {
        return Err(QueryFailure {
            class: classify_status(status),
            status,
            code: format!("http_{status}"),
            message: body.chars().take(300).collect(),
        });
    }
    let answer = parsed.ok_or_else(|| QueryFailure {
        class: FailureClass::Transient,
        status,
        code: "unreadable_answer".into(),
        message: body.chars().take(300).collect(),
    })?;
    let rows = answer
        .data
        .map(|d| {
            d.values
                .into_iter()
                .map(|row| {
                    d.fields
                        .iter()
                        .cloned()
                        .zip(row)
                        .collect::<Map<String, Value>>()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(QueryResult {
        rows,
        counters: answer.counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Neo4jTarget {
        Neo4jTarget::new("http://127.0.0.1:7474/", "neo4j", "neo4j", "verysecret")
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn builds_the_documented_request() {
        let req = target().query("RETURN $x AS x", serde_json::json!({"x": 1}));
        assert_eq!(req.url, "http://127.0.0.1:7474/db/neo4j/query/v2");
        assert!(req.headers.contains(&(
            "Authorization",
            "Basic bmVvNGo6dmVyeXNlY3JldA==".to_string()
        )));
        let body: Value = serde_json::from_str(&req.body).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"statement": "RETURN $x AS x", "parameters": {"x": 1}, "includeCounters": true})
        );
        assert!(!req.body.contains("verysecret"));
        assert!(Neo4jTarget::new("bolt://x", "neo4j", "u", "p").is_err());
        assert!(Neo4jTarget::new("https://x", "ne o", "u", "p").is_err());
    }

    #[test]
    fn a_lost_schema_race_is_recognised_and_nothing_else() {
        let cases = [
            (
                "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
                true,
            ),
            ("Neo.ClientError.Schema.ConstraintAlreadyExists", true),
            ("Neo.ClientError.Schema.IndexWithNameAlreadyExists", true),
            ("Neo.ClientError.Schema.ConstraintCreationFailed", false),
            ("Neo.TransientError.Transaction.DeadlockDetected", false),
            ("Neo.ClientError.Statement.SyntaxError", false),
        ];
        for (code, exists) in cases {
            assert_eq!(schema_rule_exists(code), exists, "{code}");
        }
    }

    /// Bodies captured from Neo4j 5.26.30 Community (and the `error` spelling of older servers).
    #[test]
    fn parses_real_answers() {
        struct Case {
            status: u16,
            body: &'static str,
            expected: Result<usize, (FailureClass, &'static str)>,
        }
        let cases = [
            Case {
                status: 202,
                body: r#"{"data":{"fields":["ok"],"values":[[1]]},"bookmarks":["FB:kcwQhU0fV1VmQTaimwAFE9rNwgqQ"]}"#,
                expected: Ok(1),
            },
            Case {
                status: 202,
                body: r#"{"data":{"fields":[],"values":[]},"bookmarks":["FB:x"]}"#,
                expected: Ok(0),
            },
            Case {
                status: 400,
                body: r#"{"errors":[{"code":"Neo.ClientError.Statement.SyntaxError","message":"Invalid input '': expected an expression (line 1, column 11 (offset: 10))\n\"RETURN 1 +\"\n           ^"}]}"#,
                expected: Err((
                    FailureClass::Permanent,
                    "Neo.ClientError.Statement.SyntaxError",
                )),
            },
            Case {
                status: 202,
                body: r#"{"data":{"fields":["x"],"values":[]},"errors":[{"code":"Neo.ClientError.Statement.ArithmeticError","message":"/ by zero"}]}"#,
                expected: Err((
                    FailureClass::Permanent,
                    "Neo.ClientError.Statement.ArithmeticError",
                )),
            },
            Case {
                status: 404,
                body: r#"{"errors":[{"code":"Neo.ClientError.Database.DatabaseNotFound","message":"Graph not found: nope"}]}"#,
                expected: Err((
                    FailureClass::Permanent,
                    "Neo.ClientError.Database.DatabaseNotFound",
                )),
            },
            Case {
                status: 401,
                body: r#"{"errors":[{"code":"Neo.ClientError.Security.Unauthorized","message":"Invalid credential."}]}"#,
                expected: Err((
                    FailureClass::Permanent,
                    "Neo.ClientError.Security.Unauthorized",
                )),
            },
            Case {
                status: 400,
                body: r#"{"errors":[{"error":"Neo.ClientError.Request.Invalid","message":"Bad Request"}]}"#,
                expected: Err((FailureClass::Permanent, "Neo.ClientError.Request.Invalid")),
            },
            Case {
                status: 503,
                body: r#"{"errors":[{"code":"Neo.TransientError.General.DatabaseUnavailable","message":"Database 'neo4j' is unavailable."}]}"#,
                expected: Err((
                    FailureClass::Transient,
                    "Neo.TransientError.General.DatabaseUnavailable",
                )),
            },
            Case {
                status: 202,
                body: r#"{"errors":[{"code":"Neo.TransientError.Transaction.DeadlockDetected","message":"x"}]}"#,
                expected: Err((
                    FailureClass::Transient,
                    "Neo.TransientError.Transaction.DeadlockDetected",
                )),
            },
            Case {
                status: 202,
                body: r#"{"errors":[{"code":"Neo.ClientError.Schema.ConstraintValidationFailed","message":"Node(1) already exists"}]}"#,
                expected: Err((
                    FailureClass::Transient,
                    "Neo.ClientError.Schema.ConstraintValidationFailed",
                )),
            },
            Case {
                status: 500,
                body: r#"{"errors":[{"code":"Neo.ClientError.General.Weird","message":"x"}]}"#,
                expected: Err((FailureClass::Transient, "Neo.ClientError.General.Weird")),
            },
            Case {
                status: 502,
                body: "<html>Bad gateway</html>",
                expected: Err((FailureClass::Transient, "http_502")),
            },
            Case {
                status: 415,
                body: "",
                expected: Err((FailureClass::Permanent, "http_415")),
            },
            Case {
                status: 202,
                body: "not json",
                expected: Err((FailureClass::Transient, "unreadable_answer")),
            },
        ];
        for c in cases {
            let got = parse_answer(c.status, c.body)
                .map(|r| r.rows.len())
                .map_err(|f| (f.class, f.code));
            assert_eq!(
                got,
                c.expected.map_err(|(k, code)| (k, code.to_string())),
                "{} {}",
                c.status,
                c.body
            );
        }
    }

    #[test]
    fn rows_are_keyed_by_field_and_counters_read() {
        let body = r#"{"data":{"fields":["a","b"],"values":[[1,"x"],[2,null]]},"counters":{"containsUpdates":true,"nodesCreated":3,"relationshipsCreated":2}}"#;
        let r = parse_answer(202, body).unwrap_or_default();
        assert_eq!(r.rows[1]["a"], serde_json::json!(2));
        assert_eq!(r.rows[0]["b"], serde_json::json!("x"));
        assert_eq!(
            (
                r.counter("nodesCreated"),
                r.counter("relationshipsCreated"),
                r.counter("missing")
            ),
            (3, 2, 0)
        );
    }
}
