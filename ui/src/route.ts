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
  | { page: 'backtest'; bot?: string };

/** Parse a `location.hash`. Unknown hashes land on the overview. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'bots' && parts[1]) return { page: 'bot', id: parts[1] };
  if (parts[0] === 'new') return { page: 'new' };
  if (parts[0] === 'signals' && parts[1]) return { page: 'signal', id: parts[1] };
  if (parts[0] === 'backtest') return parts[1] ? { page: 'backtest', bot: parts[1] } : { page: 'backtest' };
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
