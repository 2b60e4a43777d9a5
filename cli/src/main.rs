//! `keel`: the command-line client of the Keel admin API, so a newcomer can create a bot, store
//! its exchange credentials and drive it without hand-written curl. Configuration comes from
//! `KEEL_URL`/`KEEL_TOKEN` (or `--url`/`--token`); API errors print as `code: message (field)`
//! and exit non-zero.

mod args;
mod http;
mod local;
mod output;
mod plan;
mod portfolio;

use args::{Command, Invocation, USAGE};
use serde_json::Value;
use std::io::Read;
use std::process::ExitCode;

/// Exit status of a refused command line.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().is_some_and(|w| local::is_local(w)) {
        return local::main(&argv);
    }
    let inv = match args::parse(&argv) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("keel: {e}\n\n{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if inv.command == Command::Help {
        print!("{USAGE}\n{}", local::USAGE);
        return ExitCode::SUCCESS;
    }
    match run(&inv) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("keel: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Api(line)) => {
            eprintln!("{line}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command did not succeed: bad local input (exit 2) or a failed call (exit 1).
#[derive(Debug)]
enum Failure {
    Usage(String),
    Api(String),
}

fn setting(flag: &Option<String>, env: &str) -> Option<String> {
    flag.clone()
        .or_else(|| std::env::var(env).ok())
        .filter(|s| !s.trim().is_empty())
}

fn read_json_file(path: &str) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{path} is not JSON: {e}")))
}

fn read_text_file(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))
}

/// The JSON a command sends that does not come from its arguments: a file or stdin.
fn input(command: &Command) -> Result<Option<Value>, Failure> {
    match command {
        Command::BotsCreate { file } | Command::BotsPatch { file, .. } => {
            read_json_file(file).map(Some)
        }
        Command::CallsAdd { source, id, file } => {
            let text = read_text_file(file)?;
            Ok(Some(
                serde_json::json!({"source": source, "call_id": id, "text": text}),
            ))
        }
        Command::CallsEdit { file, .. } => {
            let text = read_text_file(file)?;
            Ok(Some(serde_json::json!({ "text": text })))
        }
        Command::CallsScore { file, .. } | Command::ChatSet { file } => {
            read_json_file(file).map(Some)
        }
        Command::SetCredentials { api_key, .. } => {
            let mut stdin = String::new();
            std::io::stdin().read_to_string(&mut stdin).map_err(|e| {
                Failure::Usage(format!("cannot read the API secret from stdin: {e}"))
            })?;
            plan::credentials(api_key, &stdin)
                .map(Some)
                .ok_or_else(|| Failure::Usage("empty API secret on stdin".into()))
        }
        Command::Portfolio(p) => p.file().map(read_json_file).transpose(),
        _ => Ok(None),
    }
}

fn run(inv: &Invocation) -> Result<String, Failure> {
    let url = setting(&inv.url, "KEEL_URL")
        .ok_or_else(|| Failure::Usage("no API URL: set KEEL_URL or pass --url".into()))?;
    let token = setting(&inv.token, "KEEL_TOKEN")
        .ok_or_else(|| Failure::Usage("no token: set KEEL_TOKEN or pass --token".into()))?;
    let body = input(&inv.command)?;
    let client = http::Client::new(&url, &token);
    let mut answers = Vec::new();
    for call in plan::plan(&inv.command, body) {
        let answer = client
            .send(&call)
            .map_err(|e| Failure::Api(format!("connection: {e}")))?;
        // /health answers 503 with its JSON body when degraded: still worth showing.
        let degraded_health = call.path == "/health" && answer.status == 503;
        if !(200..300).contains(&answer.status) && !degraded_health {
            return Err(Failure::Api(output::error_line(
                answer.status,
                &answer.body,
            )));
        }
        let value = if answer.body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&answer.body)
                .map_err(|e| Failure::Api(format!("bad_answer: {} is not JSON: {e}", call.path)))?
        };
        answers.push(value);
    }
    if inv.json {
        return Ok(answers
            .iter()
            .map(|v| output::pretty(v) + "\n")
            .collect::<String>());
    }
    let first = answers.first().cloned().unwrap_or(Value::Null);
    Ok(match &inv.command {
        Command::Status => output::status(&first, answers.get(1).unwrap_or(&Value::Null)),
        Command::Portfolio(p) => p.output(&first),
        Command::BotsList => output::bots_table(&first),
        Command::BotsCreate { .. } => output::created(&url, &first),
        Command::SetCredentials { id, .. } => format!("credentials stored for {id}\n"),
        Command::Pnl { .. } => output::pnl(&first),
        Command::Analytics { .. } => output::analytics(&first),
        Command::CompareBots { .. } => output::comparison(&first),
        Command::Shadow { parent, id, .. } => output::shadow_created(parent, id, &first),
        Command::Promote { parent, shadow, .. } => output::promoted(parent, shadow, &first),
        Command::Capital { id, .. } => output::capital(id, &first),
        Command::BotsPatch { id, .. } => output::patched(id, &first),
        Command::Halt { .. } | Command::ResumeAll => output::halt(&first),
        Command::Audit { .. } => output::audit(&first),
        Command::TokensList => output::tokens_table(&first),
        Command::TokensCreate { .. } => output::token_created(&first),
        Command::TokensRevoke { id } => format!("revoked {id}: it stops working at once\n"),
        _ => output::pretty(&first) + "\n",
    })
}
