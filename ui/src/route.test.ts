import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from './route';

describe('hash routes', () => {
  const routes: Route[] = [
    { page: 'overview' },
    { page: 'bot', id: 'btc trend/1' },
    { page: 'new' },
    { page: 'signal', id: 'sig-1' },
    { page: 'backtest' },
    { page: 'backtest', bot: 'sol:trend 1' },
    { page: 'compare' },
    { page: 'compare', a: 'bot a/1' },
    { page: 'compare', b: 'b' },
    { page: 'compare', a: 'a', b: 'b' },
    { page: 'compare', a: 'a', b: 'b', period: '4h' },
    { page: 'compare', period: '1h' },
  ];
  for (const r of routes) {
    it(`round-trips ${JSON.stringify(r)}`, () => expect(parseRoute(href(r))).toEqual(r));
  }
  it('falls back to the overview', () => {
    expect(parseRoute('#/nope')).toEqual({ page: 'overview' });
    expect(parseRoute('')).toEqual({ page: 'overview' });
  });
});
