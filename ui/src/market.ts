/**
 * Instrument precision for the screens: the tick and lot step of each (bot, symbol) pair, read
 * once per session from `GET /bots/{id}/market?limit=1` and cached. Why cached: the rules change
 * rarely (the bot caches them for an hour itself) and every table on every poll needs them.
 */
import { useEffect, useState } from 'react';
import type { Client } from './api';
import type { Precision } from './numbers';

const cache = new Map<string, Promise<Precision>>();
/** Wait before asking again for rules that could not be read. */
const RETRY_MS = 5000;

/** The cache key of a bot's instrument. */
export const ruleKey = (botId: string, symbol: string) => `${botId}|${symbol}`;

/** Remember rules already read with a market answer (the bot page's chart), so tables need no second call. */
export function rememberRules(botId: string, symbol: string, p: Precision) {
  if (p.tick || p.step) cache.set(ruleKey(botId, symbol), Promise.resolve(p));
}

function load(client: Client, botId: string, symbol: string): Promise<Precision> {
  const key = ruleKey(botId, symbol);
  let p = cache.get(key);
  if (!p) {
    p = client.market(botId, { symbol, limit: 1 }).then(
      (m) => ({ tick: m.tick_size, step: m.step_size }),
      () => {
        // Unknown rules format with the fallback; try again on a later render.
        cache.delete(key);
        return { tick: null, step: null };
      },
    );
    cache.set(key, p);
  }
  return p;
}

/** Precision of each requested (bot, symbol); entries appear as their rules arrive. */
export function useRules(client: Client, pairs: { botId: string; symbol: string }[]): Record<string, Precision> {
  const [rules, setRules] = useState<Record<string, Precision>>({});
  const [attempt, setAttempt] = useState(0);
  const wanted = [...new Set(pairs.filter((p) => p.botId && p.symbol).map((p) => ruleKey(p.botId, p.symbol)))].sort().join(',');
  useEffect(() => {
    let alive = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    for (const key of wanted ? wanted.split(',') : []) {
      const [botId, symbol] = key.split('|');
      void load(client, botId, symbol).then((p) => {
        if (!alive) return;
        if (p.tick || p.step) setRules((old) => (old[key] ? old : { ...old, [key]: p }));
        // Unreadable for now (rate limit, exchange down): ask again in a while.
        else if (!retry) retry = setTimeout(() => setAttempt((a) => a + 1), RETRY_MS);
      });
    }
    return () => {
      alive = false;
      if (retry) clearTimeout(retry);
    };
  }, [client, wanted, attempt]);
  return rules;
}

/** Test hook: forget every cached rule. */
export function clearRules() {
  cache.clear();
}
