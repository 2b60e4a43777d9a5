//! Two-way chat control (issue 24): the Telegram commands an operator sends to Keel from a phone
//! (`/status`, `/pnl`, `/positions`, `/pause <bot>`, `/resume <bot>`, `/flatten <bot>` with a
//! confirmation step, `/halt`, `/help`).
//!
//! Pure: this module reads a Telegram `Update` (already decoded from JSON) into who sent what,
//! decides whether the chat may command Keel (the operator's allowlist), parses the command
//! grammar and checks a flatten's confirmation. The edge Worker (`src/chat.rs`) does the I/O: the
//! secret header, the audit, the admin API's code paths, and the `sendMessage` answer.
//!
//! Input is hostile: any Unicode, any size (the Worker caps the body), fields missing or of the
//! wrong type. Every failure is a typed [`ChatError`] the Worker maps to a precise 4xx; nothing
//! here slices bytes or panics (a seeded proptest feeds it arbitrary text).

use crate::ids::BotId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Longest message text Telegram sends (4096 UTF-16 units; counted here in chars, which is never
/// fewer). A longer text is not a Telegram message and is refused unread.
pub const MAX_TEXT_CHARS: usize = 4096;

/// How long a `/flatten` waits for its `/confirm` (ms): long enough to read the question, short
/// enough that a stale confirmation code is useless.
pub const CONFIRM_WITHIN_MS: i64 = 120_000;

/// Why an update or a command was not read. Each maps to one HTTP status at the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChatError {
    /// The update is not a JSON object with an integer `update_id`.
    #[error("not a Telegram update: {0}")]
    NotAnUpdate(&'static str),
    /// A valid update that carries no `message` (an edit, a callback, a channel post): Keel acts
    /// on new messages only.
    #[error("update {0} carries no message: only new messages are commands")]
    NoMessage(i64),
    /// The message lacks a field Keel needs, or has it with the wrong type.
    #[error("message field {0} is missing or not of the Telegram type")]
    BadField(&'static str),
    /// The text is longer than any Telegram message.
    #[error("message text over {MAX_TEXT_CHARS} characters")]
    TextTooLong,
    /// The text is not a command (does not start with `/`).
    #[error("not a command: commands start with /, send /help")]
    NotACommand,
    /// A command Keel does not know.
    #[error("unknown command /{0}: send /help")]
    UnknownCommand(String),
    /// A command needing a bot id was sent without one, or with one that is not a bot id.
    #[error("/{command} needs a bot id: /{command} <bot>")]
    NeedsBot {
        /// The command.
        command: &'static str,
    },
    /// A command given arguments it does not take.
    #[error("/{0} takes no argument")]
    UnexpectedArgument(&'static str),
    /// `/confirm` without a numeric code.
    #[error("/confirm needs the code the flatten question gave: /confirm <code>")]
    NeedsCode,
}

/// Who sent a message and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incoming {
    /// Telegram's update id.
    pub update_id: i64,
    /// The chat the message was sent in (the allowlist is of chats).
    pub chat_id: i64,
    /// The sending user, when Telegram names one (absent for anonymous group admins).
    pub user_id: Option<i64>,
    /// The sender's `@username`, when set (informative only: never trusted for access).
    pub username: Option<String>,
    /// The message text (absent for photos, stickers, ...).
    pub text: Option<String>,
}

fn int_field(v: &Value, name: &'static str) -> Result<i64, ChatError> {
    v.get(name)
        .and_then(Value::as_i64)
        .ok_or(ChatError::BadField(name))
}

/// Reads a Telegram `Update` into an [`Incoming`] message.
///
/// # Errors
/// [`ChatError::NotAnUpdate`], [`ChatError::NoMessage`], [`ChatError::BadField`],
/// [`ChatError::TextTooLong`].
pub fn parse_update(update: &Value) -> Result<Incoming, ChatError> {
    let obj = update
        .as_object()
        .ok_or(ChatError::NotAnUpdate("not a JSON object"))?;
    let update_id = obj
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or(ChatError::NotAnUpdate("no integer update_id"))?;
    let message = match obj.get("message") {
        None | Some(Value::Null) => return Err(ChatError::NoMessage(update_id)),
        Some(m) if m.is_object() => m,
        Some(_) => return Err(ChatError::BadField("message")),
    };
    let chat = message
        .get("chat")
        .filter(|c| c.is_object())
        .ok_or(ChatError::BadField("message.chat"))?;
    let chat_id = int_field(chat, "id").map_err(|_| ChatError::BadField("message.chat.id"))?;
    let (user_id, username) = match message.get("from") {
        None | Some(Value::Null) => (None, None),
        Some(from) if from.is_object() => {
            let id = int_field(from, "id").map_err(|_| ChatError::BadField("message.from.id"))?;
            let name = match from.get("username") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.chars().take(64).collect()),
                Some(_) => return Err(ChatError::BadField("message.from.username")),
            };
            (Some(id), name)
        }
        Some(_) => return Err(ChatError::BadField("message.from")),
    };
    let text = match message.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            if s.chars().nth(MAX_TEXT_CHARS).is_some() {
                return Err(ChatError::TextTooLong);
            }
            Some(s.clone())
        }
        Some(_) => return Err(ChatError::BadField("message.text")),
    };
    Ok(Incoming {
        update_id,
        chat_id,
        user_id,
        username,
        text,
    })
}

