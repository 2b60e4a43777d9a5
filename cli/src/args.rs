//! Command-line parsing: `std::env::args` into a typed [`Invocation`], no parser crate, so the
//! binary builds in seconds and every accepted spelling is visible (and tested) here.

use crate::portfolio::PortfolioCommand;
use thiserror::Error;

/// One thing the operator asked for; each maps to one or two admin API calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `keel help`: the usage text, no network.
    Help,
    /// `keel portfolio …`: limits across bots and capital allocation.
    Portfolio(PortfolioCommand),
    /// `keel status`: platform health and a count of bots per state.
    Status,
    /// `keel bots list`.
    BotsList,
    /// `keel bots create --file bot.json`.
    BotsCreate {
        /// Path of the full bot config (JSON).
        file: String,
    },
    /// `keel bots get ID`.
    BotsGet {
        /// Bot id.
        id: String,
    },
    /// `keel bots patch ID --file patch.json`.
    BotsPatch {
        /// Bot id.
        id: String,
        /// Path of the JSON merge patch.
        file: String,
    },
    /// `keel bots delete ID [--force]`.
    BotsDelete {
        /// Bot id.
        id: String,
        /// Flatten first instead of refusing a bot that is not flat.
        force: bool,
    },
    /// `keel bots set-credentials ID --api-key K --api-secret-stdin`.
    SetCredentials {
        /// Bot id.
        id: String,
        /// Exchange API key (public half; the secret never travels through argv).
        api_key: String,
    },
    /// `keel capital ID AMOUNT`.
    Capital {
        /// Bot id.
        id: String,
        /// Decimal amount, negative to withdraw; kept as text so it stays exact.
        amount: String,
    },
    /// `keel pause ID [--reason TEXT]`.
    Pause {
        /// Bot id.
        id: String,
        /// Why, recorded in the audit.
        reason: Option<String>,
    },
    /// `keel resume ID [--reason TEXT]`.
    Resume {
        /// Bot id.
        id: String,
        /// Why, recorded in the audit.
        reason: Option<String>,
    },
    /// `keel flatten ID [--reason TEXT]`.
    Flatten {
        /// Bot id.
        id: String,
        /// Why, recorded in the audit.
        reason: Option<String>,
    },
    /// `keel halt [--flatten] [--reason TEXT]`: the global kill switch.
    Halt {
        /// Also ask every bot to flatten.
        flatten: bool,
        /// Why, recorded in the platform audit.
        reason: Option<String>,
    },
    /// `keel resume-all`: release the global kill switch.
    ResumeAll,
    /// `keel pnl ID`.
    Pnl {
        /// Bot id.
        id: String,
    },
    /// `keel analytics ID [--period 1d]`: live ratios and the exact P&L attribution.
    Analytics {
        /// Bot id.
        id: String,
        /// Resampling period of the equity (a timeframe label), the API's default if absent.
        period: Option<String>,
    },
    /// `keel compare-bots A B [--period 1d]`: two bots side by side (A/B test).
    CompareBots {
        /// Bot A.
        a: String,
        /// Bot B.
        b: String,
        /// Resampling period (a timeframe label), the API's default if absent.
        period: Option<String>,
    },
    /// `keel shadow A B [--patch JSON] [--name N]`: B becomes a paper shadow of A (A/B test).
    Shadow {
        /// The bot shadowed (A).
        parent: String,
        /// The new paper bot (B).
        id: String,
        /// JSON merge patch over A's config (B's version), validated as JSON here.
        patch: Option<String>,
        /// B's display name.
        name: Option<String>,
    },
    /// `keel promote A B [--force --reason TEXT] [--period 1d]`: apply shadow B's version to A.
    Promote {
        /// The bot promoted onto (A).
        parent: String,
        /// Its shadow (B).
        shadow: String,
        /// Promote without a decision of the test (needs a reason; audited).
        force: bool,
        /// Why (audited).
        reason: Option<String>,
        /// Resampling period of the test (a timeframe label).
        period: Option<String>,
    },
    /// `keel audit ID [--after N]`.
    Audit {
        /// Bot id.
        id: String,
        /// Only events with `seq > after`.
        after: Option<u64>,
    },
    /// `keel chat show`: the Telegram chat control settings (never the secrets).
    ChatShow,
    /// `keel chat set --file chat.json`: set them (token and secret from a file, not argv).
    ChatSet {
        /// JSON file of `ChatSettingsRequest` (docs/chat.md).
        file: String,
    },
    /// `keel calls add SOURCE CALL_ID --file message.txt`: record a pasted channel call.
    CallsAdd {
        /// Source id (influencer, channel).
        source: String,
        /// Call id.
        id: String,
        /// Path of the message text.
        file: String,
    },
    /// `keel calls edit CALL_ID --file message.txt`: a new version (the score stays the first's).
    CallsEdit {
        /// Call id.
        id: String,
        /// Path of the edited message text.
        file: String,
    },
    /// `keel calls list`.
    CallsList,
    /// `keel calls get CALL_ID`: versions and stored score.
    CallsGet {
        /// Call id.
        id: String,
    },
    /// `keel calls score CALL_ID --file candles.json`: score the first version.
    CallsScore {
        /// Call id.
        id: String,
        /// Path of `{"candles": [...], "as_of_ms", "slippage", "fee_rate"}`.
        file: String,
    },
    /// `keel calls leaderboard`: sources by the lower bound of mean R.
    CallsLeaderboard,
    /// `keel tokens list`: every API token (never the token itself).
    TokensList,
    /// `keel tokens create [--name N] [--role admin|viewer] [--ttl 30d] [--bots a,b]`.
    TokensCreate {
        /// Label.
        name: Option<String>,
        /// `admin` or `viewer` (the server defaults to viewer).
        role: Option<String>,
        /// Lifetime in seconds (the server defaults to 90 days, at most 365).
        ttl_secs: Option<i64>,
        /// The bots the token is limited to; `None` = every bot.
        bots: Option<Vec<String>>,
    },
    /// `keel tokens revoke ID`.
    TokensRevoke {
        /// Token id (`tok_…`).
        id: String,
    },
}

