/**
 * The webhook URL and a ready TradingView alert message for a bot (docs/trading.md). Pure functions
 * so the exact text the operator pastes into TradingView is unit-tested.
 */

/** Placeholder shown when the secret is not known any more (it is returned only at creation). */
export const SECRET_PLACEHOLDER = '<your webhook secret>';

/** The two message styles TradingView strategies can use. */
export type AlertStyle = 'target' | 'orders';

/** `https://host/webhook/{bot}` on the dashboard's own origin (the Worker serves both). */
export function webhookUrl(origin: string, botId: string): string {
  return `${origin.replace(/\/$/, '')}/webhook/${encodeURIComponent(botId)}`;
}

/**
 * The alert message. `target` trades to `{{strategy.position_size}}`, which heals missed or
 * duplicated alerts; `orders` forwards each strategy order as buy/sell with its size.
 */
export function alertMessage(secret: string | null, style: AlertStyle): string {
  const base = {
    secret: secret ?? SECRET_PLACEHOLDER,
    id: '{{strategy.order.id}}-{{timenow}}',
  };
  const body =
    style === 'target'
      ? {
          ...base,
          action: 'target',
          symbol: '{{ticker}}',
          target_position: '{{strategy.position_size}}',
          order_type: 'market',
          price: '{{close}}',
          time: '{{timenow}}',
        }
      : {
          ...base,
          action: '{{strategy.order.action}}',
          symbol: '{{ticker}}',
          qty: '{{strategy.order.contracts}}',
          order_type: 'market',
          price: '{{close}}',
          time: '{{timenow}}',
        };
  return JSON.stringify(body, null, 2);
}
