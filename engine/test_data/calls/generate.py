#!/usr/bin/env python3
"""Builds engine/test_data/calls/corpus.txt: labelled signal-channel call messages.

The messages copy the layouts signal channels really post (Telegram VIP channels, Binance/Bybit
futures signal groups, Russian, Spanish, Portuguese and Chinese channels): emoji headers, hashtags,
"Buy zone 0.45-0.47", "TP1/TP2/TP3", "SL", "Leverage cross 10x", numbered target lists, keycap
digits, thousands separators, decimal commas, chatter lines and fields in different orders.

The label of each message is written from the values the template put in, never from the parser
(`engine/src/calls/grammar.rs`), so the corpus test measures the parser against the truth. Some
templates state a field in a way that must NOT be read (a stop "below support", "SL 5%", a
leverage range, a bare "$BTC", three entry levels): their labels leave that field out, so a parser
that guesses it fails the test's zero-guess check.

Run: python3 engine/test_data/calls/generate.py  (seeded: the output is the same every run;
the corpus file is committed and the Rust test reads it, not this script).
"""

import json
import random
from decimal import Decimal

SEED = 20261207
rng = random.Random(SEED)

# (base, quote, typical price, decimals)
COINS = [
    ("BTC", "USDT", 65000, 1), ("ETH", "USDT", 3400, 2), ("SOL", "USDT", 150, 3),
    ("XRP", "USDT", 0.52, 4), ("DOGE", "USDT", 0.15, 5), ("1000PEPE", "USDT", 0.0123, 6),
    ("ARB", "USDT", 1.12, 4), ("LINK", "USDT", 14.5, 3), ("AVAX", "USDT", 35.2, 3),
    ("OP", "USDT", 2.45, 4), ("BNB", "USDT", 580, 2), ("ADA", "USDT", 0.45, 4),
    ("INJ", "USDT", 24.8, 3), ("SUI", "USDT", 1.05, 4), ("WIF", "USDT", 2.3, 4),
    ("ETH", "BTC", 0.0521, 5), ("TIA", "USDC", 8.4, 4), ("NEAR", "USDT", 5.6, 4),
]


def q(x, d):
    return Decimal(x).quantize(Decimal(1).scaleb(-d)) if d > 0 else Decimal(int(round(x)))


def norm(d):
    s = format(d.normalize(), "f")
    return s


def thousands(d):
    s = format(d, "f")
    if "." in s:
        i, f = s.split(".")
        return f"{int(i):,}.{f}"
    return f"{int(s):,}"


def dcomma(d):
    return format(d, "f").replace(".", ",")


def make_call(rng):
    base, quote, px, dec = rng.choice(COINS)
    px = px * rng.uniform(0.9, 1.1)
    side = rng.choice(["long", "short"])
    sgn = 1 if side == "long" else -1
    step = px * rng.uniform(0.01, 0.03)
    entry_kind = rng.choices(["price", "zone", "market"], [5, 4, 1])[0]
    e = q(px, dec)
    if entry_kind == "zone":
        e2 = q(px - step * 0.5, dec) if side == "long" else q(px + step * 0.5, dec)
        if e2 == e:
            entry_kind = "price"
        entry = ("zone", min(e, e2), max(e, e2)) if entry_kind == "zone" else ("price", e)
    elif entry_kind == "market":
        entry = ("market",)
    else:
        entry = ("price", e)
    stop = q(px - sgn * step * rng.uniform(1.5, 3), dec)
    n = rng.choice([1, 2, 3, 3, 4, 5])
    targets = [q(px + sgn * step * (k + 1) * rng.uniform(0.9, 1.1), dec) for k in range(n)]
    lev = rng.choice([None, 3, 5, 10, 10, 20, 25, 50])
    mode = rng.choice([None, None, "cross", "isolated"]) if lev else None
    valid = rng.choice([None, None, ("h", 24), ("h", 48), ("d", 2), ("h", 12)])
    return dict(base=base, quote=quote, dec=dec, side=side, entry=entry, stop=stop,
                targets=targets, lev=lev, mode=mode, valid=valid)