/// A command an allowlisted chat may send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", content = "bot", rename_all = "snake_case")]
pub enum Command {
    /// Platform halt state and each bot's state, P&L today and open positions.
    Status,
    /// Each bot's P&L (net, realized, unrealized, fees).
    Pnl,
    /// Every open position across bots.
    Positions,
    /// Pause one bot (entries refused, exits pass).
    Pause(BotId),
    /// Resume one bot.
    Resume(BotId),
    /// Ask to flatten one bot: answered with a confirmation code, nothing closes yet.
    Flatten(BotId),
    /// Confirm a pending flatten with its code.
    Confirm(u32),
    /// Halt every bot (the platform kill switch).
    Halt,
    /// The list of commands.
    Help,
}

impl Command {
    /// The command's name, as audited.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Pnl => "pnl",
            Command::Positions => "positions",
            Command::Pause(_) => "pause",
            Command::Resume(_) => "resume",
            Command::Flatten(_) => "flatten",
            Command::Confirm(_) => "confirm",
            Command::Halt => "halt",
            Command::Help => "help",
        }
    }

    /// The bot the command is about, if any.
    pub fn bot(&self) -> Option<&BotId> {
        match self {
            Command::Pause(b) | Command::Resume(b) | Command::Flatten(b) => Some(b),
            _ => None,
        }
    }
}

/// The `/help` answer.
pub const HELP: &str = "Keel commands:\n/status - platform and bots\n/pnl - P&L per bot\n/positions - open positions\n/pause <bot> - stop entries of a bot\n/resume <bot> - resume a bot\n/flatten <bot> - close a bot's positions (asks for /confirm <code>)\n/halt - halt every bot\n/help - this list";

