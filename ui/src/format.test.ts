import { describe, expect, it } from 'vitest';
import raw from '../../engine/test_data/format/vectors.json?raw';
import { formatLimit, formatMoney, formatPrice, formatQty, formatUsage } from './format';

interface Vector {
  fn: 'price' | 'qty' | 'money' | 'limit' | 'usage';
  args: (string | null)[];
  want: string;
}

// The same vectors the engine's `format::tests::shared_vectors` checks: CLI, report and
// dashboard print the same text for the same amount.
const vectors = JSON.parse(raw) as Vector[];

describe('numbers for humans (shared vectors with the engine)', () => {
  it('has the vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(20));
  for (const v of vectors) {
    it(`${v.fn}(${v.args.map(String).join(', ')}) = ${v.want}`, () => {
      const [a, b] = v.args;
      const got =
        v.fn === 'price'
          ? formatPrice(a ?? '', b ?? '')
          : v.fn === 'qty'
            ? formatQty(a ?? '', b ?? '')
            : v.fn === 'money'
              ? formatMoney(a ?? '', b ?? '')
              : v.fn === 'limit'
                ? formatLimit(a)
                : formatUsage(a ?? '', b);
      expect(got).toBe(v.want);
    });
  }
});
