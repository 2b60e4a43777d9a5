"""Independent re-computation of the Rust golden backtest (engine/src/backtest/golden_tests.rs):
MA(10, 30) crossover long/short on engine/test_data/factors/ohlcv.csv, linear, 10000 USDT, taker
fee 0.0004, 5 bps slippage (on the tick, against the trader), next-open fills, tick 0.01, step 0.001, average-cost P&L, with plain
Python decimals. Prints net, equity and fills; exits non-zero unless they equal the pinned values."""
import csv
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
from decimal import Decimal as D, ROUND_DOWN, ROUND_CEILING, ROUND_FLOOR
rows=list(csv.DictReader(open(ROOT + "/engine/test_data/factors/ohlcv.csv")))
close=[float(r['close']) for r in rows]; opn=[r['open'] for r in rows]
def sma(i,n): return sum(close[i-n+1:i+1])/n if i>=n-1 else None
cap=D('10000'); realized=D(0); fees=D(0); pos=D(0); avg=D(0); nfills=0
def tick(x): return (x/D('0.01')).quantize(D(1))*D('0.01')
def slip(ref, buy):
    raw=ref+ref*D('0.0005') if buy else ref-ref*D('0.0005')
    return (raw/D('0.01')).to_integral_value(rounding=ROUND_CEILING if buy else ROUND_FLOOR)*D('0.01')
def step(x): return (x/D('0.001')).to_integral_value(rounding=ROUND_DOWN)*D('0.001')
def fill(side_qty, price):
    global realized,fees,pos,avg,nfills
    q=side_qty; nfills+=1
    fees+=price*abs(q)*D('0.0004')
    if pos==0 or (pos>0)==(q>0):
        avg=(avg*abs(pos)+price*abs(q))/(abs(pos)+abs(q)); pos+=q
    else:
        closed=min(abs(q),abs(pos)); sgn=1 if pos>0 else -1
        realized+=(price-avg)*closed*sgn; pos+=q
        if pos==0: avg=D(0)
last=None; pending=None
for i in range(len(rows)):
    if pending is not None:
        e=pending; pending=None
        ref=tick(D(opn[i])); eq=cap+realized-fees+pos*(ref-avg)
        d=step(D(e)*eq/ref)
        if d!=pos:
            # slipped against the trader, then onto the tick rounding against the trader (up for a buy)
            f=slip(ref, d>pos)
            q=step(D(e)*eq/f)
            if q!=pos:
                if pos!=0 and q!=0 and (pos>0)!=(q>0):
                    fill(-pos,f); fill(q,f)
                else: fill(q-pos,f)
    a,b=sma(i,10),sma(i,30)
    if a is not None and b is not None:
        e=1.0 if a>b else -1.0
        if e!=last: last=e; pending=e
m=tick(D(rows[-1]['close']))
net=realized-fees+pos*(m-avg)
got = (str(net.normalize()), str((cap + net).normalize()), nfills)
want = ("-33.08846342", "9966.91153658", 39)
print("golden backtest:", got)
raise SystemExit(0 if got == want else 1)