/// Parses a message text into a [`Command`]. The command word may carry the bot's name
/// (`/status@KeelBot`, as Telegram writes it in groups) and is case-insensitive; arguments are
/// separated by any whitespace.
///
/// # Errors
/// [`ChatError::TextTooLong`], [`ChatError::NotACommand`], [`ChatError::UnknownCommand`],
/// [`ChatError::NeedsBot`], [`ChatError::UnexpectedArgument`], [`ChatError::NeedsCode`].
pub fn parse_command(text: &str) -> Result<Command, ChatError> {
    if text.chars().nth(MAX_TEXT_CHARS).is_some() {
        return Err(ChatError::TextTooLong);
    }
    let mut words = text.split_whitespace();
    let head = words.next().ok_or(ChatError::NotACommand)?;
    let word = head.strip_prefix('/').ok_or(ChatError::NotACommand)?;
    let word = word.split_once('@').map_or(word, |(w, _)| w);
    let args: Vec<&str> = words.collect();
    let no_args = |cmd: Command, name: &'static str| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(ChatError::UnexpectedArgument(name))
        }
    };
    let bot = |command: &'static str| match args.as_slice() {
        [id] => BotId::new(*id).map_err(|_| ChatError::NeedsBot { command }),
        _ => Err(ChatError::NeedsBot { command }),
    };
    match word.to_ascii_lowercase().as_str() {
        "status" | "start" => no_args(Command::Status, "status"),
        "pnl" | "profit" => no_args(Command::Pnl, "pnl"),
        "positions" => no_args(Command::Positions, "positions"),
        "halt" | "stopall" => no_args(Command::Halt, "halt"),
        "help" => no_args(Command::Help, "help"),
        "pause" => Ok(Command::Pause(bot("pause")?)),
        "resume" => Ok(Command::Resume(bot("resume")?)),
        "flatten" => Ok(Command::Flatten(bot("flatten")?)),
        "confirm" => match args.as_slice() {
            [code] if code.len() <= 9 && code.bytes().all(|b| b.is_ascii_digit()) => code
                .parse::<u32>()
                .map(Command::Confirm)
                .map_err(|_| ChatError::NeedsCode),
            _ => Err(ChatError::NeedsCode),
        },
        _ => Err(ChatError::UnknownCommand(word.chars().take(32).collect())),
    }
}

/// The operator's chat allowlist: commands are executed only from these chats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist(pub Vec<i64>);

impl Allowlist {
    /// Whether `chat_id` may command Keel. An empty list allows no chat.
    pub fn allows(&self, chat_id: i64) -> bool {
        self.0.contains(&chat_id)
    }
}

/// A flatten asked for and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFlatten {
    /// The chat that asked (only it can confirm).
    pub chat_id: i64,
    /// The bot to flatten.
    pub bot: BotId,
    /// The code `/confirm` must repeat.
    pub code: u32,
    /// When the question stops being answerable (ms).
    pub expires_ms: i64,
}

/// Why a `/confirm` did not flatten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConfirmError {
    /// No flatten is waiting for this chat.
    #[error("no flatten is waiting for confirmation: send /flatten <bot> first")]
    NothingPending,
    /// The code is not the one asked for.
    #[error("wrong confirmation code: nothing was flattened")]
    WrongCode,
    /// The question expired.
    #[error("the confirmation expired: send /flatten <bot> again")]
    Expired,
}

/// Checks a `/confirm <code>` from `chat_id` at `now_ms` against the pending flatten; the bot to
/// flatten when it matches. Any answer consumes the pending question (a wrong code cannot be
/// retried until it is right).
///
/// # Errors
/// [`ConfirmError`].
pub fn confirm(
    pending: Option<&PendingFlatten>,
    chat_id: i64,
    code: u32,
    now_ms: i64,
) -> Result<BotId, ConfirmError> {
    let p = pending
        .filter(|p| p.chat_id == chat_id)
        .ok_or(ConfirmError::NothingPending)?;
    if now_ms > p.expires_ms {
        return Err(ConfirmError::Expired);
    }
    if p.code != code {
        return Err(ConfirmError::WrongCode);
    }
    Ok(p.bot.clone())
}

/// A six-digit confirmation code from 4 random bytes (the Worker draws them).
pub fn confirmation_code(random: [u8; 4]) -> u32 {
    100_000 + u32::from_le_bytes(random) % 900_000
}

