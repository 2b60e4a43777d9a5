// The New bot form's spec editor end to end, at desktop (1440×900) and phone (390×844) widths: a
// declarative spec typed in the editor is validated as it is typed (no click: the engine's issue
// appears at its path, then "Valid" once fixed), backtested on the stored R2 history before
// anything is saved (the report's equity curve and round trips, the same run as the API's), and
// started as a paper bot in one click (even with the form's mode on "live"). Screenshots go to
// ARTIFACTS. Env as views.test.mjs: KEEL_URL, KEEL_ADMIN_TOKEN, KEEL_SIM_URL (the bots'
// simulator), KEEL_STACK_SIM_URL (the Worker's own simulator, where imports read candles).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ARTIFACTS, KEEL_ADMIN_TOKEN, KEEL_SIM_URL, KEEL_STACK_SIM_URL, api, launch, login, requireEnv, seedCandles } from './browser.mjs';

const RUN = Date.now().toString(36);
const WAIT = { timeout: 20000 };
/** Imported into R2 as binance spot (views.test.mjs backtests BNBUSDT linear, fetched). */
const SYMBOL = 'BNBUSDT';
let browser;
let from = '';
let to = '';
const apiDate = (ms) => new Date(ms).toISOString().replace(/:00\.000Z$/, 'Z');

/** Long while the fast SMA is above the slow one for two closes, flat otherwise. */
function spec(name) {
  return {
    name,
    version: 1,
    params: { fast: { type: 'int', default: 3, min: 1, max: 50 }, slow: { type: 'int', default: 12, min: 2, max: 200 } },
    factors: { f: { kind: 'sma', args: { n: '$fast' } }, s: { kind: 'sma', args: { n: '$slow' } } },
    target: { expr: { if: [{ for_bars: [2, { gt: ['f', 's'] }] }, 1, 0] }, min: 0, max: 1 },
  };
}

before(async () => {
  requireEnv();
  browser = await launch();
  // Every bar closed by now (the import reads closed bars only).
  const start = await seedCandles(SYMBOL, 240, '600', 22, -2, KEEL_STACK_SIM_URL);
  from = apiDate(start);
  to = apiDate(start + 240 * 60000);
  const imported = await api('POST', '/data/import', { exchange: 'binance', market: 'spot', symbol: SYMBOL, timeframe: '1m', from, to });
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  assert.ok(imported.body.imported >= 200, `imported ${imported.body.imported} candles`);
});

after(async () => {
  await browser?.close();
});

