//! Tokens of one line of a pasted message, cut by a `winnow` lexer (a maintained parser-combinator
//! library) so no code here indexes into user text: every token is built from whole `char`s, and
//! any Unicode input lexes (unknown characters become [`Tok::Sym`]).
//!
//! Numbers follow one written rule, because channels write both `65,000` and `0,45`:
//! - digits with one `.` are a decimal (`0.45`);
//! - commas between groups of exactly three digits, the first group `1`–`999`, are thousands
//!   separators (`65,000`, `1,250.5`);
//! - any other single comma is a decimal comma (`0,45`, `1,5`);
//! - commas between decimals with dots separate a list (`0.45,0.47`);
//! - anything else (`1.2.3`, `08.12.2026`) is [`TokKind::BadNum`]: flagged, never read.

use rust_decimal::Decimal;
use std::str::FromStr;
use winnow::combinator::{alt, repeat};
use winnow::error::ContextError;
use winnow::prelude::*;
use winnow::token::{any, take_while};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// A number read by the module's rule.
    Num(Decimal),
    /// Digits and separators that follow no rule (kept as written).
    BadNum(String),
    /// A run of letters (any script), lower case; `upper` when every cased letter was upper case.
    Word {
        /// Lower-case text.
        text: String,
        /// Whether the word was written in capitals (`BTC`, not `btc`).
        upper: bool,
    },
    /// Any other character: punctuation, emoji, currency signs.
    Sym(char),
}

/// A token and whether it touches the previous one (no space between: `10x`, `tp1`, `24h`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    /// The token.
    pub(crate) kind: TokKind,
    /// Whether it directly follows the previous token inside one run of letters and digits.
    pub(crate) glued: bool,
}

/// One lexed piece: a run of letters/digits/separators, whitespace, or one other character.
enum Piece<'a> {
    Run(&'a str),
    Space,
    Other(char),
}

fn piece<'a>(input: &mut &'a str) -> winnow::Result<Piece<'a>, ContextError> {
    alt((
        take_while(1.., |c: char| c.is_alphanumeric() || c == '.' || c == ',').map(Piece::Run),
        take_while(1.., char::is_whitespace).map(|_| Piece::Space),
        any.map(Piece::Other),
    ))
    .parse_next(input)
}

/// Lexes one line. Never fails: every character is consumed by one of the three pieces.
pub(crate) fn lex_line(line: &str) -> Vec<Tok> {
    let mut input = line;
    let pieces: Vec<Piece<'_>> = repeat(0.., piece)
        .parse_next(&mut input)
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Space => {}
            // Variation selectors and joiners only style the emoji before them.
            Piece::Other('\u{FE0F}' | '\u{FE0E}' | '\u{200D}') => {}
            Piece::Other(c) => out.push(Tok {
                kind: TokKind::Sym(c),
                glued: false,
            }),
            Piece::Run(run) => lex_run(run, &mut out),
        }
    }
    out
}

/// Splits a run into letter groups and number groups (`tp1` → `tp`, `1`; `10x` → `10`, `x`);
/// separators at the run's end are punctuation (`0.45.` → `0.45`, `.`).
fn lex_run(run: &str, out: &mut Vec<Tok>) {
    let core = run.trim_end_matches(['.', ',']);
    let tail: Vec<char> = run.chars().skip(core.chars().count()).collect();
    let mut groups: Vec<(bool, String)> = Vec::new();
    for c in core.chars() {
        let numeric = c.is_ascii_digit() || c == '.' || c == ',';
        match groups.last_mut() {
            Some((kind, text)) if *kind == numeric => text.push(c),
            _ => groups.push((numeric, c.to_string())),
        }
    }
    let mut first = true;
    for (numeric, text) in groups {
        let mut glued = !first;
        first = false;
        if numeric {
            if !text.chars().any(|c| c.is_ascii_digit()) {
                // Separators between letters (`btcusdt.p`): punctuation.
                for c in text.chars() {
                    out.push(Tok {
                        kind: TokKind::Sym(c),
                        glued,
                    });
                    glued = true;
                }
                continue;
            }
            match numbers(&text) {
                Some(values) => {
                    for (k, v) in values.into_iter().enumerate() {
                        if k > 0 {
                            out.push(Tok {
                                kind: TokKind::Sym(','),
                                glued: true,
                            });
                        }
                        out.push(Tok {
                            kind: TokKind::Num(v),
                            glued: glued || k > 0,
                        });
                    }
                }
                None => out.push(Tok {
                    kind: TokKind::BadNum(text),
                    glued,
                }),
            }
        } else {
            let upper =
                text.chars().any(char::is_uppercase) && !text.chars().any(char::is_lowercase);
            out.push(Tok {
                kind: TokKind::Word {
                    text: text.to_lowercase(),
                    upper,
                },
                glued,
            });
        }
    }
    for c in tail {
        out.push(Tok {
            kind: TokKind::Sym(c),
            glued: true,
        });
    }
}