def label(c, drop=()):
    out = {"pair": c["base"] + c["quote"], "side": c["side"]}
    en = c["entry"]
    out["entry"] = ("market" if en[0] == "market" else {"price": norm(en[1])} if en[0] == "price"
                    else {"zone": [norm(en[1]), norm(en[2])]})
    out["stop"] = norm(c["stop"])
    out["targets"] = [norm(t) for t in c["targets"]]
    if c["lev"]:
        out["leverage"] = {"x": str(c["lev"])}
        if c["mode"]:
            out["leverage"]["mode"] = c["mode"]
    if c["valid"]:
        unit, n = c["valid"]
        out["validity_ms"] = n * (3_600_000 if unit == "h" else 86_400_000)
    for k in drop:
        out.pop(k, None)
    return out


def entry_text(c, f=norm, zone_sep="-", market="CMP"):
    en = c["entry"]
    if en[0] == "market":
        return market
    if en[0] == "price":
        return f(en[1])
    lo, hi = en[1], en[2]
    return f"{f(lo)}{zone_sep}{f(hi)}" if c["side"] == "long" else f"{f(hi)}{zone_sep}{f(lo)}"


def valid_text(c, lang="en"):
    unit, n = c["valid"]
    words = {"en": {"h": "hours", "d": "days"}, "ru": {"h": "часов", "d": "дня"},
             "es": {"h": "horas", "d": "días"}}
    if lang == "short":
        return f"{n}{unit}"
    return f"{n} {words[lang][unit]}"


CHATTER = ["🔥🔥 VIP SIGNAL 🔥🔥", "⚡️ Premium call", "Don't forget risk management!",
           "Binance Futures", "Bybit USDT Perpetual", "📊 Technical analysis says breakout",
           "Good luck everyone 🍀", "👑 Crypto Kings VIP 👑", "Use only 2-3% of your portfolio",
           "Follow for more", "✅ High accuracy setup", "#signal #crypto"]

LEVWORD = {None: "", "cross": "Cross ", "isolated": "Isolated "}


def lev_line(c, style):
    if not c["lev"]:
        return None
    m = c["mode"]
    if style == 0:
        return f"Leverage: {LEVWORD[m]}{c['lev']}x".replace(": ", ": ") if m else f"Leverage: {c['lev']}x"
    if style == 1:
        return f"Leverage {m} {c['lev']}x" if m else f"Leverage {c['lev']}x"
    if style == 2:
        return f"{LEVWORD[m]}{c['lev']}x".strip()
    return f"Lev: x{c['lev']}" + (f" ({m})" if m else "")


def side_word(c, style="en"):
    return {"en": {"long": "LONG", "short": "SHORT"}, "emoji": {"long": "🟢 LONG", "short": "🔴 SHORT"},
            "buysell": {"long": "BUY", "short": "SELL"}, "ru": {"long": "ЛОНГ", "short": "ШОРТ"},
            "es": {"long": "LARGO", "short": "CORTO"}, "zh": {"long": "做多", "short": "做空"},
            "pt": {"long": "COMPRA", "short": "VENDA"}}[style][c["side"]]


def t_basic(c):
    lines = [rng.choice(CHATTER), f"#{c['base']}/{c['quote']} {side_word(c)}"]
    lines.append(f"Entry: {entry_text(c)}")
    for k, t in enumerate(c["targets"]):
        lines.append(f"TP{k+1}: {norm(t)}")
    lines.append(f"SL: {norm(c['stop'])}")
    if (l := lev_line(c, 0)):
        lines.append(l)
    if c["valid"]:
        lines.append(f"Valid for {valid_text(c)}")
    return "\n".join(lines), label(c)