/// A parsed command line: where to call, with which token, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `--url`, else `KEEL_URL`.
    pub url: Option<String>,
    /// `--token`, else `KEEL_TOKEN`.
    pub token: Option<String>,
    /// Print the API's JSON answer as is instead of the human summary.
    pub json: bool,
    /// What to do.
    pub command: Command,
}

/// Why a command line was refused; the message names the offending argument.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArgError {
    /// No command, or one this client does not know.
    #[error("unknown command `{0}` (try `keel help`)")]
    UnknownCommand(String),
    /// A required positional argument or option is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// An option this command does not take.
    #[error("unexpected argument `{0}`")]
    Unexpected(String),
    /// An option whose value does not parse.
    #[error("invalid value for {flag}: `{value}`")]
    Invalid {
        /// The option.
        flag: &'static str,
        /// What was given.
        value: String,
    },
    /// A secret on the command line would land in shell history and `ps`.
    #[error("--api-secret is refused: secrets never go on the command line; pipe it with --api-secret-stdin")]
    SecretInArgv,
}

/// The usage text printed by `keel help` and after a usage error.
pub const USAGE: &str = "\
usage: keel [--url URL] [--token TOKEN] [--json] COMMAND
  (URL and TOKEN default to the KEEL_URL and KEEL_TOKEN environment variables)

  status                                   platform health and bots per state
  bots list                                every bot with its summary
  bots create --file bot.json              create a bot; prints webhook URL, secret (once), alert
  bots get ID                              a bot's config and flags
  bots patch ID --file patch.json          merge-patch the config (new version)
  bots delete ID [--force]                 delete a flat bot (--force flattens first)
  bots set-credentials ID --api-key K --api-secret-stdin
                                           store exchange credentials; secret read from stdin
  capital ID AMOUNT                        book a capital transfer (negative withdraws)
  pause ID [--reason TEXT]                 no new entries
  resume ID [--reason TEXT]                resume a paused bot
  flatten ID [--reason TEXT]               close every position, cancel every order
  halt [--flatten] [--reason TEXT]         global kill switch
  resume-all                               release the global kill switch
  pnl ID                                   exact P&L
  analytics ID [--period 1d]               live Sharpe, Sortino, drawdown, win rate over the
                                           bot's equity; net P&L by instrument, strategy, hour
  compare-bots A B [--period 1d]           A/B: both bots' ratios, the Ledoit-Wolf Sharpe test
                                           and the always-valid mSPRT on their paired returns
  shadow A B [--patch JSON] [--name N]     create paper bot B, fed A's signals, with A's config
                                           and the merge patch (B's version; none = A/A test)
  promote A B [--force --reason TEXT] [--period 1d]
                                           apply shadow B's version to A (refused until the
                                           mSPRT decides B is better, unless forced; audited)
  audit ID [--after N]                     the bot's audit chain
  calls add SOURCE ID --file msg.txt       record a pasted channel call (parsed; unread parts flagged)
  calls edit ID --file msg.txt             a new version of the call (its score stays the first's)
  calls list | calls get ID                calls with their versions and stored scores
  calls score ID --file candles.json       score the call's first version against the candles
  calls leaderboard                        sources ranked by the lower bound of mean R
  chat show                                Telegram chat control: allowlisted chats, Bot API URL
  chat set --file chat.json                set bot token, webhook secret, allowlist (docs/chat.md)
  tokens list                              API tokens: id, role, scope, expiry (never the token)
  tokens create [--name N] [--role admin|viewer] [--ttl 30d] [--bots a,b]
                                           mint a token (shown once); --ttl in s/m/h/d, at most 365d
  tokens revoke ID                         revoke a token: it stops working at once
  portfolio [show]                         scopes: exposure, drawdown, daily loss vs their limits
  portfolio set NAME --file scope.json     create/change a scope (members, limits, lease time)
  portfolio delete|halt|resume NAME [--reason TEXT]
                                           remove, halt (bots go reduce-only) or resume a scope
  portfolio allocate --file alloc.json     propose target equity per bot (fixed, vol_target,
                                           equal_risk; kelly cap); moves nothing
  portfolio accept --file proposal.json    book a proposal's transfers (audited per bot)
";

/// Options and positionals left after the global flags, consumed one command at a time.
#[derive(Debug)]
struct Rest {
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

/// Options that take a value; every other `--x` is a switch.
const VALUED: &[&str] = &[
    "--file",
    "--api-key",
    "--reason",
    "--after",
    "--url",
    "--token",
    "--name",
    "--role",
    "--ttl",
    "--bots",
    "--period",
    "--patch",
];

impl Rest {
    fn split(args: &[String]) -> Result<Self, ArgError> {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "--api-secret" || arg.starts_with("--api-secret=") {
                return Err(ArgError::SecretInArgv);
            }
            if let Some(stripped) = arg.strip_prefix("--") {
                if let Some((name, value)) = stripped.split_once('=') {
                    options.push((format!("--{name}"), Some(value.to_string())));
                } else if VALUED.contains(&arg.as_str()) {
                    let value = it.next().cloned();
                    options.push((arg.clone(), value));
                } else {
                    options.push((arg.clone(), None));
                }
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Self {
            positional,
            options,
        })
    }

    /// Takes a valued option (its last occurrence wins); an option given without value is refused.
    fn value(&mut self, flag: &'static str) -> Result<Option<String>, ArgError> {
        let mut found = None;
        let mut i = 0;
        while i < self.options.len() {
            if self.options[i].0 == flag {
                let (_, value) = self.options.remove(i);
                found = Some(value.ok_or(ArgError::Missing(flag))?);
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    fn switch(&mut self, flag: &str) -> bool {
        let before = self.options.len();
        self.options.retain(|(name, _)| name != flag);
        before != self.options.len()
    }

    fn positional(&mut self, what: &'static str) -> Result<String, ArgError> {
        if self.positional.is_empty() {
            return Err(ArgError::Missing(what));
        }
        Ok(self.positional.remove(0))
    }

    /// Refuses whatever the command did not consume.
    fn finish(self) -> Result<(), ArgError> {
        if let Some(p) = self.positional.into_iter().next() {
            return Err(ArgError::Unexpected(p));
        }
        if let Some((name, _)) = self.options.into_iter().next() {
            return Err(ArgError::Unexpected(name));
        }
        Ok(())
    }
}

/// A `--period` value: a timeframe label (`1h`, `1d`), letters and digits only, so it goes into
/// the query as it is.
fn timeframe_label(period: Option<String>) -> Result<Option<String>, ArgError> {
    match period {
        Some(p) if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Err(ArgError::Invalid {
                flag: "--period",
                value: p,
            })
        }
        other => Ok(other),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Invocation, ArgError> {
    let mut rest = Rest::split(args)?;
    let url = rest.value("--url")?;
    let token = rest.value("--token")?;
    let json = rest.switch("--json");
    if rest.switch("--help") || rest.switch("-h") {
        return Ok(Invocation {
            url,
            token,
            json,
            command: Command::Help,
        });
    }
    let word = rest.positional("command")?;
    let command = match word.as_str() {
        "help" => Command::Help,
        "status" => Command::Status,
        "bots" => bots(&mut rest)?,
        "capital" => Command::Capital {
            id: rest.positional("bot id")?,
            amount: rest.positional("amount")?,
        },
        "pause" => Command::Pause {
            id: rest.positional("bot id")?,
            reason: rest.value("--reason")?,
        },
        "resume" => Command::Resume {
            id: rest.positional("bot id")?,
            reason: rest.value("--reason")?,
        },
        "flatten" => Command::Flatten {
            id: rest.positional("bot id")?,
            reason: rest.value("--reason")?,
        },
        "halt" => Command::Halt {
            flatten: rest.switch("--flatten"),
            reason: rest.value("--reason")?,
        },
        "resume-all" => Command::ResumeAll,
        "tokens" => tokens(&mut rest)?,
        "portfolio" => Command::Portfolio(portfolio(&mut rest)?),
        "calls" => calls(&mut rest)?,
        "chat" => match rest.positional("chat subcommand (show, set)")?.as_str() {
            "show" => Command::ChatShow,
            "set" => Command::ChatSet {
                file: rest.value("--file")?.ok_or(ArgError::Missing("--file"))?,
            },
            other => return Err(ArgError::UnknownCommand(format!("chat {other}"))),
        },
        "pnl" => Command::Pnl {
            id: rest.positional("bot id")?,
        },
        "analytics" => {
            let id = rest.positional("bot id")?;
            let period = timeframe_label(rest.value("--period")?)?;
            Command::Analytics { id, period }
        }
        "compare-bots" => {
            let a = rest.positional("bot A")?;
            let b = rest.positional("bot B")?;
            let period = timeframe_label(rest.value("--period")?)?;
            Command::CompareBots { a, b, period }
        }
        "shadow" => {
            let parent = rest.positional("bot A")?;
            let id = rest.positional("shadow bot id")?;
            let patch = rest.value("--patch")?;
            if let Some(p) = &patch {
                if !serde_json::from_str::<serde_json::Value>(p).is_ok_and(|v| v.is_object()) {
                    return Err(ArgError::Invalid {
                        flag: "--patch",
                        value: p.clone(),
                    });
                }
            }
            let name = rest.value("--name")?;
            Command::Shadow {
                parent,
                id,
                patch,
                name,
            }
        }
        "promote" => {
            let parent = rest.positional("bot A")?;
            let shadow = rest.positional("shadow bot id")?;
            let force = rest.switch("--force");
            let reason = rest.value("--reason")?;
            let period = timeframe_label(rest.value("--period")?)?;
            Command::Promote {
                parent,
                shadow,
                force,
                reason,
                period,
            }
        }
        "audit" => {
            let id = rest.positional("bot id")?;
            let after = match rest.value("--after")? {
                None => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| ArgError::Invalid {
                    flag: "--after",
                    value: v.clone(),
                })?),
            };
            Command::Audit { id, after }
        }
        other => return Err(ArgError::UnknownCommand(other.to_string())),
    };
    rest.finish()?;
    Ok(Invocation {
        url,
        token,
        json,
        command,
    })
}

fn tokens(rest: &mut Rest) -> Result<Command, ArgError> {
    let sub = rest.positional("tokens subcommand (list, create, revoke)")?;
    Ok(match sub.as_str() {
        "list" => Command::TokensList,
        "create" => {
            let ttl_secs = match rest.value("--ttl")? {
                None => None,
                Some(v) => Some(duration_secs(&v).ok_or(ArgError::Invalid {
                    flag: "--ttl",
                    value: v.clone(),
                })?),
            };
            let bots = rest.value("--bots")?.map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(String::from)
                    .collect()
            });
            Command::TokensCreate {
                name: rest.value("--name")?,
                role: rest.value("--role")?,
                ttl_secs,
                bots,
            }
        }
        "revoke" => Command::TokensRevoke {
            id: rest.positional("token id")?,
        },
        other => return Err(ArgError::UnknownCommand(format!("tokens {other}"))),
    })
}

fn portfolio(rest: &mut Rest) -> Result<PortfolioCommand, ArgError> {
    let sub = if rest.positional.is_empty() {
        "show".to_string()
    } else {
        rest.positional("portfolio subcommand")?
    };
    let file = |rest: &mut Rest| rest.value("--file")?.ok_or(ArgError::Missing("--file"));
    Ok(match sub.as_str() {
        "show" => PortfolioCommand::Show,
        "set" => PortfolioCommand::Set {
            name: rest.positional("scope name")?,
            file: file(rest)?,
        },
        "delete" => PortfolioCommand::Delete {
            name: rest.positional("scope name")?,
        },
        "halt" => PortfolioCommand::Halt {
            name: rest.positional("scope name")?,
            reason: rest.value("--reason")?,
        },
        "resume" => PortfolioCommand::Resume {
            name: rest.positional("scope name")?,
            reason: rest.value("--reason")?,
        },
        "allocate" => PortfolioCommand::Allocate { file: file(rest)? },
        "accept" => PortfolioCommand::Accept { file: file(rest)? },
        other => return Err(ArgError::UnknownCommand(format!("portfolio {other}"))),
    })
}

/// `90` (seconds), `90s`, `15m`, `12h` or `30d` in seconds; the server checks the bounds.
fn duration_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (at, c) if c.is_ascii_alphabetic() => (&text[..at], c),
        _ => (text, 's'),
    };
    let n: i64 = digits.parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(per)
}

