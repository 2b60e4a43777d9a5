/**
 * Polling data hook. Why polling: it is simple, survives Worker restarts, and 5 s is fresh enough
 * for an operator; every page uses this one hook so loading and error states look the same.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

/** Refresh interval of live views. */
export const POLL_MS = 5000;

/** State of one polled resource: last good data is kept while a refresh fails. */
export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, { code: 'client', message: e instanceof Error ? e.message : String(e) });
}

/** Calls `load` now and every `intervalMs` (0 = once) while mounted; re-runs when `key` changes. */
export function usePoll<T>(load: () => Promise<T>, key: string, intervalMs: number = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const d = await loadRef.current();
        if (!alive) return;
        setData(d);
        setError(null);
      } catch (e) {
        if (!alive) return;
        setError(toApiError(e));
      } finally {
        if (alive) {
          setLoading(false);
          if (intervalMs > 0) timer = setTimeout(run, intervalMs);
        }
      }
    };
    void run();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, intervalMs, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Current time, re-rendered every second, for "last signal 12s ago". */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}