def t_emoji(c):
    lines = [f"📍 Coin: #{c['base']}{c['quote']}", f"{side_word(c, 'emoji')}"]
    if c["entry"][0] == "zone":
        word = "Buy zone" if c["side"] == "long" else "Sell zone"
        lines.append(f"📥 {word}: {entry_text(c)}")
    else:
        lines.append(f"📥 Entry: {entry_text(c)}")
    lines.append("🎯 Targets: " + " - ".join(norm(t) for t in c["targets"]))
    lines.append(f"🛑 Stop loss: {norm(c['stop'])}")
    if (l := lev_line(c, 1)):
        lines.append(f"⚙️ {l}")
    if c["valid"]:
        lines.append(f"⏳ Validity: {valid_text(c, 'short')}")
    return "\n".join(lines), label(c)


def t_numbered(c):
    lines = [f"{c['base']}/{c['quote']}", f"Direction: {side_word(c).title()}"]
    if (l := lev_line(c, 2)):
        lines.append(l)
    lines.append(f"Entry Zone: {entry_text(c, zone_sep=' - ')}")
    lines.append("Take-Profit Targets:")
    for k, t in enumerate(c["targets"]):
        lines.append(f"{k+1}) {norm(t)}")
    lines.append(f"Stop-Loss: {norm(c['stop'])}")
    return "\n".join(lines), label(c, drop=("validity_ms",))


def t_keycap(c):
    lines = [f"⚡️⚡️ #{c['base']}/{c['quote']} ⚡️⚡️", f"Signal Type: Regular ({side_word(c).title()})"]
    if (l := lev_line(c, 0)):
        lines.append(l)
    lines.append(f"Entry Targets: {entry_text(c)}" if c["entry"][0] != "zone" else f"Entry Zone: {entry_text(c)}")
    lines.append("Take-Profit Targets:")
    keycaps = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]
    for k, t in enumerate(c["targets"]):
        lines.append(f"{keycaps[k]} {norm(t)}")
    lines.append(f"Stop Targets: {norm(c['stop'])}")
    return "\n".join(lines), label(c, drop=("validity_ms",))


def t_oneline(c):
    parts = [f"{c['base']}{c['quote']}", side_word(c, "buysell" if c["entry"][0] != "market" else "en")]
    parts.append(f"@ {entry_text(c, market='market')}" if c["entry"][0] != "market" else "market")
    parts.append("TP " + " / ".join(norm(t) for t in c["targets"]))
    parts.append(f"SL {norm(c['stop'])}")
    if c["lev"]:
        parts.append(f"{c['lev']}x")
    lab = label(c, drop=("validity_ms",))
    if c["lev"] and c["mode"]:
        lab["leverage"].pop("mode")
    return " ".join(parts), lab


def t_thousands(c):
    f = thousands if c["base"] in ("BTC", "ETH") and c["quote"] == "USDT" else norm
    lines = [f"${c['base']}{c['quote']} {side_word(c)} 🚀"]
    lines.append(f"Entry: {entry_text(c, f=f, zone_sep=' - ')}")
    lines.append(f"Stop: {f(c['stop'])}")
    lines.append("Targets: " + ", ".join(f(t) for t in c["targets"]))
    if (l := lev_line(c, 3)):
        lines.append(l)
    return "\n".join(lines), label(c, drop=("validity_ms",))


def t_russian(c):
    lines = [f"🔥 #{c['base']}{c['quote']} — {side_word(c, 'ru')}"]
    lines.append(f"Вход: {entry_text(c, f=dcomma if c['dec'] in (2, 4) else norm, zone_sep=' - ')}")
    lines.append("Цели: " + " / ".join((dcomma if c['dec'] in (2, 4) else norm)(t) for t in c["targets"]))
    lines.append(f"Стоп: {(dcomma if c['dec'] in (2, 4) else norm)(c['stop'])}")
    if c["lev"]:
        lines.append(f"Плечо: {c['lev']}x")
    if c["valid"]:
        lines.append(f"Действует {valid_text(c, 'ru')}")
    lab = label(c)
    if c["lev"] and c["mode"]:
        lab["leverage"].pop("mode")
    return "\n".join(lines), lab


