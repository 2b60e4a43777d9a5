//! Every Cypher statement the proxy runs. All are parameterised (no value is ever spliced into a
//! statement) and single-line (the Query API takes the statement as one JSON string).
//!
//! Graph (docs/design.md, keys widened where a bare id is not unique across bots or markets):
//! `(:Bot {id})-[:RECEIVED]->(:Signal {bot_id, id})-[:DECIDED]->(:Decision {bot_id, seq})`,
//! `(:Signal)-[:PLACED]->(:Order {bot_id, client_order_id})-[:FILLED_BY]->(:Fill {bot_id, symbol, trade_id})`,
//! `(:Order)-[:ON]->(:Instrument {exchange, market, symbol})`, `(:Fill)-[:BOOKED]->(:Event)` (P&L),
//! `(:Bot)-[:CONFIGURED]->(:ConfigVersion {bot_id, version})-[:SUPERSEDED_BY]->(:ConfigVersion)`,
//! `(:Event {bot_id, seq, hash})-[:NEXT]->(:Event)` and `(:Event)-[:RECORDS]->(domain node)`.

/// Schema, run once per isolate before the first write (each statement is its own transaction:
/// Neo4j refuses schema and data changes in one).
pub const SCHEMA: [&str; 11] = [
    "CREATE CONSTRAINT keel_event_key IF NOT EXISTS FOR (n:Event) REQUIRE (n.bot_id, n.seq) IS UNIQUE",
    "CREATE CONSTRAINT keel_bot_id IF NOT EXISTS FOR (n:Bot) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT keel_signal_key IF NOT EXISTS FOR (n:Signal) REQUIRE (n.bot_id, n.id) IS UNIQUE",
    "CREATE CONSTRAINT keel_decision_key IF NOT EXISTS FOR (n:Decision) REQUIRE (n.bot_id, n.seq) IS UNIQUE",
    "CREATE CONSTRAINT keel_order_key IF NOT EXISTS FOR (n:Order) REQUIRE (n.bot_id, n.client_order_id) IS UNIQUE",
    "CREATE CONSTRAINT keel_fill_key IF NOT EXISTS FOR (n:Fill) REQUIRE (n.bot_id, n.symbol, n.trade_id) IS UNIQUE",
    "CREATE CONSTRAINT keel_instrument_key IF NOT EXISTS FOR (n:Instrument) REQUIRE (n.exchange, n.market, n.symbol) IS UNIQUE",
    "CREATE CONSTRAINT keel_config_key IF NOT EXISTS FOR (n:ConfigVersion) REQUIRE (n.bot_id, n.version) IS UNIQUE",
    "CREATE INDEX keel_event_signal IF NOT EXISTS FOR (n:Event) ON (n.bot_id, n.signal_id)",
    "CREATE INDEX keel_event_order IF NOT EXISTS FOR (n:Event) ON (n.bot_id, n.client_order_id)",
    "CREATE INDEX keel_signal_id IF NOT EXISTS FOR (n:Signal) ON (n.id)",
];

/// Writes a batch (`$events`, rows built by [`crate::rows::event_row`]). `MERGE` on
/// `(bot_id, seq)`; the graph is built only for events that are new or identical (`same`), so a
/// replayed batch creates nothing and a conflicting one changes nothing. Returns the row count,
/// the highest seq per bot and the seqs whose stored hash differs.
pub const WRITE_EVENTS: &str = "UNWIND $events AS e \
MERGE (ev:Event {bot_id: e.bot_id, seq: e.seq}) ON CREATE SET ev.hash = e.hash, ev.prev_hash = e.prev_hash, ev.kind = e.kind, ev.time_ms = e.time_ms, ev.actor = e.actor, ev.mode = e.mode, ev.signal_id = e.signal_id, ev.client_order_id = e.client_order_id, ev.body = e.body \
WITH e, ev, ev.hash = e.hash AS same \
MERGE (b:Bot {id: e.bot_id}) \
WITH e, ev, same, b \
OPTIONAL MATCH (p:Event {bot_id: e.bot_id, seq: e.seq - 1}) \
FOREACH (one IN CASE WHEN same AND p IS NOT NULL THEN [1] ELSE [] END | MERGE (p)-[:NEXT]->(ev)) \
FOREACH (s IN CASE WHEN same THEN e.signal ELSE [] END | MERGE (sn:Signal {bot_id: e.bot_id, id: s.id}) ON CREATE SET sn.time_ms = e.time_ms, sn.first_seq = e.seq SET sn += s.props MERGE (b)-[:RECEIVED]->(sn) MERGE (ev)-[:RECORDS]->(sn)) \
FOREACH (d IN CASE WHEN same THEN e.decision ELSE [] END | MERGE (dn:Decision {bot_id: e.bot_id, seq: e.seq}) ON CREATE SET dn += d.props MERGE (ev)-[:RECORDS]->(dn) FOREACH (sid IN d.signal_ids | MERGE (sn:Signal {bot_id: e.bot_id, id: sid}) MERGE (b)-[:RECEIVED]->(sn) MERGE (sn)-[:DECIDED]->(dn))) \
FOREACH (o IN CASE WHEN same THEN e.order ELSE [] END | MERGE (od:Order {bot_id: e.bot_id, client_order_id: o.client_order_id}) ON CREATE SET od += o.props MERGE (i:Instrument {exchange: o.exchange, market: o.market, symbol: o.symbol}) MERGE (od)-[:ON]->(i) MERGE (ev)-[:RECORDS]->(od) FOREACH (sid IN o.signal_ids | MERGE (sn:Signal {bot_id: e.bot_id, id: sid}) MERGE (b)-[:RECEIVED]->(sn) MERGE (sn)-[:PLACED]->(od))) \
FOREACH (f IN CASE WHEN same THEN e.fill ELSE [] END | MERGE (fl:Fill {bot_id: e.bot_id, symbol: f.symbol, trade_id: f.trade_id}) ON CREATE SET fl += f.props MERGE (ev)-[:RECORDS]->(fl) FOREACH (cid IN f.order_ids | MERGE (od:Order {bot_id: e.bot_id, client_order_id: cid}) MERGE (od)-[:FILLED_BY]->(fl))) \
FOREACH (x IN CASE WHEN same THEN e.pnl ELSE [] END | FOREACH (tid IN x.trade_ids | MERGE (fl:Fill {bot_id: e.bot_id, symbol: x.symbol, trade_id: tid}) MERGE (fl)-[:BOOKED]->(ev))) \
FOREACH (c IN CASE WHEN same THEN e.config ELSE [] END | MERGE (cv:ConfigVersion {bot_id: e.bot_id, version: c.version}) ON CREATE SET cv.seq = e.seq, cv.time_ms = e.time_ms, cv.actor = e.actor MERGE (b)-[:CONFIGURED]->(cv) MERGE (ev)-[:RECORDS]->(cv) FOREACH (ov IN c.old_versions | MERGE (pv:ConfigVersion {bot_id: e.bot_id, version: ov}) MERGE (pv)-[:SUPERSEDED_BY]->(cv))) \
WITH e, same \
RETURN e.bot_id AS bot_id, count(*) AS rows, max(e.seq) AS last_seq, [x IN collect(CASE WHEN same THEN null ELSE e.seq END) WHERE x IS NOT NULL] AS conflicts";

