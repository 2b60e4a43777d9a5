"""Independent-client check: ccxt (pinned in tests/python/requirements.txt) talks to the Keel
exchange simulator exactly as it talks to Binance (spot, USD-M) and Bybit V5 (spot, linear):
load markets, read balances, place / query / cancel orders, read trades and positions.

Usage: python ccxt_check.py http://127.0.0.1:PORT   (exits non-zero on the first failure)
"""

import json
import sys
import urllib.request

import ccxt

BINANCE_KEY, BINANCE_SECRET = "simBinanceKeyMain0001", "simBinanceSecretMain0001"
BYBIT_KEY, BYBIT_SECRET = "simBybitKeyMain0001", "simBybitSecretMain0001"


def admin(base, path, body=None, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok  " + what)


def point(urls, base):
    out = {}
    for k, v in urls.items():
        v = v.replace("https://api.{hostname}", base)
        for host in ("https://api.binance.com", "https://fapi.binance.com", "https://dapi.binance.com",
                     "https://eapi.binance.com", "https://papi.binance.com"):
            v = v.replace(host, base)
        out[k] = v
    return out


def binance_checks(base):
    ex = ccxt.binance({
        "apiKey": BINANCE_KEY, "secret": BINANCE_SECRET, "enableRateLimit": False,
        "options": {"fetchCurrencies": False, "fetchMarkets": {"types": ["spot", "linear"]},
                    "adjustForTimeDifference": False, "warnOnFetchOpenOrdersWithoutSymbol": False,
                    "fetchMargins": False},
    })
    ex.urls["api"] = point(ex.urls["api"], base)
    ex.has["fetchCurrencies"] = False  # currencies come from the wallet APIs, not simulated
    ex.load_markets()
    check("BTC/USDT" in ex.markets and "BTC/USDT:USDT" in ex.markets, "binance: markets loaded (spot + linear)")
    check(abs(ex.fetch_time() - ex.milliseconds()) < 5000, "binance: server time")
    bal = ex.fetch_balance()
    check(bal["USDT"]["free"] == 100000, "binance spot: balance USDT 100000")

    limit = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 60000, {"newClientOrderId": "ccxt-b-1"})
    check(limit["status"] == "open" and limit["clientOrderId"] == "ccxt-b-1", "binance spot: limit buy rests")
    got = ex.fetch_order(limit["id"], "BTC/USDT")
    check(got["status"] == "open" and got["amount"] == 0.01 and got["price"] == 60000, "binance spot: fetch order")
    check(len(ex.fetch_open_orders("BTC/USDT")) == 1, "binance spot: one open order")
    ex.cancel_order(limit["id"], "BTC/USDT")
    check(ex.fetch_order(limit["id"], "BTC/USDT")["status"] == "canceled", "binance spot: cancelled")

    mkt = ex.create_order("BTC/USDT", "market", "buy", 0.01)
    check(mkt["status"] == "closed" and mkt["filled"] == 0.01 and mkt["average"] == 65000, "binance spot: market buy filled at price")
    trades = ex.fetch_my_trades("BTC/USDT")
    check(len(trades) == 1 and trades[0]["fee"]["currency"] == "BTC" and abs(trades[0]["fee"]["cost"] - 0.00001) < 1e-12,
          "binance spot: my trades with fee in received asset")
    try:
        ex.create_order("BTC/USDT", "limit", "buy", 0.000001, 60000)
        check(False, "binance spot: LOT_SIZE rejection")
    except ccxt.InvalidOrder as e:
        check("LOT_SIZE" in str(e) or "precision" in str(e).lower(), "binance spot: filter rejection -> InvalidOrder")
    except ccxt.BaseError as e:
        # ccxt may round the amount to precision first and raise its own error
        check("amount" in str(e).lower() or "precision" in str(e).lower(), "binance spot: tiny amount refused")

    fut = "BTC/USDT:USDT"
    o = ex.create_order(fut, "market", "buy", 0.01, None, {"newOrderRespType": "RESULT"})
    check(o["status"] == "closed" and o["filled"] == 0.01, "binance futures: market buy filled")
    pos = [p for p in ex.fetch_positions([fut]) if p["contracts"]]
    check(len(pos) == 1 and pos[0]["side"] == "long" and pos[0]["contracts"] == 0.01, "binance futures: long position")
    admin(base, "/__admin/price", {"symbol": "BTCUSDT", "price": "66000", "venue": "binance_futures"})
    ex.create_order(fut, "market", "sell", 0.01, None, {"reduceOnly": True})
    ft = ex.fetch_my_trades(fut)
    check(len(ft) == 2 and float(ft[1]["info"]["realizedPnl"]) == 10.0, "binance futures: realized pnl 10 on close")
    lim = ex.create_order(fut, "limit", "sell", 0.01, 70000)
    check(ex.fetch_order(lim["id"], fut)["status"] == "open", "binance futures: limit rests")
    ex.cancel_order(lim["id"], fut)
    check(ex.fetch_order(lim["id"], fut)["status"] == "canceled", "binance futures: cancelled")
    fb = ex.fetch_balance({"type": "future"})
    check(fb["USDT"]["total"] is not None and fb["USDT"]["total"] > 99000, "binance futures: balance")


