import { describe, expect, it } from 'vitest';
import { parseRoute, href } from '../route';
import { entryText, r3 } from './CallsPage';

describe('calls page helpers', () => {
  it('routes #/calls both ways', () => {
    expect(parseRoute('#/calls')).toEqual({ page: 'calls' });
    expect(href({ page: 'calls' })).toBe('#/calls');
  });

  it('writes the entry as the message stated it, and never invents one', () => {
    expect(entryText({ entry: { price: '0.45' } })).toBe('0.45');
    expect(entryText({ entry: { zone: { low: '0.45', high: '0.47' } } })).toBe('0.45–0.47');
    expect(entryText({ entry: 'market' })).toBe('market');
    expect(entryText({})).toBe('—');
  });

  it('shows a missing bound as a dash, not a number', () => {
    expect(r3(null)).toBe('—');
    expect(r3(-1)).toBe('-1.000');
    expect(r3(0.0245)).toBe('0.025');
  });
});
