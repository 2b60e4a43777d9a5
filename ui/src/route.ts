/**
 * Hash routing (`#/bots/btc-trend`). Why hash: the Worker serves static assets at `/` and the
 * API at `/api/v1`; hash routes need no server fallback, and nothing secret is ever in the URL.
 */
import { useEffect, useState } from 'react';

/** The pages of the dashboard. */
export type Route =
  | { page: 'overview' }
  | { page: 'bot'; id: string }
  | { page: 'new' }
  | { page: 'signal'; id: string }
  /** The Backtest view; `bot` prefills it with that strategy bot's strategy, symbol and timeframe. */
  | { page: 'backtest'; bot?: string }
  /** The Optimize view: a bounded parameter search (`POST /api/v1/optimize`). */
  | { page: 'optimize' }
  /** The A/B page: bots `a` and `b` compared over `period` (each optional until chosen). */
  | { page: 'compare'; a?: string; b?: string; period?: string }
  /** Limits across bots (scopes), their use and halts, and capital allocation proposals. */
  | { page: 'portfolio' }
  /** Influencer/channel calls: the leaderboard and the recorded calls. */
  | { page: 'calls' };

/** Parse a `location.hash`. Unknown hashes land on the overview. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'bots' && parts[1]) return { page: 'bot', id: parts[1] };
  if (parts[0] === 'new') return { page: 'new' };
  if (parts[0] === 'signals' && parts[1]) return { page: 'signal', id: parts[1] };
  if (parts[0] === 'backtest') return parts[1] ? { page: 'backtest', bot: parts[1] } : { page: 'backtest' };
  if (parts[0] === 'portfolio') return { page: 'portfolio' };
  if (parts[0] === 'optimize') return { page: 'optimize' };
  if (parts[0] === 'calls') return { page: 'calls' };
  if (parts[0] === 'compare') {
    const r: Route = { page: 'compare' };
    if (parts[1] && parts[1] !== '-') r.a = parts[1];
    if (parts[2] && parts[2] !== '-') r.b = parts[2];
    if (parts[3]) r.period = parts[3];
    return r;
  }
  return { page: 'overview' };
}

/** Link target for a route. */
export function href(r: Route): string {
  switch (r.page) {
    case 'overview':
      return '#/';
    case 'bot':
      return `#/bots/${encodeURIComponent(r.id)}`;
    case 'new':
      return '#/new';
    case 'signal':
      return `#/signals/${encodeURIComponent(r.id)}`;
    case 'backtest':
      return r.bot ? `#/backtest/${encodeURIComponent(r.bot)}` : '#/backtest';
    case 'portfolio':
      return '#/portfolio';
    case 'optimize':
      return '#/optimize';
    case 'calls':
      return '#/calls';
    case 'compare': {
      // `-` holds the place of a bot not chosen yet, so `#/compare/-/b` keeps b in its slot.
      const parts = [r.a ?? '-', r.b ?? '-', r.period ?? ''].map((p) => (p === '-' ? p : encodeURIComponent(p)));
      while (parts.length && (parts[parts.length - 1] === '-' || parts[parts.length - 1] === '')) parts.pop();
      return parts.length ? `#/compare/${parts.join('/')}` : '#/compare';
    }
  }
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
