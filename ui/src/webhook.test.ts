import { describe, expect, it } from 'vitest';
import { SECRET_PLACEHOLDER, alertMessage, webhookUrl } from './webhook';

describe('webhook info', () => {
  it('builds the URL on the same origin', () => {
    expect(webhookUrl('https://keel.example.com/', 'btc trend')).toBe('https://keel.example.com/webhook/btc%20trend');
  });

  it('target message trades to the strategy position', () => {
    const m = JSON.parse(alertMessage('s3cret', 'target'));
    expect(m).toMatchObject({ secret: 's3cret', action: 'target', target_position: '{{strategy.position_size}}', symbol: '{{ticker}}' });
    expect(m.id).toContain('{{timenow}}');
  });

  it('orders message forwards the order action, placeholder without a secret', () => {
    const m = JSON.parse(alertMessage(null, 'orders'));
    expect(m).toMatchObject({ secret: SECRET_PLACEHOLDER, action: '{{strategy.order.action}}', qty: '{{strategy.order.contracts}}' });
    expect(Object.keys(m).filter((k) => ['qty', 'quote_qty', 'size_pct'].includes(k))).toHaveLength(1);
  });
});
