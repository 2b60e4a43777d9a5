//! Test helpers: load captured exchange JSON from `engine/test_data/` and wrap it as a response.

use crate::venue::http::HttpResponse;

/// Reads `engine/test_data/<path>`; panics in tests only, naming the missing file.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/test_data/{path}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&full) {
        Ok(text) => text,
        Err(e) => panic!("fixture {full}: {e}"),
    }
}

/// A response with this status, headers and body, received at t = 1_700_000_000_000.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
        received_ms: 1_700_000_000_000,
    }
}

/// A 200 response carrying a fixture.
pub fn ok_fixture(path: &str) -> HttpResponse {
    response(200, &[], &fixture(path))
}
