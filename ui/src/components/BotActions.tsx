/** Pause / resume / flatten for one bot, each confirmed; hidden for viewers. */
import type { BotState } from '../api';
import { useSession } from '../context';
import { ActionButton } from './ActionButton';
import { useLastOutcome } from './ActionResultView';

/** The per-bot emergency controls, shown on the bot page and in the emergency panel. */
export function BotActions({ botId, state, onDone }: { botId: string; state?: BotState; onDone?: () => void }) {
  const { client, canWrite } = useSession();
  const last = useLastOutcome();
  // A halted platform or a bot needing attention hides whether the bot itself is paused: offer both.
  const showPause = state !== 'paused';
  const showResume = state !== 'running';
  if (!canWrite) return null;
  return (
    <div className="action-group" data-testid={`bot-actions-${botId}`}>
      <div className="row wrap">
        {showPause && (
          <ActionButton
            label="Pause"
            title={`Pause bot ${botId}?`}
            consequence={`Bot ${botId} will refuse new signals (they answer 423) and send no new orders. Open positions and resting orders stay as they are; cancels and reduce-only orders still go out.`}
            run={() => client.pauseBot(botId)}
            testId={`pause-${botId}`}
            onOutcome={last.onOutcome}
            onDone={onDone}
          />
        )}
        {showResume && (
          <ActionButton
            label="Resume"
            title={`Resume bot ${botId}?`}
            consequence={`Bot ${botId} will accept signals again and place orders on the next alert.`}
            run={() => client.resumeBot(botId)}
            testId={`resume-${botId}`}
            onOutcome={last.onOutcome}
            onDone={onDone}
          />
        )}
        <ActionButton
          label="Flatten"
          title={`Flatten bot ${botId}?`}
          consequence={`Bot ${botId} will cancel all its open orders and close every open position with reduce-only market orders, at market price.`}
          run={() => client.flattenBot(botId)}
          danger
          testId={`flatten-${botId}`}
          onOutcome={last.onOutcome}
          onDone={onDone}
        />
      </div>
      {last.view}
    </div>
  );
}
