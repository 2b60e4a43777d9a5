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
/** Where screenshots are kept as test artifacts. */
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

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
