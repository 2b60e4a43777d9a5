//! Kline CSV in the layout of Binance's public data dumps (data.binance.vision):
//! `open_time, open, high, low, close, volume, close_time, quote_volume, count,
//! taker_buy_volume, taker_buy_quote_volume, ignore`. Spot dumps have no header line, futures
//! dumps since 2022 have one; spot dumps from 2025 on carry open times in **microseconds**.
//! Parsed exactly (decimals from text, never through `f64`).

use super::Candle;

/// Why a CSV line was refused; names the line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("csv line {line}: {field}: {reason}")]
pub struct CsvError {
    /// 1-based line number.
    pub line: usize,
    /// Column name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Open times above this are microseconds (1e14 ms is the year 5138).
const MICROS_ABOVE: i64 = 100_000_000_000_000;

const NAMES: [&str; 6] = ["open_time", "open", "high", "low", "close", "volume"];

/// Parses a whole file with the `csv` crate (quoted cells and CRLF included). Blank lines are
/// skipped; a first record starting with a letter is a header. Candles come back in file order
/// (the store sorts and de-duplicates on merge).
///
/// # Errors
/// [`CsvError`] for the first bad line (a dump is either right or re-downloaded).
pub fn parse(bytes: &[u8]) -> Result<Vec<Candle>, CsvError> {
    let mut out = Vec::with_capacity(bytes.len() / 100);
    for_each_row(bytes, |line, record| {
        let mut cell = [""; 6];
        for (k, name) in NAMES.iter().enumerate() {
            let raw = record.get(k).filter(|c| !c.is_empty()).ok_or(CsvError {
                line,
                field: name,
                reason: "is missing".into(),
            })?;
            cell[k] = std::str::from_utf8(raw).map_err(|_| CsvError {
                line,
                field: "line",
                reason: "not UTF-8".into(),
            })?;
        }
        let time = cell[0].parse::<i64>().map_err(|e| CsvError {
            line,
            field: "open_time",
            reason: format!("{:?}: {e}", cell[0]),
        })?;
        let time = open_time_ms(time);
        let candle =
            Candle::parse(time, [cell[1], cell[2], cell[3], cell[4], cell[5]]).map_err(|e| {
                CsvError {
                    line,
                    field: match &e {
                        super::CandleError::Number { field, .. } => field,
                        super::CandleError::Inconsistent { .. } => "candle",
                    },
                    reason: e.to_string(),
                }
            })?;
        out.push(candle);
        Ok(())
    })?;
    Ok(out)
}

/// Walks the data records of a kline dump with the `csv` crate (quoted cells and CRLF included,
/// cells trimmed): blank lines are skipped and a first record starting with a letter is a header.
/// `each` gets the 1-based line number and the record. One walker for the exact importer
/// ([`parse`]) and the backtester's `f64` loader ([`crate::market::load_csv`]), so both read the
/// same lines of the same file.
///
/// # Errors
/// The first error of `each`, or [`CsvError`] (converted) for a record the reader refuses.
pub(crate) fn for_each_row<E: From<CsvError>>(
    bytes: &[u8],
    mut each: impl FnMut(usize, &::csv::ByteRecord) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let mut record = ::csv::ByteRecord::new();
    let mut first = true;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                return Err(CsvError {
                    line: e.position().map_or(0, |p| p.line() as usize),
                    field: "line",
                    reason: e.to_string(),
                }
                .into())
            }
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        let is_first = std::mem::replace(&mut first, false);
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let header = record
            .get(0)
            .and_then(|c| c.first())
            .is_some_and(u8::is_ascii_alphabetic);
        if is_first && header {
            continue;
        }
        each(line, &record)?;
    }
}

/// An open time as dumps write it, in ms: Binance spot dumps since 2025 write microseconds.
pub(crate) fn open_time_ms(time: i64) -> i64 {
    if time > MICROS_ABOVE {
        time / 1000
    } else {
        time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn spot_futures_and_micro_layouts() {
        // Spot (no header, ms), futures (header), spot 2025 (µs).
        let spot = b"1704067200000,42283.58000000,42298.62000000,42283.57000000,42298.61000000,35.92724000,1704067259999,1519603.70347470,1327,23.24932000,983376.56090460,0\n";
        let futures = b"open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n1704067200000,42314.00,42325.90,42314.00,42325.80,158.186,1704067259999,6694560.47640,1684,121.358,5136100.65140,0\n";
        let micro = b"1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,1735689659999999,768978.14,2104,5.21,487721.57,0\r\n\r\n";
        let a = parse(spot).unwrap();
        assert_eq!(a[0].open_time_ms, 1_704_067_200_000);
        assert_eq!(a[0].close, dec!(42298.61));
        assert_eq!(a[0].volume, dec!(35.92724));
        let b = parse(futures).unwrap();
        assert_eq!((b.len(), b[0].high), (1, dec!(42325.9)));
        let c = parse(micro).unwrap();
        assert_eq!((c.len(), c[0].open_time_ms), (1, 1_735_689_600_000));
    }

    #[test]
    fn bad_lines_name_line_and_field() {
        struct Case {
            csv: &'static [u8],
            line: usize,
            field: &'static str,
        }
        let cases = [
            Case {
                csv: b"1,2,3,1,2\n",
                line: 1,
                field: "volume",
            },
            Case {
                csv: b"0,1,2,1,1,1\nx,1,2,1,1,1\n",
                line: 2,
                field: "open_time",
            },
            Case {
                csv: b"0,1,2,1,1e,1\n",
                line: 1,
                field: "close",
            },
            Case {
                csv: b"0,5,2,1,1,1\n",
                line: 1,
                field: "candle",
            },
        ];
        for c in cases {
            let e = parse(c.csv).unwrap_err();
            assert_eq!((e.line, e.field), (c.line, c.field), "{e}");
        }
    }
}
