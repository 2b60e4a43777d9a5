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

describe('optional limits', () => {
  it('an empty risk limit or strategy is left out (not enforced), not sent as ""', () => {
    const v = {
      ...configToValues({ ...DEFAULT_CONFIG, id: 'a', name: 'a' }),
      'risk.max_leverage': '',
      'risk.cooldown_secs': ' ',
      strategy: '',
    };
    const { config, errors } = valuesToConfig(v);
    expect(errors).toEqual({});
    expect('max_leverage' in config.risk).toBe(false);
    expect('cooldown_secs' in config.risk).toBe(false);
    expect('strategy' in config).toBe(false);
    expect(config.risk.max_daily_loss).toBe('100');
  });
});