/// Reads a group of digits, dots and commas by the module's rule; `None` when it follows none.
fn numbers(text: &str) -> Option<Vec<Decimal>> {
    if text.starts_with(['.', ',']) {
        return None;
    }
    let dots = text.chars().filter(|&c| c == '.').count();
    let commas = text.chars().filter(|&c| c == ',').count();
    if commas == 0 {
        return (dots <= 1)
            .then(|| decimal(text))
            .flatten()
            .map(|d| vec![d]);
    }
    let (int_part, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if dots <= 1 && thousands(int_part) {
        let plain: String = int_part.chars().filter(|&c| c != ',').collect();
        let joined = match frac {
            Some(f) => format!("{plain}.{f}"),
            None => plain,
        };
        return decimal(&joined).map(|d| vec![d]);
    }
    if dots == 0 && commas == 1 {
        return decimal(&text.replace(',', ".")).map(|d| vec![d]);
    }
    if dots >= 1 {
        let parts: Vec<&str> = text.split(',').collect();
        if parts
            .iter()
            .all(|p| p.chars().filter(|&c| c == '.').count() == 1)
        {
            return parts.iter().map(|p| decimal(p)).collect();
        }
    }
    None
}

/// `1,234` / `65,000,000`: groups of three after a first group of one to three digits (not 0).
fn thousands(int_part: &str) -> bool {
    let mut groups = int_part.split(',');
    let Some(first) = groups.next() else {
        return false;
    };
    let first_ok = (1..=3).contains(&first.chars().count())
        && first.chars().all(|c| c.is_ascii_digit())
        && !first.starts_with('0');
    let mut rest = 0usize;
    for g in groups {
        if g.chars().count() != 3 || !g.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        rest += 1;
    }
    first_ok && rest > 0
}

fn decimal(s: &str) -> Option<Decimal> {
    if s.is_empty() || s.ends_with('.') || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Decimal::from_str(s).ok().map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn kinds(s: &str) -> Vec<TokKind> {
        lex_line(s).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_follow_the_written_rule() {
        assert_eq!(numbers("0.45"), Some(vec![dec!(0.45)]));
        assert_eq!(numbers("65,000"), Some(vec![dec!(65000)]));
        assert_eq!(numbers("1,250.5"), Some(vec![dec!(1250.5)]));
        assert_eq!(numbers("0,45"), Some(vec![dec!(0.45)]));
        assert_eq!(numbers("1,5"), Some(vec![dec!(1.5)]));
        assert_eq!(numbers("0.45,0.47"), Some(vec![dec!(0.45), dec!(0.47)]));
        assert_eq!(numbers("1.2.3"), None);
        assert_eq!(numbers("08.12.2026"), None);
        assert_eq!(numbers("1,2,3"), None);
        assert_eq!(numbers("99999999999999999999999999999999999"), None);
    }

    #[test]
    fn runs_split_into_words_numbers_and_punctuation() {
        let w = |s: &str| TokKind::Word {
            text: s.to_string(),
            upper: false,
        };
        assert_eq!(
            kinds("tp1: 0.50."),
            vec![
                w("tp"),
                TokKind::Num(dec!(1)),
                TokKind::Sym(':'),
                TokKind::Num(dec!(0.5)),
                TokKind::Sym('.')
            ]
        );
        let t = lex_line("10x 🎯");
        assert_eq!(t[0].kind, TokKind::Num(dec!(10)));
        assert_eq!(t[1].kind, w("x"));
        assert!(t[1].glued);
        assert_eq!(t[2].kind, TokKind::Sym('🎯'));
        assert_eq!(
            kinds("BTC/USDT"),
            vec![
                TokKind::Word {
                    text: "btc".into(),
                    upper: true
                },
                TokKind::Sym('/'),
                TokKind::Word {
                    text: "usdt".into(),
                    upper: true
                }
            ]
        );
    }
}