/// The operator's chat settings as stored (the bot token and the webhook secret are secrets:
/// never answered by the API, never audited).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettings {
    /// The Telegram bot token (`123456:ABC…`) used to call `sendMessage`.
    #[serde(default)]
    pub bot_token: Option<String>,
    /// The secret Telegram repeats in `X-Telegram-Bot-Api-Secret-Token` (set with `setWebhook`).
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// Chats whose commands are executed.
    #[serde(default)]
    pub allowed_chat_ids: Allowlist,
    /// Base URL of the Bot API (default [`DEFAULT_API_BASE`]; a local fake in tests).
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Telegram's Bot API.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Most chats an allowlist holds.
pub const MAX_ALLOWED_CHATS: usize = 100;

/// Why settings were refused (the field named).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct SettingsError {
    /// The offending field.
    pub field: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl ChatSettings {
    /// Whether the webhook may act: a token and a secret are set.
    pub fn enabled(&self) -> bool {
        self.bot_token.is_some() && self.webhook_secret.is_some()
    }

    /// The Bot API base URL in use.
    pub fn api_base(&self) -> &str {
        self.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE)
    }

    /// Checks every field: a token `<digits>:<[A-Za-z0-9_-]>`, a secret of 16–256 characters
    /// from `A-Z a-z 0-9 _ -` (Telegram's own alphabet for it), at most [`MAX_ALLOWED_CHATS`]
    /// distinct chats, an `http(s)://` base URL without a trailing slash, query or fragment.
    ///
    /// # Errors
    /// [`SettingsError`] naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let err = |field, reason| Err(SettingsError { field, reason });
        if let Some(t) = &self.bot_token {
            let ok = t.len() <= 128
                && t.split_once(':').is_some_and(|(id, key)| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_digit())
                        && !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                });
            if !ok {
                return err("bot_token", "not a Telegram bot token (<digits>:<key>)");
            }
        }
        if let Some(s) = &self.webhook_secret {
            let ok = (16..=256).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return err(
                    "webhook_secret",
                    "16 to 256 characters from A-Z a-z 0-9 _ -",
                );
            }
        }
        let ids = &self.allowed_chat_ids.0;
        if ids.len() > MAX_ALLOWED_CHATS {
            return err("allowed_chat_ids", "at most 100 chats");
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != ids.len() {
            return err("allowed_chat_ids", "a chat is listed twice");
        }
        if let Some(u) = &self.api_base_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"));
            let ok = u.len() <= 200
                && rest.is_some_and(|r| {
                    !r.is_empty()
                        && !r.ends_with('/')
                        && r.bytes()
                            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
                });
            if !ok {
                return err(
                    "api_base_url",
                    "an http(s):// URL without a trailing slash, query or fragment",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(text: Value) -> Value {
        json!({"update_id": 7, "message": {"message_id": 1, "date": 0,
            "chat": {"id": -100123, "type": "group"}, "from": {"id": 42, "is_bot": false, "username": "op"},
            "text": text}})
    }

    #[test]
    fn an_update_reads_chat_user_and_text() {
        let m = parse_update(&update(json!("/status"))).unwrap();
        assert_eq!(
            m,
            Incoming {
                update_id: 7,
                chat_id: -100123,
                user_id: Some(42),
                username: Some("op".into()),
                text: Some("/status".into())
            }
        );
    }

    #[test]
    fn malformed_updates_are_precise_errors() {
        assert_eq!(
            parse_update(&json!([])),
            Err(ChatError::NotAnUpdate("not a JSON object"))
        );
        assert_eq!(
            parse_update(&json!({"update_id": "7"})),
            Err(ChatError::NotAnUpdate("no integer update_id"))
        );
        assert_eq!(
            parse_update(&json!({"update_id": 7, "edited_message": {}})),
            Err(ChatError::NoMessage(7))
        );
        assert_eq!(
            parse_update(&json!({"update_id": 7, "message": {"text": "/halt"}})),
            Err(ChatError::BadField("message.chat"))
        );
        assert_eq!(
            parse_update(&json!({"update_id": 7, "message": {"chat": {"id": 1.5}}})),
            Err(ChatError::BadField("message.chat.id"))
        );
        assert_eq!(
            parse_update(&update(json!(12))),
            Err(ChatError::BadField("message.text"))
        );
        assert_eq!(
            parse_update(&update(json!("x".repeat(MAX_TEXT_CHARS + 1)))),
            Err(ChatError::TextTooLong)
        );
        // A photo: no text, still a message (answered with help by the Worker).
        let m = parse_update(&json!({"update_id": 8, "message": {"chat": {"id": 5}}})).unwrap();
        assert_eq!((m.chat_id, m.user_id, m.text), (5, None, None));
    }

    #[test]
    fn the_command_grammar() {
        let bot = |s: &str| BotId::new(s).unwrap();
        assert_eq!(parse_command("/status"), Ok(Command::Status));
        assert_eq!(parse_command("  /STATUS@KeelBot  "), Ok(Command::Status));
        assert_eq!(parse_command("/pnl"), Ok(Command::Pnl));
        assert_eq!(parse_command("/positions"), Ok(Command::Positions));
        assert_eq!(parse_command("/halt"), Ok(Command::Halt));
        assert_eq!(parse_command("/help"), Ok(Command::Help));
        assert_eq!(
            parse_command("/pause\tbtc-1"),
            Ok(Command::Pause(bot("btc-1")))
        );
        assert_eq!(
            parse_command("/resume btc"),
            Ok(Command::Resume(bot("btc")))
        );
        assert_eq!(
            parse_command("/flatten@Keel btc"),
            Ok(Command::Flatten(bot("btc")))
        );
        assert_eq!(
            parse_command("/confirm 123456"),
            Ok(Command::Confirm(123_456))
        );
        assert_eq!(parse_command("hello"), Err(ChatError::NotACommand));
        assert_eq!(parse_command(""), Err(ChatError::NotACommand));
        assert_eq!(
            parse_command("/pause"),
            Err(ChatError::NeedsBot { command: "pause" })
        );
        assert_eq!(
            parse_command("/pause a b"),
            Err(ChatError::NeedsBot { command: "pause" })
        );
        assert_eq!(
            parse_command("/flatten ../x"),
            Err(ChatError::NeedsBot { command: "flatten" })
        );
        assert_eq!(
            parse_command("/halt now"),
            Err(ChatError::UnexpectedArgument("halt"))
        );
        assert_eq!(parse_command("/confirm 12x"), Err(ChatError::NeedsCode));
        assert_eq!(
            parse_command("/confirm 99999999999"),
            Err(ChatError::NeedsCode)
        );
        assert_eq!(
            parse_command("/sell everything"),
            Err(ChatError::UnknownCommand("sell".into()))
        );
        // Non-ASCII command words are unknown, never matched by a lossy fold.
        assert_eq!(
            parse_command("/hålt"),
            Err(ChatError::UnknownCommand("hålt".into()))
        );
    }

    #[test]
    fn only_allowlisted_chats_and_confirmations_that_match() {
        let allow = Allowlist(vec![-100123, 42]);
        assert!(allow.allows(42) && allow.allows(-100123));
        assert!(!allow.allows(43));
        assert!(!Allowlist::default().allows(0));
        let p = PendingFlatten {
            chat_id: 42,
            bot: BotId::new("btc").unwrap(),
            code: 123_456,
            expires_ms: 1_000,
        };
        assert_eq!(confirm(Some(&p), 42, 123_456, 1_000), Ok(p.bot.clone()));
        assert_eq!(
            confirm(Some(&p), 42, 123_457, 999),
            Err(ConfirmError::WrongCode)
        );
        assert_eq!(
            confirm(Some(&p), 42, 123_456, 1_001),
            Err(ConfirmError::Expired)
        );
        assert_eq!(
            confirm(Some(&p), 43, 123_456, 0),
            Err(ConfirmError::NothingPending)
        );
        assert_eq!(confirm(None, 42, 1, 0), Err(ConfirmError::NothingPending));
        for r in [[0u8; 4], [255; 4], [1, 2, 3, 4]] {
            let c = confirmation_code(r);
            assert!((100_000..1_000_000).contains(&c), "{c}");
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let good = ChatSettings {
            bot_token: Some("123456:AAH-abc_DEF".into()),
            webhook_secret: Some("s3cret-webhook_value".into()),
            allowed_chat_ids: Allowlist(vec![42, -100123]),
            api_base_url: Some("http://127.0.0.1:8081".into()),
        };
        assert_eq!(good.validate(), Ok(()));
        assert!(good.enabled());
        assert_eq!(good.api_base(), "http://127.0.0.1:8081");
        assert_eq!(ChatSettings::default().api_base(), DEFAULT_API_BASE);
        assert!(!ChatSettings::default().enabled());
        let field = |s: ChatSettings| s.validate().unwrap_err().field;
        for t in ["abc", ":key", "12:", "12:k y", "12:ключ"] {
            let s = ChatSettings {
                bot_token: Some(t.into()),
                ..good.clone()
            };
            assert_eq!(field(s), "bot_token", "{t}");
        }
        for w in ["short", "has space in the secret", &"x".repeat(257)] {
            let s = ChatSettings {
                webhook_secret: Some(w.to_string()),
                ..good.clone()
            };
            assert_eq!(field(s), "webhook_secret", "{w}");
        }
        let s = ChatSettings {
            allowed_chat_ids: Allowlist(vec![1, 1]),
            ..good.clone()
        };
        assert_eq!(field(s), "allowed_chat_ids");
        for u in [
            "ftp://x",
            "https://",
            "https://x/",
            "https://x?a",
            "javascript:alert(1)",
        ] {
            let s = ChatSettings {
                api_base_url: Some(u.into()),
                ..good.clone()
            };
            assert_eq!(field(s), "api_base_url", "{u}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::prop_seed;
    use proptest::prelude::*;
    use serde_json::json;

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            Just("/".to_string()),
            Just("@".to_string()),
            Just(" ".to_string()),
            Just("\u{a0}".to_string()),
            Just("/pause".to_string()),
            Just("/flatten".to_string()),
            Just("/confirm".to_string()),
            Just("/halt".to_string()),
            Just("btc-1".to_string()),
            Just("123456".to_string()),
            Just("🛑".to_string()),
            Just("İ".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(prop_seed::config(512))]

        /// Any text parses to a command or a typed error, the same way twice, and a command
        /// names a valid bot id when it names one.
        #[test]
        fn any_text_parses_deterministically(parts in proptest::collection::vec(fragment(), 0..16)) {
            let text = parts.concat();
            let a = parse_command(&text);
            prop_assert_eq!(&a, &parse_command(&text));
            if let Ok(cmd) = &a {
                if let Some(bot) = cmd.bot() {
                    prop_assert!(BotId::new(bot.as_str()).is_ok());
                }
            }
        }

        /// Any JSON shape around a message reads or fails with a typed error.
        #[test]
        fn any_update_shape_is_read_or_refused(text in any::<String>(), chat in any::<i64>(), kind in 0u8..6) {
            let message = match kind {
                0 => json!({"chat": {"id": chat}, "text": text}),
                1 => json!({"chat": {"id": text}, "text": chat}),
                2 => json!({"chat": chat, "from": text}),
                3 => json!({"chat": {"id": chat}, "from": {"id": chat, "username": text}}),
                4 => json!(text),
                _ => json!(null),
            };
            let update = json!({"update_id": chat, "message": message});
            match parse_update(&update) {
                Ok(m) => {
                    prop_assert_eq!(m.chat_id, chat);
                    if let Some(t) = m.text { let _ = parse_command(&t); }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
