/**
 * The cumulative returns of bots A and B over their common periods, two lines on one
 * lightweight-charts pane (in percent). Floats only here, for plotting: the returns are
 * statistics of the equity curves, not money.
 */
import { ColorType, LineSeries, createChart, type UTCTimestamp } from 'lightweight-charts';
import { useEffect, useMemo, useRef } from 'react';
import { cumulative, type Comparison } from '../analytics';
import { timeAxis } from './PnlChart';

/** Colours of A and B, also used by the page's legend. */
export const A_COLOUR = '#4da3ff';
export const B_COLOUR = '#f5a524';

type Points = ReturnType<typeof cumulative>;

/** Two lines, A blue and B amber, both starting from 0 %; created once, fed on every answer. */
export function CompareChart({ series }: { series: Comparison['series'] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<((p: Points) => void) | null>(null);
  const points = useMemo(() => cumulative(series), [series]);

  useEffect(() => {
    if (!box.current) return;
    const api = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9aa4b2' },
      grid: { vertLines: { color: '#1e2530' }, horzLines: { color: '#1e2530' } },
      rightPriceScale: { borderVisible: false },
      localization: { priceFormatter: (v: number) => `${v.toFixed(2)}%` },
    });
    const la = api.addSeries(LineSeries, { color: A_COLOUR, lineWidth: 2, title: 'A' });
    const lb = api.addSeries(LineSeries, { color: B_COLOUR, lineWidth: 2, title: 'B' });
    chart.current = (p) => {
      la.setData(p.map((x) => ({ time: x.time as UTCTimestamp, value: x.a * 100 })));
      lb.setData(p.map((x) => ({ time: x.time as UTCTimestamp, value: x.b * 100 })));
      if (p.length > 0) api.applyOptions({ timeScale: timeAxis(p[0].time, p[p.length - 1].time) });
      api.timeScale().fitContent();
    };
    return () => {
      api.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.(points);
  }, [points]);

  return (
    <div className="chart-wrap">
      <div ref={box} className="chart" data-testid="compare-chart" data-points={points.length} />
      {points.length === 0 && <div className="chart-empty muted">No common period yet.</div>}
    </div>
  );
}
