/** The frame of every page: header with navigation and the Emergency button, and the halt banner. */
import { useState, type ReactNode } from 'react';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { href } from '../route';
import { EmergencyPanel } from './EmergencyPanel';

/** Red banner across the top while the platform is halted; visible to viewers too. */
function HaltBanner() {
  const { client } = useSession();
  const health = usePoll(() => client.health(), 'layout-health');
  if (health.error && !health.data) {
    return <div className="banner warn">Platform health unavailable: {health.error.message}</div>;
  }
  if (!health.data?.halted) return null;
  return (
    <div className="banner halted" role="alert" data-testid="halt-banner">
      PLATFORM HALTED{health.data.halted_at ? ` since ${health.data.halted_at}` : ''}: no new orders are sent.
    </div>
  );
}

/** Header, banner and page content. */
export function Layout({ children, onLogout }: { children: ReactNode; onLogout: () => void }) {
  const { role, canWrite } = useSession();
  const [emergency, setEmergency] = useState(false);
  return (
    <>
      <header className="topbar">
        <a className="brand" href={href({ page: 'overview' })}>
          Keel
        </a>
        <nav className="row">
          <a href={href({ page: 'overview' })}>Overview</a>
          {canWrite && <a href={href({ page: 'new' })}>New bot</a>}
          <a href={href({ page: 'compare' })} data-testid="nav-compare">
            Compare
          </a>
          <a href={href({ page: 'portfolio' })} data-testid="nav-portfolio">
            Portfolio
          </a>
          <a href={href({ page: 'calls' })} data-testid="nav-calls">
            Calls
          </a>
          {canWrite && (
            <a href={href({ page: 'backtest' })} data-testid="nav-backtest">
              Backtest
            </a>
          )}
          {canWrite && (
            <a href={href({ page: 'optimize' })} data-testid="nav-optimize">
              Optimize
            </a>
          )}
        </nav>
        <div className="row">
          <span className="badge role" data-testid="role">
            {role}
          </span>
          {canWrite && (
            <button className="danger" onClick={() => setEmergency(true)} data-testid="open-emergency">
              Emergency
            </button>
          )}
          <button onClick={onLogout}>Log out</button>
        </div>
      </header>
      <HaltBanner />
      {children}
      {emergency && <EmergencyPanel onClose={() => setEmergency(false)} />}
    </>
  );
}