/// The causal chain of a signal (`$signal_id`, optional `$bot_id`): one row per bot that received it.
pub const SIGNAL_CHAIN: &str = "MATCH (s:Signal {id: $signal_id}) WHERE $bot_id IS NULL OR s.bot_id = $bot_id \
RETURN s.bot_id AS bot_id, properties(s) AS signal, \
[(s)-[:DECIDED]->(d:Decision) | properties(d)] AS decisions, \
[(s)-[:PLACED]->(o:Order) | o {.*, instrument: head([(o)-[:ON]->(i:Instrument) | properties(i)]), fills: [(o)-[:FILLED_BY]->(f:Fill) | f {.*, pnl: [(f)-[:BOOKED]->(pe:Event) | pe.body]}]}] AS orders, \
COLLECT { MATCH (ev:Event {bot_id: s.bot_id, signal_id: s.id}) RETURN ev {.seq, .kind, .time_ms, .actor, .signal_id, .client_order_id, .hash, .body} } AS signal_events, \
COLLECT { MATCH (s)-[:PLACED]->(o2:Order) MATCH (ev:Event {bot_id: s.bot_id, client_order_id: o2.client_order_id}) RETURN ev {.seq, .kind, .time_ms, .actor, .signal_id, .client_order_id, .hash, .body} } AS order_events \
ORDER BY bot_id";

/// A page of a bot's events (`$bot_id`, `$after`, `$limit`), in seq order.
pub const EVENTS_PAGE: &str = "MATCH (ev:Event {bot_id: $bot_id}) WHERE ev.seq > $after \
RETURN ev.seq AS seq, ev.time_ms AS time_ms, ev.kind AS kind, ev.prev_hash AS prev_hash, ev.hash AS hash, ev.body AS body \
ORDER BY ev.seq LIMIT $limit";

/// Chain statistics of a bot (`$bot_id`): count, seq range, `NEXT` links.
pub const CHAIN_STATS: &str = "MATCH (ev:Event {bot_id: $bot_id}) \
WITH count(ev) AS count, min(ev.seq) AS min_seq, max(ev.seq) AS max_seq \
RETURN count, min_seq, max_seq, COUNT { MATCH (:Event {bot_id: $bot_id})-[:NEXT]->(:Event {bot_id: $bot_id}) } AS next_links";

/// First missing seqs of a bot's chain (`$bot_id`, `$limit`): each is the seq after a stored event
/// whose successor is absent, below the highest stored seq.
pub const CHAIN_GAPS: &str = "MATCH (last:Event {bot_id: $bot_id}) WITH max(last.seq) AS max_seq \
MATCH (ev:Event {bot_id: $bot_id}) WHERE ev.seq < max_seq AND NOT EXISTS { MATCH (:Event {bot_id: $bot_id, seq: ev.seq + 1}) } \
RETURN ev.seq + 1 AS missing ORDER BY missing LIMIT $limit";

/// Reachability probe for `/health`.
pub const PING: &str = "RETURN 1 AS ok";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_single_line_and_parameterised() {
        let all = SCHEMA.iter().copied().chain([
            WRITE_EVENTS,
            SIGNAL_CHAIN,
            EVENTS_PAGE,
            CHAIN_STATS,
            CHAIN_GAPS,
            PING,
        ]);
        for s in all {
            assert!(!s.contains('\n') && !s.contains('\r'), "multi-line: {s}");
            assert!(
                !s.contains("  "),
                "line continuation left double spaces: {s}"
            );
            assert!(!s.contains('\''), "literal string in Cypher: {s}");
        }
        assert!(WRITE_EVENTS
            .starts_with("UNWIND $events AS e MERGE (ev:Event {bot_id: e.bot_id, seq: e.seq})"));
    }
}
