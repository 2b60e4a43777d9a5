import { describe, expect, it } from 'vitest';
import { changes, mergePatch, shown } from './configDiff';

describe('config diff', () => {
  const before = {
    name: 'a',
    risk: { max_daily_loss: '100', max_open_positions: null },
    instruments: ['BTCUSDT'],
    params: { fast: 3, slow: 8 },
  };
  it('the merge patch holds only what changed; arrays replace; removed keys are null', () => {
    const after = {
      name: 'a',
      risk: { max_daily_loss: '250', max_open_positions: null },
      instruments: ['BTCUSDT', 'ETHUSDT'],
      params: { fast: 3 },
    };
    expect(mergePatch(before, after)).toEqual({
      risk: { max_daily_loss: '250' },
      instruments: ['BTCUSDT', 'ETHUSDT'],
      params: { slow: null },
    });
    expect(mergePatch(before, structuredClone(before))).toEqual({});
  });
  it('lists every changed leaf with old and new', () => {
    const after = { ...before, risk: { max_daily_loss: '250', max_open_positions: 2 }, params: { fast: 5, slow: 8 } };
    expect(changes(before, after)).toEqual([
      { path: 'params.fast', old: 3, new: 5 },
      { path: 'risk.max_daily_loss', old: '100', new: '250' },
      { path: 'risk.max_open_positions', old: null, new: 2 },
    ]);
    expect(shown(null)).toBe('—');
    expect(shown(['X'])).toBe('["X"]');
  });
});
