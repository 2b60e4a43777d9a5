/**
 * What an edited bot config changes: the JSON merge patch `PATCH /bots/{id}` takes (RFC 7386:
 * changed leaves, `null` for removed keys; arrays replace whole) and the field-level diff shown to
 * the operator before saving, in the audit's `path: old → new` form. Pure functions, tested.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObj = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Structural equality of two JSON values. */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canon(v[k])]),
    );
  return v;
}

/** The merge patch turning `before` into `after` (empty object when nothing changed). */
export function mergePatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) {
    const old = before[k];
    if (isObj(old) && isObj(v)) {
      const inner = mergePatch(old, v);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else if (!same(old, v)) {
      out[k] = v;
    }
  }
  for (const k of Object.keys(before)) if (!(k in after) && before[k] !== null) out[k] = null;
  return out;
}

/** One changed field. */
export interface FieldChange {
  path: string;
  old: unknown;
  new: unknown;
}

/** Every changed leaf with its old and new value, `risk.max_daily_loss` style paths. */
export function changes(before: unknown, after: unknown, prefix = ''): FieldChange[] {
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changes(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return same(before, after) ? [] : [{ path: prefix || '.', old: before, new: after }];
}

/** A value as the diff shows it: strings bare, absent as "—", the rest as JSON. */
export function shown(v: unknown): string {
  if (v === undefined || v === null) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