def t_spanish(c):
    f = dcomma if c["dec"] in (2, 4) else norm
    lines = [f"🚨 SEÑAL {c['base']}/{c['quote']} 🚨", f"Operación: {side_word(c, 'es')}"]
    lines.append(f"Entrada: {entry_text(c, f=f, zone_sep=' - ')}")
    lines.append("Objetivos: " + " - ".join(f(t) for t in c["targets"]))
    lines.append(f"Stop: {f(c['stop'])}")
    if c["lev"]:
        lines.append(f"Apalancamiento: {c['lev']}x" + (" cruzado" if c["mode"] == "cross" else " aislado" if c["mode"] == "isolated" else ""))
    if c["valid"]:
        lines.append(f"Válido {valid_text(c, 'es')}")
    return "\n".join(lines), label(c)


def t_portuguese(c):
    lines = [f"#{c['base']}{c['quote']} {side_word(c, 'pt')}"]
    lines.append(f"Entrada: {entry_text(c)}")
    for k, t in enumerate(c["targets"]):
        lines.append(f"Alvo {k+1}: {norm(t)}")
    lines.append(f"Stop: {norm(c['stop'])}")
    if c["lev"]:
        lines.append(f"Alavancagem: {c['lev']}x")
    lab = label(c, drop=("validity_ms",))
    if c["lev"] and c["mode"]:
        lab["leverage"].pop("mode")
    return "\n".join(lines), lab


def t_chinese(c):
    lines = [f"{c['base']}{c['quote']} {side_word(c, 'zh')}"]
    colon = rng.choice([":", "："])
    lines.append(f"入场{colon} {entry_text(c)}")
    lines.append(f"止盈{colon} " + " / ".join(norm(t) for t in c["targets"]))
    lines.append(f"止损{colon} {norm(c['stop'])}")
    if c["lev"]:
        lines.append(f"杠杆{colon} {c['lev']}x")
    lab = label(c, drop=("validity_ms",))
    if c["lev"] and c["mode"]:
        lab["leverage"].pop("mode")
    return "\n".join(lines), lab


def t_reordered(c):
    # Stop first, targets before entry, pair last: order does not matter.
    lines = [f"SL {norm(c['stop'])}"]
    lines.append("Targets " + " ".join(norm(t) for t in c["targets"]))
    lines.append(f"{side_word(c)} entry {entry_text(c, zone_sep=' to ')}")
    lines.append(f"Pair: {c['base']}-{c['quote']}")
    if (l := lev_line(c, 1)):
        lines.append(l)
    if c["valid"]:
        lines.append(f"Validity {valid_text(c)}")
    return "\n".join(lines), label(c)


def t_tp_spaced(c):
    lines = [f"📈 {c['base']}/{c['quote']} ({side_word(c).title()})", f"Entry Price: {entry_text(c)}"]
    for k, t in enumerate(c["targets"]):
        lines.append(f"Target {k+1}: {norm(t)}")
    lines.append(f"Stoploss: {norm(c['stop'])}")
    if (l := lev_line(c, 0)):
        lines.append(l)
    return "\n".join(lines), label(c, drop=("validity_ms",))


def t_lowercase(c):
    lines = [f"{c['base'].lower()}{c['quote'].lower()} {c['side']}"]
    lines.append(f"entry {entry_text(c)}")
    lines.append(f"sl {norm(c['stop'])}")
    lines.append("tp " + ", ".join(norm(t) for t in c["targets"]))
    if c["lev"]:
        lines.append(f"lev {c['lev']}x")
    lab = label(c, drop=("validity_ms",))
    if c["lev"] and c["mode"]:
        lab["leverage"].pop("mode")
    return "\n".join(lines), lab


