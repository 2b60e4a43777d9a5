import { describe, expect, it } from 'vitest';
import { age, formatDecimal, formatSigned, pnlClass, sign, usagePct } from './money';

describe('decimal display (no float rounding)', () => {
  const cases: [string | null, string, string, -1 | 0 | 1][] = [
    // input, formatDecimal, formatSigned, sign
    ['0', '0', '0', 0],
    ['-0.00', '−0.00', '−0.00', 0],
    ['12.34', '12.34', '+12.34', 1],
    ['-1234567.891', '−1,234,567.891', '−1,234,567.891', -1],
    ['0.1000000000000000001', '0.1000000000000000001', '+0.1000000000000000001', 1],
    ['99999999999999999999.99', '99,999,999,999,999,999,999.99', '+99,999,999,999,999,999,999.99', 1],
    ['abc', 'abc', 'abc', 0],
    [null, '—', '—', 0],
  ];
  for (const [input, fmt, signed, sg] of cases) {
    it(`${String(input)}`, () => {
      expect(formatDecimal(input)).toBe(fmt);
      expect(formatSigned(input)).toBe(signed);
      expect(sign(input)).toBe(sg);
    });
  }

  it('colours gains, losses and zero', () => {
    expect([pnlClass('1'), pnlClass('-0.01'), pnlClass('0.000')]).toEqual(['pos', 'neg', 'zero']);
  });

  it('ages', () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    expect(age(null, now)).toBe('never');
    expect(age('2026-11-24T11:59:48Z', now)).toBe('12s');
    expect(age('2026-11-24T11:55:00Z', now)).toBe('5m');
    expect(age('2026-11-24T09:00:00Z', now)).toBe('3h');
    expect(age('2026-11-22T12:00:00Z', now)).toBe('2d');
  });

  it('usage share is capped and safe on a zero limit', () => {
    expect(usagePct('40', '100')).toBe(40);
    expect(usagePct('-150', '100')).toBe(100);
    expect(usagePct(3, 0)).toBe(0);
  });
});
