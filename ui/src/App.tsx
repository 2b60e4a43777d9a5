/**
 * The root: login gate, then the session (client + role from `GET /whoami`) and the routed page.
 * A 401 from `whoami` drops the stored token and returns to the login form.
 */
import { useEffect, useMemo, useState } from 'react';
import { ApiError, createClient, type WhoAmI } from './api';
import { BacktestPage } from './components/BacktestPage';
import { BotEditor } from './components/BotEditor';
import { BotPage } from './components/BotPage';
import { CallsPage } from './components/CallsPage';
import { ComparePage } from './components/ComparePage';
import { Layout } from './components/Layout';
import { Login } from './components/Login';
import { OptimizePage } from './components/OptimizePage';
import { Overview } from './components/Overview';
import { PortfolioPage } from './components/PortfolioPage';
import { SignalChainPage } from './components/SignalChain';
import { SessionContext, type Session } from './context';
import { useRoute, type Route } from './route';
import { clearToken, loadToken, saveToken } from './session';

function Page({ route, canWrite }: { route: Route; canWrite: boolean }) {
  switch (route.page) {
    case 'bot':
      return <BotPage key={route.id} id={route.id} />;
    case 'new':
      return canWrite ? <BotEditor /> : <Overview />;
    case 'signal':
      return <SignalChainPage key={route.id} id={route.id} />;
    case 'backtest':
      return canWrite ? <BacktestPage key={route.bot ?? ''} bot={route.bot} /> : <Overview />;
    case 'portfolio':
      return <PortfolioPage />;
    case 'optimize':
      return canWrite ? <OptimizePage /> : <Overview />;
    case 'calls':
      return <CallsPage />;
    case 'compare':
      return <ComparePage a={route.a} b={route.b} period={route.period} />;
    default:
      return <Overview />;
  }
}

/** The app. */
export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [who, setWho] = useState<WhoAmI | null>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const route = useRoute();
  const client = useMemo(() => (token ? createClient({ token }) : null), [token]);

  useEffect(() => {
    if (!client || who) return;
    let alive = true;
    client.whoami().then(
      (w) => alive && setWho(w),
      (e: unknown) => {
        if (!alive) return;
        clearToken();
        setToken(null);
        setNotice(
          e instanceof ApiError && e.status === 401 ? 'Your token was refused; log in again.' : `Could not reach the API: ${String(e)}`,
        );
      },
    );
    return () => {
      alive = false;
    };
  }, [client, who]);

  const logout = () => {
    clearToken();
    setToken(null);
    setWho(null);
  };

  if (!token || !client) {
    return (
      <Login
        notice={notice}
        onLogin={(t, w) => {
          saveToken(t);
          setToken(t);
          setWho(w);
          setNotice(undefined);
        }}
      />
    );
  }
  if (!who) return <main className="muted">Checking token…</main>;
  const session: Session = { client, role: who.role, canWrite: who.role === 'admin' };
  return (
    <SessionContext.Provider value={session}>
      <Layout onLogout={logout}>
        <Page route={route} canWrite={session.canWrite} />
      </Layout>
    </SessionContext.Provider>
  );
}
