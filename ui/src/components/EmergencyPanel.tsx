/**
 * The emergency panel: one click from any page (header button), every bot's controls and the
 * global kill switch in one place.
 */
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { StateBadge } from './Badges';
import { BotActions } from './BotActions';
import { GlobalActions } from './GlobalActions';
import { Status } from './Status';

/** A side drawer; closes on the backdrop or the close button. */
export function EmergencyPanel({ onClose }: { onClose: () => void }) {
  const { client } = useSession();
  const bots = usePoll(() => client.listBots(), 'emergency-bots');
  const health = usePoll(() => client.health(), 'emergency-health');
  const reload = () => {
    bots.reload();
    health.reload();
  };
  const halted = health.data?.halted ?? false;
  return (
    <div className="drawer-backdrop" onClick={onClose}>
      <aside className="drawer" aria-label="Emergency panel" data-testid="emergency-panel" onClick={(e) => e.stopPropagation()}>
        <div className="row between">
          <h2>Emergency</h2>
          <button onClick={onClose} aria-label="Close emergency panel">
            ✕
          </button>
        </div>
        <section>
          <h3>
            Platform {halted ? <span className="badge state-halted">halted</span> : <span className="badge state-running">running</span>}
          </h3>
          <Status loading={health.loading} error={health.error} hasData={!!health.data} />
          <GlobalActions halted={halted} botCount={bots.data?.length ?? 0} onDone={reload} />
        </section>
        <section>
          <h3>Bots</h3>
          <Status loading={bots.loading} error={bots.error} hasData={!!bots.data} />
          {bots.data?.length === 0 && <p className="muted">No bots.</p>}
          <ul className="plain">
            {bots.data?.map((b) => (
              <li key={b.id} className="card">
                <div className="row between">
                  <span>
                    <strong>{b.name || b.id}</strong> <span className="muted small">{b.id}</span>
                  </span>
                  <StateBadge state={b.state} />
                </div>
                <BotActions botId={b.id} state={b.state} onDone={reload} />
              </li>
            ))}
          </ul>
        </section>
      </aside>
    </div>
  );
}
