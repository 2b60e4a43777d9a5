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
  ];
  for (const r of routes) {
    it(`round-trips ${JSON.stringify(r)}`, () => expect(parseRoute(href(r))).toEqual(r));
  }
  it('falls back to the overview', () => {
    expect(parseRoute('#/nope')).toEqual({ page: 'overview' });
    expect(parseRoute('')).toEqual({ page: 'overview' });
  });
});