for (const [name, viewport] of [
  ['desktop', { width: 1440, height: 900 }],
  ['phone', { width: 390, height: 844 }],
]) {
  test(
    `a spec written in the editor is validated as typed, backtested on stored history and started as a paper bot (${name})`,
    { timeout: 180000 },
    async () => {
      const id = `spec-ed-${name}-${RUN}`;
      const specName = `editor_${name}_${RUN}`.replace(/[^a-z0-9_]/g, '_');
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.setDefaultTimeout(15000);
      await login(page, KEEL_ADMIN_TOKEN);
      await page.goto(`${process.env.KEEL_URL.replace(/\/$/, '')}/#/new`);
      await page.getByTestId('bot-editor').waitFor();
      await page.getByTestId('field-id').fill(id);
      await page.getByTestId('field-name').fill(`Spec editor ${name}`);
      // "Start paper bot" runs it on paper whatever the form's mode says.
      await page.getByTestId('field-mode').selectOption('live');
      await page.getByTestId('field-base_url').fill(KEEL_SIM_URL);
      await page.getByTestId('field-sizing.mode').selectOption('fixed_quote');
      await page.getByTestId('field-sizing.value').fill('100');
      await page.getByTestId('field-source').selectOption('strategy');
      const fields = page.getByTestId('strategy-fields');
      await fields.getByTestId('kind-spec').click();
      await fields.getByTestId('strategy-symbol').fill(SYMBOL);
      await fields.getByTestId('strategy-timeframe').selectOption('1m');
      // Typed with a misspelt factor: the engine's verdict appears at the path, without a click.
      const broken = spec(specName);
      broken.factors.s.kind = 'smaa';
      const box = fields.getByTestId('strategy-spec');
      await box.fill(JSON.stringify(broken, null, 2));
      const issue = fields.locator('[data-testid="spec-issue"][data-path="factors.s.kind"]');
      await issue.waitFor(WAIT);
      assert.match(await issue.innerText(), /smaa/);
      await page.screenshot({ path: `${ARTIFACTS}spec-editor-issue-${name}.png`, fullPage: true });
      // Fixed: "Valid", with its warm-up, still without a click.
      await box.fill(JSON.stringify(spec(specName), null, 2));
      await fields
        .getByTestId('spec-result')
        .filter({ hasText: /^Valid: warm-up \d+ bars$/ })
        .waitFor(WAIT);
      assert.equal(await fields.locator('[data-testid="spec-issue"]').count(), 0);
      // The param inputs keep what was typed for the template's spec: set this spec's values.
      await fields.getByTestId('param-fast').fill('3');
      await fields.getByTestId('param-slow').fill('12');
      // Backtest on the stored history before saving: the report of the same run as the API's.
      const tryout = page.getByTestId('strategy-tryout');
      assert.equal(await tryout.getByTestId('try-source').inputValue(), 'stored');
      await tryout.getByTestId('try-from').fill(from);
      await tryout.getByTestId('try-to').fill(to);
      await tryout.getByTestId('tryout-backtest').click();
      const report = tryout.getByTestId('backtest-report');
      await report.waitFor({ timeout: 60000 });
      const trips = await report.getByTestId('backtest-trip').count();
      const net = await report.getByTestId('metric-net-pnl').getAttribute('title');
      await report.getByTestId('pnl-chart').locator('canvas').first().waitFor(WAIT);
      assert.equal(await report.getByTestId('open-html-report').count(), 0);
      assert.equal((await api('GET', `/bots/${id}`)).status, 404, 'nothing is saved by a backtest');
      await page.screenshot({ path: `${ARTIFACTS}spec-editor-backtest-${name}.png`, fullPage: true });
      // One click: a paper bot running this spec.
      await tryout.getByTestId('start-paper-bot').click();
      await page.getByTestId('bot-created').waitFor(WAIT);
      const read = await api('GET', `/bots/${id}`);
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.mode, 'paper');
      assert.equal(read.body.source, 'strategy');
      assert.equal(read.body.strategy_spec.name, specName);
      assert.deepEqual(read.body.instruments, [SYMBOL]);
      assert.equal(read.body.timeframe, '1m');
      // The try-out was the API's run of this strategy with the bot's own sizing and risk limits.
      const direct = await api('POST', '/backtest', {
        spec: spec(specName),
        params: { fast: 3, slow: 12 },
        exchange: 'binance',
        market: 'spot',
        symbol: SYMBOL,
        timeframe: '1m',
        from,
        to,
        source: 'stored',
        initial_capital: '10000',
        slippage_bps: '0',
        fill: 'next_open',
        bot: { sizing: read.body.sizing, risk: read.body.risk },
      });
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      assert.equal(direct.body.bars, 240);
      assert.ok(
        direct.body.metrics.round_trips >= 1,
        `the spec trades on the stored history (${direct.body.metrics.round_trips} round trips)`,
      );
      assert.equal(trips, direct.body.trades.length);
      assert.equal(net, direct.body.metrics.net_pnl);
      const strat = await api('GET', `/bots/${id}/strategy`);
      assert.equal(strat.status, 200, JSON.stringify(strat.body));
      assert.equal(strat.body.version.id, direct.body.strategy_version);
      await page.screenshot({ path: `${ARTIFACTS}spec-editor-started-${name}.png`, fullPage: true });
      await context.close();
    },
  );
}
