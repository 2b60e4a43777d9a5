/**
 * The bot's audit trail, newest first. Pages forward with `?after=<last seq>` so polling only
 * fetches new events; "Load older" is not needed because the first load starts at seq 0.
 */
import { useEffect, useRef, useState } from 'react';
import type { AuditEvent } from '../api';
import { describe, kindLabel, tone } from '../audit';
import type { Precision } from '../numbers';
import { useSession } from '../context';
import { POLL_MS } from '../hooks';
import { shortTime } from '../money';
import { href } from '../route';
import { Status } from './Status';

const PAGE = 200;
/** Events kept on screen; older ones are dropped from view (Neo4j keeps them all). */
const KEEP = 500;

/**
 * Fetches every page after the last seen seq, then keeps polling for new events. Mount with
 * `key={botId}`. Each event reads as a sentence (`audit.ts`), amounts at the instrument's precision.
 */
export function AuditTimeline({
  botId,
  rules = () => null,
  quote = 'USDT',
}: {
  botId: string;
  rules?: (symbol: string) => Precision | null;
  quote?: string;
}) {
  const { client } = useSession();
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const after = useRef(0);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    after.current = 0;
    const pull = async () => {
      try {
        for (;;) {
          const page = await client.audit(botId, after.current, PAGE);
          if (!alive) return;
          if (page.length === 0) break;
          after.current = page[page.length - 1].seq;
          setEvents((old) => [...old, ...page].slice(-KEEP));
          if (page.length < PAGE) break;
        }
        setError(null);
      } catch (e) {
        if (alive) setError(e instanceof Error ? e : new Error(String(e)));
      } finally {
        if (alive) {
          setLoading(false);
          timer = setTimeout(() => void pull(), POLL_MS);
        }
      }
    };
    void pull();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [botId, client]);

  const shown = [...events].reverse();
  return (
    <div>
      <Status loading={loading} error={error} hasData={events.length > 0} />
      {!loading && events.length === 0 && !error && <p className="muted">No audit events.</p>}
      <ol className="timeline" data-testid="audit-timeline">
        {shown.map((e) => (
          <li key={e.seq} className={`tone-${tone(e.kind, e.detail)}`} data-testid="audit-event" title={`#${e.seq} ${e.hash}`}>
            <span className="small muted">{shortTime(e.time)}</span> <span className="badge kind">{kindLabel(e.kind)}</span>{' '}
            <span data-testid="audit-text">{Object.keys(e.detail).length > 0 ? describe(e.kind, e.detail, rules, quote) : e.summary}</span>
            {e.actor && e.actor !== 'system' && <span className="muted small"> · by {e.actor}</span>}
            {e.signal_id && (
              <>
                {' '}
                <a href={href({ page: 'signal', id: e.signal_id })}>signal</a>
              </>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
