// Shared setup for the browser tests: Debian's chromium driven by playwright-core (no browser
// download), the stack's URL and admin token from the environment, and a screenshots folder.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** Base URL of the running stack (edge Worker serving the dashboard and the API). */
export const KEEL_URL = (process.env.KEEL_URL ?? '').replace(/\/$/, '');
/** Bootstrap admin token of that stack. */
export const KEEL_ADMIN_TOKEN = process.env.KEEL_ADMIN_TOKEN ?? '';
/** Optional `base_url` for the test bot (the local exchange simulator); empty = the exchange's default. */
export const KEEL_BOT_BASE_URL = process.env.KEEL_SIM_URL ?? '';
/** Where screenshots are kept as test artifacts (the repository's .keel/e2e-artifacts/dashboard/ unless set). */
export const ARTIFACTS = process.env.KEEL_E2E_ARTIFACTS
  ? `${process.env.KEEL_E2E_ARTIFACTS.replace(/\/$/, '')}/`
  : fileURLToPath(new URL('../../.keel/e2e-artifacts/dashboard/', import.meta.url));
/** The exchange simulator's URL (its `/__admin` API seeds candles); empty when not given. */
export const KEEL_SIM_URL = (process.env.KEEL_SIM_URL ?? '').replace(/\/$/, '');
/**
 * The simulator the Worker itself reads candles from for `POST /backtest` (the e2e stack's shared
 * one; the bots' own simulator is KEEL_SIM_URL). Falls back to KEEL_SIM_URL (a local `npm start`
 * has one simulator for both).
 */
export const KEEL_STACK_SIM_URL = (process.env.KEEL_STACK_SIM_URL || KEEL_SIM_URL).replace(/\/$/, '');

/** Fail fast with a clear message instead of timing out against nothing. */
export function requireEnv() {
  if (!KEEL_URL || !KEEL_ADMIN_TOKEN) {
    throw new Error('set KEEL_URL (e.g. http://127.0.0.1:8787) and KEEL_ADMIN_TOKEN to run the browser tests against a running stack');
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}

/** Headless chromium with the flags this workplace needs (no sandbox, no background network). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Log in through the form like an operator would. */
export async function login(page, token) {
  await page.goto(`${KEEL_URL}/`);
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('login').click();
  await page.getByTestId('role').waitFor();
}

/** Call the API directly (test setup only: the UI is what is under test). */
export async function api(method, path, body, token = KEEL_ADMIN_TOKEN) {
  const res = await fetch(`${KEEL_URL}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Send a TradingView-style alert to a bot's webhook. */
export async function sendAlert(botId, alert) {
  const res = await fetch(`${KEEL_URL}/webhook/${encodeURIComponent(botId)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(alert),
  });
  const text = await res.text();
  return { status: res.status, body: text };
}

/**
 * Run the confirmed action behind a button of an action group (a locator of `bot-actions-<id>` or
 * `global-actions`) and return what the dashboard shows of the API's answer for it.
 */
export async function confirmAction(page, group, testId) {
  const button = group.getByTestId(testId);
  const label = (await button.innerText()).trim();
  await button.click();
  await page.getByTestId('confirm-dialog').waitFor();
  await page.getByTestId('confirm-ok').click();
  const result = group.getByTestId('action-result').filter({ hasText: `${label}` });
  await result.waitFor();
  return { text: await result.innerText(), ok: (await result.getAttribute('class')) === 'ok' };
}

/**
 * Seed the simulator (`simUrl`, the bots' one unless given) with `count` deterministic 1-minute
 * candles, the last `ahead` of them after now, so fills made during the test fall inside a candle
 * (its price becomes the last close). Answers the first candle's open time.
 */
export async function seedCandles(symbol, count, startPrice, seed, ahead = 15, simUrl = KEEL_SIM_URL) {
  if (!simUrl) throw new Error('KEEL_SIM_URL is needed to seed candles');
  const start = (Math.floor(Date.now() / 60000) - count + ahead) * 60000;
  const res = await fetch(`${simUrl}/__admin/klines`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ symbol, interval: '1m', generate: { count, start_ms: start, start_price: startPrice, step_bps: 15, seed } }),
  });
  if (!res.ok) throw new Error(`seeding ${symbol} candles: ${res.status} ${await res.text()}`);
  return start;
}

/** Places a decimal string shows (`65,975.07` → 2). */
export function placesShown(text) {
  const m = /\.(\d+)/.exec(text);
  return m ? m[1].length : 0;
}

/** Places a tick or step allows (`0.01000000` → 2). */
export function placesAllowed(increment) {
  const frac = (increment.split('.')[1] ?? '').replace(/0+$/, '');
  return frac.length;
}

/**
 * Every cell the page marks with `data-tick` / `data-step` (prices and quantities), with the
 * places it shows and the places its instrument allows; the caller asserts on them.
 */
export async function precisionCells(page) {
  return page.evaluate(() =>
    [...globalThis.document.querySelectorAll('[data-tick],[data-step]')]
      .filter((el) => el.getClientRects().length > 0)
      .map((el) => ({
        text: el.textContent.trim(),
        increment: el.getAttribute('data-tick') ?? el.getAttribute('data-step'),
        kind: el.hasAttribute('data-tick') ? 'price' : 'qty',
        where: el.closest('[data-testid]')?.getAttribute('data-testid') ?? '',
      })),
  );
}

/** Every visible number in the page's figures and table cells (money included), as text. */
export async function numberTexts(page) {
  return page.evaluate(() =>
    [...globalThis.document.querySelectorAll('td.num, .figure .big, .day .num, [data-testid="audit-text"]')]
      .filter((el) => el.getClientRects().length > 0)
      .flatMap((el) => el.textContent.match(/[+-]?\d[\d,]*\.\d+/g) ?? []),
  );
}
