import { describe, expect, it } from 'vitest';
import { amount, compare, isDust, mul, positionQty, price, qty, shownPlaces, signedAmount, signedMoney, sub, sum } from './numbers';

describe('numbers on screen', () => {
  it('prices follow the tick, quantities the step', () => {
    expect(price('65975.0672132996126439242945', { tick: '0.01', step: '0.00001' })).toBe('65,975.07');
    expect(qty('0.0122877', { tick: '0.01', step: '0.00001' })).toBe('0.01229');
    expect(price('65000', { tick: '0.10', step: null })).toBe('65,000.0');
  });
  it('without rules, at most 8 places and no trailing zeros', () => {
    expect(price('65975.0672132996126439242945', null)).toBe('65,975.0672133');
    expect(qty('0.0010000000', null)).toBe('0.001');
    expect(price(null, null)).toBe('—');
  });
  it('money: currency precision, sign for gains only', () => {
    expect(amount('-0.3996679610000000', 'USDT')).toBe('-0.40');
    expect(signedAmount('1.2', 'USDT')).toBe('+1.20');
    expect(signedAmount('0', 'USDT')).toBe('0.00');
    expect(signedMoney('-3.456', 'USDT')).toBe('-3.46 USDT');
  });
  it('sums exactly, whatever the scales', () => {
    expect(sum(['0.1', '0.2'])).toBe('0.3');
    expect(sum(['10000.00', '-0.3996679610000000', '12'])).toBe('10011.6003320390000000');
    expect(sum([])).toBe('0');
    expect(sub('1', '-0.5')).toBe('1.5');
    expect(sub('1', '2.25')).toBe('-1.25');
    expect(mul('0.001', '65000.5')).toBe('65.0005');
  });
  it('compares exactly', () => {
    expect(compare('0.30', '0.3')).toBe(0);
    expect(compare('-0.0000001', '0')).toBe(-1);
    expect(compare('100000000000000000000.1', '100000000000000000000')).toBe(1);
  });
  it('a position below one lot step reads as dust', () => {
    const p = { tick: '0.01', step: '0.00001000' };
    expect(positionQty('0.000009', p)).toBe('< 0.00001');
    expect(positionQty('-0.000009', p)).toBe('< 0.00001');
    expect(positionQty('0.00001', p)).toBe('0.00001');
    expect(positionQty('0.000009', null)).toBe('0.000009');
    expect(isDust('0', p)).toBe(false);
  });
  it('counts shown places', () => {
    expect(shownPlaces('65,975.07')).toBe(2);
    expect(shownPlaces('3')).toBe(0);
  });
});