# ---- templates whose label leaves a field out: the parser must not read it ----

def h_stop_words(c):
    text, lab = t_basic(c)
    lines = [l for l in text.split("\n") if not l.startswith("SL:")]
    lines.append("SL: below the 4h support")
    lab.pop("stop")
    return "\n".join(lines), lab


def h_stop_percent(c):
    text, lab = t_emoji(c)
    lines = [l for l in text.split("\n") if not l.startswith("🛑")]
    lines.append(f"🛑 Stop loss: {rng.choice([3, 5, 8])}%")
    lab.pop("stop")
    return "\n".join(lines), lab


def h_bare_coin(c):
    text, lab = t_thousands(c)
    first, rest = text.split("\n", 1)
    lab.pop("pair")
    return f"${c['base']} {side_word(c)} 🚀\n{rest}", lab


def h_lev_range(c):
    c = dict(c, lev=None, mode=None)
    text, lab = t_basic(c)
    return text + f"\nLeverage: {rng.choice(['5x-10x', '10x - 20x', '3x to 5x'])}", lab


def h_three_entries(c):
    if c["entry"][0] == "market":
        return t_basic(c)
    text, lab = t_basic(c)
    e = c["entry"][1]
    step = Decimal(1).scaleb(-c["dec"]) * 7
    lines = [l if not l.startswith("Entry:") else f"Entry: {norm(e)} / {norm(e - step)} / {norm(e - 2 * step)}"
             for l in text.split("\n")]
    lab.pop("entry")
    return "\n".join(lines), lab


def h_no_side(c):
    text, lab = t_basic(c)
    first = text.split("\n")
    first[1] = f"#{c['base']}/{c['quote']}"
    lab.pop("side")
    return "\n".join(first), lab


def h_targets_open(c):
    text, lab = t_basic(c)
    lines = [l for l in text.split("\n") if not l.startswith("TP")]
    lines.append("Targets: open 🚀🚀🚀")
    lab.pop("targets")
    return "\n".join(lines), lab


def h_two_pairs(c):
    text, lab = t_basic(c)
    other = "ETHUSDT" if c["base"] != "ETH" else "BTCUSDT"
    lab.pop("pair")
    return text + f"\nAlso watching #{other}", lab


def h_current_price(c):
    # A chatter line with a price that belongs to no field: it must not become entry or stop.
    text, lab = t_lowercase(c)
    return text + f"\n\nnow trading around {norm(c['stop'])} on binance", lab


TEMPLATES = [t_basic, t_emoji, t_numbered, t_keycap, t_oneline, t_thousands, t_russian,
             t_spanish, t_portuguese, t_chinese, t_reordered, t_tp_spaced, t_lowercase]
HARD = [h_stop_words, h_stop_percent, h_bare_coin, h_lev_range, h_three_entries, h_no_side,
        h_targets_open, h_two_pairs, h_current_price]


def main():
    out = []
    n = 0
    for round_ in range(26):
        for t in TEMPLATES:
            n += 1
            text, lab = t(make_call(rng))
            out.append((f"c{n:03d}-{t.__name__}", text, lab))
    for round_ in range(6):
        for t in HARD:
            n += 1
            text, lab = t(make_call(rng))
            out.append((f"c{n:03d}-{t.__name__}", text, lab))
    with open(__file__.rsplit("/", 1)[0] + "/corpus.txt", "w", encoding="utf-8") as f:
        f.write("# Labelled signal-call messages (generated by generate.py, seed %d; do not edit by hand).\n" % SEED)
        f.write("# Each entry: '=== <id>', the message, '--- label', one JSON line of the true fields.\n")
        for cid, text, lab in out:
            f.write(f"=== {cid}\n{text}\n--- label\n{json.dumps(lab, ensure_ascii=False, sort_keys=True)}\n")
    print(f"{len(out)} messages")


main()
