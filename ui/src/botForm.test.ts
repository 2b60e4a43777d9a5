import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, configToValues, valuesToConfig } from './botForm';

describe('bot form model', () => {
  it('round-trips a config without changing decimals or types', () => {
    const cfg = {
      ...DEFAULT_CONFIG,
      id: 'btc-trend',
      name: 'BTC trend',
      instruments: ['BTCUSDT', 'ETHUSDT'],
      alerts: { email: 'ops@example.com' },
    };
    const { config, errors } = valuesToConfig(configToValues(cfg));
    expect(errors).toEqual({});
    expect(config).toEqual(cfg);
    expect(typeof config.risk.max_daily_loss).toBe('string');
    expect(typeof config.risk.max_trades_per_day).toBe('number');
  });

  it('sends base_url null when empty, a string otherwise', () => {
    const v = configToValues({ ...DEFAULT_CONFIG, id: 'a', name: 'a' });
    expect(valuesToConfig(v).config.base_url).toBeNull();
    expect(valuesToConfig({ ...v, base_url: 'http://127.0.0.1:9000' }).config.base_url).toBe('http://127.0.0.1:9000');
  });

  const bad: [string, string, string][] = [
    ['risk.max_trades_per_day', '1.5', 'whole number'],
    ['risk.max_daily_loss', '1e3', 'decimal'],
    ['sizing.value', '', 'decimal'],
    ['id', '  ', 'required'],
  ];
  for (const [path, value, msg] of bad) {
    it(`names ${path} when it is "${value}"`, () => {
      const v = { ...configToValues({ ...DEFAULT_CONFIG, id: 'a', name: 'a' }), [path]: value };
      expect(valuesToConfig(v).errors[path]).toContain(msg);
    });
  }
});
