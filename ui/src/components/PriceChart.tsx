/**
 * Candles of the traded instrument (`GET /bots/{id}/market`) with the bot's entries and exits
 * marked, and the stop / take-profit / limit prices of its open orders as price lines, drawn by
 * lightweight-charts. The price axis uses the instrument's tick, so the chart shows no more
 * digits than the instrument allows. Floats appear only here, for plotting.
 */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useMemo, useRef } from 'react';
import type { Candle, Fill, Order } from '../api';
import { placesOf } from '../numbers';

/** A price level drawn across the chart (an open order's limit or trigger). */
export interface Level {
  price: string;
  title: string;
  kind: 'stop' | 'take_profit' | 'limit';
}

/** Open orders' limit prices as chart levels (stop and take-profit orders by their type). */
export function levelsOf(orders: Order[], symbol: string): Level[] {
  return orders
    .filter((o) => o.instrument === symbol && o.price)
    .map((o) => {
      const t = o.order_type.toLowerCase();
      const kind = t.includes('stop')
        ? ('stop' as const)
        : t.includes('take') || t.includes('profit')
          ? ('take_profit' as const)
          : ('limit' as const);
      return { price: o.price ?? '', title: `${o.side} ${kind.replace('_', ' ')}`, kind };
    });
}

/** Candles as chart bars: ascending unique seconds, unparseable rows dropped. */
export function toBars(candles: Candle[]) {
  const out: { time: UTCTimestamp; open: number; high: number; low: number; close: number }[] = [];
  for (const c of [...candles].sort((a, b) => a.time_ms - b.time_ms)) {
    const bar = {
      time: Math.floor(c.time_ms / 1000) as UTCTimestamp,
      open: Number(c.open),
      high: Number(c.high),
      low: Number(c.low),
      close: Number(c.close),
    };
    if (![bar.open, bar.high, bar.low, bar.close].every(Number.isFinite)) continue;
    if (out.length && out[out.length - 1].time === bar.time) out[out.length - 1] = bar;
    else out.push(bar);
  }
  return out;
}

/**
 * One marker per fill of this symbol, placed on the candle it happened in (a fill before the
 * first candle or after the last is left out): buys below the bar, sells above.
 */
export function toMarkers(fills: Fill[], symbol: string, candles: Candle[], timeframeMs: number): SeriesMarker<Time>[] {
  const opens = candles.map((c) => c.time_ms).sort((a, b) => a - b);
  if (opens.length === 0) return [];
  const first = opens[0];
  const end = opens[opens.length - 1] + timeframeMs;
  const markers: SeriesMarker<Time>[] = [];
  for (const f of fills) {
    if (f.instrument !== symbol) continue;
    const t = Date.parse(f.time);
    if (!Number.isFinite(t) || t < first || t >= end) continue;
    let i = opens.length - 1;
    while (i > 0 && opens[i] > t) i--;
    const buy = f.side === 'buy';
    markers.push({
      time: Math.floor(opens[i] / 1000) as UTCTimestamp,
      position: buy ? 'belowBar' : 'aboveBar',
      shape: buy ? 'arrowUp' : 'arrowDown',
      color: buy ? '#2ecc71' : '#ff5c5c',
      text: buy ? 'B' : 'S',
      id: f.trade_id,
    });
  }
  return markers.sort((a, b) => Number(a.time) - Number(b.time));
}

const TF_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `15m` → 900000; unknown labels read as one hour. */
export function timeframeMs(tf: string): number {
  const m = /^(\d+)([mhdw])$/.exec(tf);
  return m ? Number(m[1]) * TF_MS[m[2]] : 3_600_000;
}

/** The chart; `tick` sets the price axis precision. */
export function PriceChart({
  loaded = true,
  candles,
  fills,
  symbol,
  timeframe,
  tick,
  orders,
}: {
  /** False while the first candles are on their way (no "no candles" note yet). */
  loaded?: boolean;
  candles: Candle[];
  fills: Fill[];
  symbol: string;
  timeframe: string;
  tick: string | null;
  orders: Order[] | undefined;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{
    api: IChartApi;
    series: ISeriesApi<'Candlestick'>;
    markers: ISeriesMarkersPluginApi<Time>;
    lines: IPriceLine[];
  } | null>(null);
  const fitted = useRef(false);
  const levels = useMemo(() => levelsOf(orders ?? [], symbol), [orders, symbol]);
  const markers = useMemo(() => toMarkers(fills, symbol, candles, timeframeMs(timeframe)), [fills, symbol, candles, timeframe]);

  useEffect(() => {
    if (!box.current) return;
    const api = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9aa4b2' },
      grid: { vertLines: { color: '#1e2530' }, horzLines: { color: '#1e2530' } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderVisible: false },
    });
    const series = api.addSeries(CandlestickSeries, {
      upColor: '#2ecc71',
      downColor: '#ff5c5c',
      borderVisible: false,
      wickUpColor: '#2ecc71',
      wickDownColor: '#ff5c5c',
    });
    chart.current = { api, series, markers: createSeriesMarkers(series, []), lines: [] };
    return () => {
      api.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    if (tick) {
      const precision = placesOf(tick);
      c.series.applyOptions({ priceFormat: { type: 'price', precision, minMove: Number(tick) || 10 ** -precision } });
    }
    const bars = toBars(candles);
    c.series.setData(bars);
    c.markers.setMarkers(markers);
    for (const l of c.lines) c.series.removePriceLine(l);
    c.lines = levels
      .filter((l) => Number.isFinite(Number(l.price)))
      .map((l) =>
        c.series.createPriceLine({
          price: Number(l.price),
          color: l.kind === 'stop' ? '#ff5c5c' : l.kind === 'take_profit' ? '#2ecc71' : '#4da3ff',
          lineWidth: 1,
          lineStyle: 2,
          axisLabelVisible: true,
          title: l.title,
        }),
      );
    // Fit once; later polls keep the trader's zoom and scroll.
    if (bars.length > 0 && !fitted.current) {
      c.api.timeScale().fitContent();
      fitted.current = true;
    }
  }, [candles, markers, tick, levels]);

  return (
    <div className="chart-wrap">
      <div ref={box} className="chart tall" data-testid="price-chart" data-markers={markers.length} data-levels={levels.length} />
      {candles.length === 0 && (
        <div className="chart-empty muted">{loaded ? `No candles for ${symbol || 'this instrument'} yet.` : 'Loading candles…'}</div>
      )}
    </div>
  );
}