def bybit_checks(base):
    ex = ccxt.bybit({
        "apiKey": BYBIT_KEY, "secret": BYBIT_SECRET, "enableRateLimit": False,
        "options": {"fetchCurrencies": False, "fetchMarkets": {"types": ["spot", "linear"]},
                    "enableUnifiedAccount": True, "enableUnifiedMargin": False, "adjustForTimeDifference": False},
    })
    ex.urls["api"] = point(ex.urls["api"], base)
    ex.has["fetchCurrencies"] = False  # currencies come from the wallet APIs, not simulated
    ex.load_markets()
    check("BTC/USDT" in ex.markets and "BTC/USDT:USDT" in ex.markets, "bybit: markets loaded (spot + linear)")
    check(abs(ex.fetch_time() - ex.milliseconds()) < 5000, "bybit: server time")
    bal = ex.fetch_balance()
    check(bal["USDT"]["total"] == 100000, "bybit: unified wallet USDT 100000")

    o = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 60000, {"orderLinkId": "ccxt-y-1"})
    got = ex.fetch_open_order(o["id"], "BTC/USDT")
    check(got["status"] == "open" and got["clientOrderId"] == "ccxt-y-1", "bybit spot: limit rests, fetch open order")
    ex.cancel_order(o["id"], "BTC/USDT")
    check(ex.fetch_closed_order(o["id"], "BTC/USDT")["status"] == "canceled", "bybit spot: cancelled")
    ex.create_order("BTC/USDT", "market", "buy", 0.01, 65000)
    tr = ex.fetch_my_trades("BTC/USDT")
    check(len(tr) == 1 and tr[0]["fee"]["currency"] == "BTC", "bybit spot: execution with fee in base coin")

    fut = "BTC/USDT:USDT"
    ex.create_order(fut, "market", "buy", 0.01)
    pos = [p for p in ex.fetch_positions([fut]) if p["contracts"]]
    check(len(pos) == 1 and pos[0]["side"] == "long", "bybit linear: long position")
    lim = ex.create_order(fut, "limit", "sell", 0.01, 70000)
    check(len(ex.fetch_open_orders(fut)) == 1, "bybit linear: one open order")
    ex.cancel_order(lim["id"], fut)
    check(len(ex.fetch_open_orders(fut)) == 0, "bybit linear: cancelled")
    ex.create_order(fut, "market", "sell", 0.01, None, {"reduceOnly": True})
    lt = ex.fetch_my_trades(fut)
    check(len(lt) == 2 and all(t["fee"]["currency"] == "USDT" for t in lt), "bybit linear: two executions, fee in USDT")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    base = sys.argv[1].rstrip("/")
    admin(base, "/__admin/reset", {})
    try:
        binance_checks(base)
        bybit_checks(base)
    except Exception as e:  # report any ccxt or assertion failure and fail the run
        print("FAIL " + type(e).__name__ + ": " + str(e))
        return 1
    print("ccxt check passed (ccxt " + ccxt.__version__ + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