fn calls(rest: &mut Rest) -> Result<Command, ArgError> {
    let sub = rest.positional("calls subcommand (add, edit, list, get, score, leaderboard)")?;
    let file = |rest: &mut Rest| rest.value("--file")?.ok_or(ArgError::Missing("--file"));
    Ok(match sub.as_str() {
        "add" => Command::CallsAdd {
            source: rest.positional("source id")?,
            id: rest.positional("call id")?,
            file: file(rest)?,
        },
        "edit" => Command::CallsEdit {
            id: rest.positional("call id")?,
            file: file(rest)?,
        },
        "list" => Command::CallsList,
        "get" => Command::CallsGet {
            id: rest.positional("call id")?,
        },
        "score" => Command::CallsScore {
            id: rest.positional("call id")?,
            file: file(rest)?,
        },
        "leaderboard" => Command::CallsLeaderboard,
        other => return Err(ArgError::UnknownCommand(format!("calls {other}"))),
    })
}

fn bots(rest: &mut Rest) -> Result<Command, ArgError> {
    let sub =
        rest.positional("bots subcommand (list, create, get, patch, delete, set-credentials)")?;
    Ok(match sub.as_str() {
        "list" => Command::BotsList,
        "create" => Command::BotsCreate {
            file: rest.value("--file")?.ok_or(ArgError::Missing("--file"))?,
        },
        "get" => Command::BotsGet {
            id: rest.positional("bot id")?,
        },
        "patch" => Command::BotsPatch {
            id: rest.positional("bot id")?,
            file: rest.value("--file")?.ok_or(ArgError::Missing("--file"))?,
        },
        "delete" => Command::BotsDelete {
            id: rest.positional("bot id")?,
            force: rest.switch("--force"),
        },
        "set-credentials" => {
            let id = rest.positional("bot id")?;
            let api_key = rest
                .value("--api-key")?
                .ok_or(ArgError::Missing("--api-key"))?;
            if !rest.switch("--api-secret-stdin") {
                return Err(ArgError::Missing("--api-secret-stdin"));
            }
            Command::SetCredentials { id, api_key }
        }
        other => return Err(ArgError::UnknownCommand(format!("bots {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_token_commands() {
        assert_eq!(
            parse(&argv("tokens list --json")).unwrap().command,
            Command::TokensList
        );
        assert_eq!(
            parse(&argv(
                "tokens create --name desk --role viewer --ttl 30d --bots a,b"
            ))
            .unwrap()
            .command,
            Command::TokensCreate {
                name: Some("desk".into()),
                role: Some("viewer".into()),
                ttl_secs: Some(30 * 86_400),
                bots: Some(vec!["a".into(), "b".into()]),
            }
        );
        assert_eq!(
            parse(&argv("tokens create")).unwrap().command,
            Command::TokensCreate {
                name: None,
                role: None,
                ttl_secs: None,
                bots: None
            }
        );
        assert_eq!(
            parse(&argv("tokens revoke tok_1")).unwrap().command,
            Command::TokensRevoke { id: "tok_1".into() }
        );
        for (ttl, secs) in [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43_200)] {
            assert_eq!(duration_secs(ttl), Some(secs), "{ttl}");
        }
        for bad in ["", "d", "3w", "1.5h", "-", "99999999999999999d", "é"] {
            assert_eq!(duration_secs(bad), None, "{bad}");
        }
        assert!(matches!(
            parse(&argv("tokens create --ttl 3w")),
            Err(ArgError::Invalid { flag: "--ttl", .. })
        ));
        assert!(matches!(
            parse(&argv("tokens drop x")),
            Err(ArgError::UnknownCommand(_))
        ));
    }

    #[test]
    fn parses_every_command() {
        let cases: Vec<(&str, Command)> = vec![
            ("status", Command::Status),
            ("help", Command::Help),
            ("--help", Command::Help),
            ("bots list", Command::BotsList),
            (
                "bots create --file bot.json",
                Command::BotsCreate {
                    file: "bot.json".into(),
                },
            ),
            (
                "bots create --file=b.json",
                Command::BotsCreate {
                    file: "b.json".into(),
                },
            ),
            ("bots get a", Command::BotsGet { id: "a".into() }),
            (
                "calls add chan c1 --file m.txt",
                Command::CallsAdd {
                    source: "chan".into(),
                    id: "c1".into(),
                    file: "m.txt".into(),
                },
            ),
            (
                "calls edit c1 --file m.txt",
                Command::CallsEdit {
                    id: "c1".into(),
                    file: "m.txt".into(),
                },
            ),
            ("calls list", Command::CallsList),
            ("calls get c1", Command::CallsGet { id: "c1".into() }),
            (
                "calls score c1 --file k.json",
                Command::CallsScore {
                    id: "c1".into(),
                    file: "k.json".into(),
                },
            ),
            ("calls leaderboard", Command::CallsLeaderboard),
            ("chat show", Command::ChatShow),
            (
                "chat set --file chat.json",
                Command::ChatSet {
                    file: "chat.json".into(),
                },
            ),
            (
                "bots patch a --file p.json",
                Command::BotsPatch {
                    id: "a".into(),
                    file: "p.json".into(),
                },
            ),
            (
                "bots delete a",
                Command::BotsDelete {
                    id: "a".into(),
                    force: false,
                },
            ),
            (
                "bots delete a --force",
                Command::BotsDelete {
                    id: "a".into(),
                    force: true,
                },
            ),
            (
                "bots set-credentials a --api-key K --api-secret-stdin",
                Command::SetCredentials {
                    id: "a".into(),
                    api_key: "K".into(),
                },
            ),
            (
                "capital a -50.5",
                Command::Capital {
                    id: "a".into(),
                    amount: "-50.5".into(),
                },
            ),
            (
                "pause a",
                Command::Pause {
                    id: "a".into(),
                    reason: None,
                },
            ),
            (
                "pause a --reason news",
                Command::Pause {
                    id: "a".into(),
                    reason: Some("news".into()),
                },
            ),
            (
                "resume a",
                Command::Resume {
                    id: "a".into(),
                    reason: None,
                },
            ),
            (
                "flatten a",
                Command::Flatten {
                    id: "a".into(),
                    reason: None,
                },
            ),
            (
                "halt",
                Command::Halt {
                    flatten: false,
                    reason: None,
                },
            ),
            (
                "halt --flatten",
                Command::Halt {
                    flatten: true,
                    reason: None,
                },
            ),
            ("resume-all", Command::ResumeAll),
            ("pnl a", Command::Pnl { id: "a".into() }),
            (
                "analytics a --period 1h",
                Command::Analytics {
                    id: "a".into(),
                    period: Some("1h".into()),
                },
            ),
            (
                "analytics a",
                Command::Analytics {
                    id: "a".into(),
                    period: None,
                },
            ),
            (
                "compare-bots a b --period 4h",
                Command::CompareBots {
                    a: "a".into(),
                    b: "b".into(),
                    period: Some("4h".into()),
                },
            ),
            (
                "shadow a b --patch {\"sizing\":{}} --name B",
                Command::Shadow {
                    parent: "a".into(),
                    id: "b".into(),
                    patch: Some("{\"sizing\":{}}".into()),
                    name: Some("B".into()),
                },
            ),
            (
                "promote a b --force --reason why --period 1h",
                Command::Promote {
                    parent: "a".into(),
                    shadow: "b".into(),
                    force: true,
                    reason: Some("why".into()),
                    period: Some("1h".into()),
                },
            ),
            (
                "audit a",
                Command::Audit {
                    id: "a".into(),
                    after: None,
                },
            ),
            (
                "audit a --after 7",
                Command::Audit {
                    id: "a".into(),
                    after: Some(7),
                },
            ),
        ];
        for (line, want) in cases {
            let got = parse(&argv(line)).map(|i| i.command);
            assert_eq!(got, Ok(want), "{line}");
        }
    }

    #[test]
    fn global_flags_anywhere() {
        let inv = parse(&argv("bots --url http://x:1 list --token t --json")).unwrap();
        assert_eq!(inv.url.as_deref(), Some("http://x:1"));
        assert_eq!(inv.token.as_deref(), Some("t"));
        assert!(inv.json);
        assert_eq!(inv.command, Command::BotsList);
    }

    #[test]
    fn refuses_bad_lines() {
        let cases: Vec<(&str, ArgError)> = vec![
            ("", ArgError::Missing("command")),
            ("frobnicate", ArgError::UnknownCommand("frobnicate".into())),
            ("bots nope", ArgError::UnknownCommand("bots nope".into())),
            ("bots create", ArgError::Missing("--file")),
            ("bots create --file", ArgError::Missing("--file")),
            ("bots get", ArgError::Missing("bot id")),
            ("capital a", ArgError::Missing("amount")),
            ("pause a b", ArgError::Unexpected("b".into())),
            ("status --force", ArgError::Unexpected("--force".into())),
            (
                "audit a --after x",
                ArgError::Invalid {
                    flag: "--after",
                    value: "x".into(),
                },
            ),
            (
                "bots set-credentials a --api-key K",
                ArgError::Missing("--api-secret-stdin"),
            ),
            (
                "bots set-credentials a --api-key K --api-secret S",
                ArgError::SecretInArgv,
            ),
            (
                "bots set-credentials a --api-key K --api-secret=S",
                ArgError::SecretInArgv,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse(&argv(line)), Err(want), "{line}");
        }
    }
}
