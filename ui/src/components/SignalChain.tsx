/** The causal chain of one signal: payload, every check, orders, fills and the P&L effect. */
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { formatDecimal, formatSigned, pnlClass, shortTime } from '../money';
import { href } from '../route';
import { Status } from './Status';
import { FillsTable, OrdersTable } from './Tables';

/** Polled like every page: fills of a resting order may still arrive. */
export function SignalChainPage({ id }: { id: string }) {
  const { client } = useSession();
  const chain = usePoll(() => client.signalChain(id), `chain-${id}`);
  const c = chain.data;
  return (
    <main data-testid="signal-chain">
      <h1>Signal {id}</h1>
      <Status loading={chain.loading} error={chain.error} hasData={!!c} />
      {c && (
        <>
          <p>
            Bot <a href={href({ page: 'bot', id: c.signal.bot_id })}>{c.signal.bot_id}</a> · received {shortTime(c.signal.received_at)} ·
            outcome <strong>{c.signal.outcome}</strong>
          </p>
          <section className="panel">
            <h2>Payload</h2>
            <pre className="code">{JSON.stringify(c.signal.payload, null, 2)}</pre>
          </section>
          <section className="panel">
            <h2>Checks</h2>
            {c.checks.length === 0 ? (
              <p className="muted">No checks recorded.</p>
            ) : (
              <table className="table stack">
                <thead>
                  <tr>
                    <th>Rule</th>
                    <th>Outcome</th>
                    <th className="num">Value</th>
                    <th className="num">Limit</th>
                    <th>Note</th>
                  </tr>
                </thead>
                <tbody>
                  {c.checks.map((k, i) => (
                    <tr key={`${k.rule}-${i}`}>
                      <td data-label="Rule">{k.rule}</td>
                      <td data-label="Outcome" className={k.outcome === 'pass' ? 'pos' : 'neg'}>
                        {k.outcome}
                      </td>
                      <td data-label="Value" className="num">
                        {formatDecimal(k.value)}
                      </td>
                      <td data-label="Limit" className="num">
                        {formatDecimal(k.limit)}
                      </td>
                      <td data-label="Note">{k.message ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="panel">
            <h2>Orders</h2>
            <OrdersTable rows={c.orders} />
          </section>
          <section className="panel">
            <h2>Fills</h2>
            <FillsTable rows={c.fills} />
          </section>
          <section className="panel">
            <h2>P&amp;L effect</h2>
            {c.pnl_effect ? (
              <p>
                Realized <span className={pnlClass(c.pnl_effect.realized)}>{formatSigned(c.pnl_effect.realized)}</span> · fees{' '}
                {formatDecimal(c.pnl_effect.fees_quote)}
              </p>
            ) : (
              <p className="muted">None.</p>
            )}
          </section>
        </>
      )}
    </main>
  );
}
