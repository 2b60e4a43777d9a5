// A Node module-resolution hook for scripts that import the end-to-end helpers (tests/e2e/*.ts)
// outside vitest (scripts/soak.ts): those files import each other as `./harness.js`, which vite
// maps to the `.ts` source; plain Node does not. Registered with `module.register`, this retries
// a relative `.js` specifier that does not resolve as the `.ts` file beside it.

/** Node's `resolve` hook context (the parts used here). */
interface ResolveContext {
  parentURL?: string;
}
/** Node's `resolve` hook result. */
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<ResolveResult>;

/** Resolves `specifier`; a relative `x.js` that does not exist is resolved as `x.ts`. */
export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (specifier.startsWith(".") && specifier.endsWith(".js")) return next(`${specifier.slice(0, -3)}.ts`, context);
    throw err;
  }
}
