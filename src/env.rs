//! Names of the bindings, secrets and variables the Worker reads, in one place (see
//! `wrangler.toml` and the README's deployment section).

/// Durable Object namespace of `BotDO` (one object per bot, named by bot id).
pub const BOT: &str = "BOT";
/// Durable Object namespace of `ControlDO` (one object named [`CONTROL_NAME`]).
pub const CONTROL: &str = "CONTROL";
/// Name of the singleton ControlDO.
pub const CONTROL_NAME: &str = "control";
/// Service binding to the neo4j-proxy Worker.
pub const NEO4J_PROXY: &str = "NEO4J_PROXY";
/// R2 bucket of historical candles (`KEELBARS` month objects at `store::month_path` keys), filled
/// by `POST /api/v1/data/import` and read by stored-source backtests.
pub const HISTORY: &str = "HISTORY";
/// Static assets binding (the dashboard).
pub const ASSETS: &str = "ASSETS";
/// Bootstrap admin token secret.
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// JSON map of exchange name to base URL probed by `/health` (default: the public endpoints).
pub const EXCHANGE_URLS: &str = "KEEL_EXCHANGE_URLS";
/// Base URL of the local exchange simulator (set only by the local stack, `scripts/stack.ts`): when
/// set, `/health` probes it for both exchanges, candles are read from it, and a paper or testnet
/// bot created without `base_url` trades against it (`api::bots::local_sim_base_url`).
pub const EXCHANGE_SIM_URL: &str = "EXCHANGE_SIM_URL";
/// Location hint for new bot Durable Objects (docs/deploy.md).
pub const DEFAULT_LOCATION_HINT: &str = "KEEL_DEFAULT_LOCATION_HINT";
/// Version string reported by `/health`.
pub const VERSION: &str = "KEEL_VERSION";
/// Origin allowed by CORS (the dashboard's, when served elsewhere).
pub const DASHBOARD_ORIGIN: &str = "KEEL_DASHBOARD_ORIGIN";

/// Cloudflare Access team domain (`<team>.cloudflareaccess.com`): with [`CF_ACCESS_AUD`], turns on
/// Access mode for the admin API (see `access.rs`).
pub const CF_ACCESS_TEAM_DOMAIN: &str = "CF_ACCESS_TEAM_DOMAIN";
/// Audience tag of the Access application protecting the admin API.
pub const CF_ACCESS_AUD: &str = "CF_ACCESS_AUD";

/// Reads a plain variable or secret, `None` when unset or empty.
pub fn get(env: &worker::Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.is_empty())
}
