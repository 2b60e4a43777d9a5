/**
 * Equity over time with drawdown below it, drawn by TradingView's lightweight-charts.
 * Floats appear only here, for plotting; figures shown as numbers come from the API's strings.
 */
import { AreaSeries, ColorType, createChart, type IChartApi, type UTCTimestamp } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import type { PnlPoint } from '../api';

/** Chart points: ascending unique seconds (the chart's requirement); unparseable points dropped. */
export function toSeries(points: PnlPoint[]) {
  const equity: { time: UTCTimestamp; value: number }[] = [];
  const drawdown: { time: UTCTimestamp; value: number }[] = [];
  const sorted = points
    .map((p) => ({ t: Math.floor(Date.parse(p.time) / 1000), e: Number(p.equity), d: Number(p.drawdown) }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.e) && Number.isFinite(p.d))
    .sort((a, b) => a.t - b.t);
  for (const p of sorted) {
    const time = p.t as UTCTimestamp;
    if (equity.length && equity[equity.length - 1].time === time) {
      equity[equity.length - 1].value = p.e;
      drawdown[drawdown.length - 1].value = -Math.abs(p.d);
    } else {
      equity.push({ time, value: p.e });
      drawdown.push({ time, value: -Math.abs(p.d) });
    }
  }
  return { equity, drawdown };
}

/**
 * Time-axis label precision for a series spanning `first..last` seconds: a label must change
 * from tick to tick, so minutes show seconds when the whole series fits in a few minutes (all
 * points inside one minute otherwise repeat one "HH:MM" label), and a series of many days shows
 * dates only.
 */
export function timeAxis(first: number, last: number): { timeVisible: boolean; secondsVisible: boolean } {
  const span = Math.max(0, last - first);
  return { timeVisible: span < 3 * 86_400, secondsVisible: span < 10 * 60 };
}

/** Two panes: equity (top), drawdown in percent below the peak (bottom). */
export function PnlChart({ points }: { points: PnlPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ api: IChartApi; set: (p: PnlPoint[]) => void } | null>(null);

  useEffect(() => {
    if (!box.current) return;
    const api = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9aa4b2', panes: { separatorColor: '#2a3240' } },
      grid: { vertLines: { color: '#1e2530' }, horzLines: { color: '#1e2530' } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderVisible: false },
    });
    const eq = api.addSeries(AreaSeries, {
      lineColor: '#4da3ff',
      topColor: 'rgba(77,163,255,0.35)',
      bottomColor: 'rgba(77,163,255,0.02)',
      lineWidth: 2,
      title: 'equity',
    });
    const dd = api.addSeries(
      AreaSeries,
      {
        lineColor: '#ff5c5c',
        topColor: 'rgba(255,92,92,0.05)',
        bottomColor: 'rgba(255,92,92,0.4)',
        lineWidth: 1,
        title: 'drawdown %',
        invertFilledArea: true,
      },
      1,
    );
    const panes = api.panes();
    if (panes[1]) panes[1].setHeight(70);
    chart.current = {
      api,
      set: (p) => {
        const s = toSeries(p);
        eq.setData(s.equity);
        dd.setData(s.drawdown);
        if (s.equity.length > 0) {
          api.applyOptions({ timeScale: timeAxis(s.equity[0].time, s.equity[s.equity.length - 1].time) });
        }
        api.timeScale().fitContent();
      },
    };
    return () => {
      api.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.set(points);
  }, [points]);

  return (
    <div className="chart-wrap">
      <div ref={box} className="chart" data-testid="pnl-chart" />
      {points.length === 0 && <div className="chart-empty muted">No P&amp;L history yet.</div>}
    </div>
  );
}
