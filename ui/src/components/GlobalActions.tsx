/** Platform-wide kill switch: halt, panic close (halt + flatten every bot), resume. */
import { useSession } from '../context';
import { ActionButton } from './ActionButton';
import { useLastOutcome } from './ActionResultView';

/** Shown in the emergency panel; `halted` picks between halt and resume. */
export function GlobalActions({ halted, botCount, onDone }: { halted: boolean; botCount: number; onDone?: () => void }) {
  const { client, canWrite } = useSession();
  const last = useLastOutcome();
  if (!canWrite) return null;
  return (
    <div className="action-group" data-testid="global-actions">
      <div className="row wrap">
        {!halted && (
          <ActionButton
            label="Halt all"
            title="Halt the whole platform?"
            consequence={`All ${botCount} bot(s) will stop placing new orders; every signal answers 423 until you resume. Positions and resting orders are left as they are.`}
            run={() => client.halt(false)}
            danger
            testId="halt"
            onOutcome={last.onOutcome}
            onDone={onDone}
          />
        )}
        <ActionButton
          label="Panic close"
          title="Panic close: halt and flatten everything?"
          consequence={`The platform will halt, then all ${botCount} bot(s) cancel every open order and close every open position at market with reduce-only orders. This realizes all open P&L now.`}
          run={() => client.halt(true)}
          danger
          testId="panic-close"
          onOutcome={last.onOutcome}
          onDone={onDone}
        />
        {halted && (
          <ActionButton
            label="Resume platform"
            title="Resume the platform?"
            consequence="The global halt is lifted: bots that are not paused accept signals and trade again on the next alert."
            run={() => client.resumePlatform()}
            testId="resume-platform"
            onOutcome={last.onOutcome}
            onDone={onDone}
          />
        )}
      </div>
      {last.view}
    </div>
  );
}
