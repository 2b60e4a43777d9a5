// Dev-only mock of Keel's admin API and webhook, for building the dashboard before the backend
// exists. It follows the contract in ui/src/api.ts; the e2e spec targets the real stack, not this.
// Usage: node dev/mock-server.mjs [port]  (serves ../dist at / too). Admin token: env
// MOCK_ADMIN_TOKEN or "dev-admin". Money uses BigInt fixed point (8 places), never floats.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const PORT = Number(process.argv[2] ?? process.env.PORT ?? 8788);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const SCALE = 100000000n;

const dec = (s) => {
  const m = /^(-?)(\d+)(?:\.(\d{1,8}))?$/.exec(String(s).trim());
  if (!m) throw new Error(`bad decimal ${s}`);
  const v = BigInt(m[2]) * SCALE + BigInt((m[3] ?? '').padEnd(8, '0'));
  return m[1] ? -v : v;
};
const str = (v) => {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % SCALE).toString().padStart(8, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / SCALE}${frac ? '.' + frac : ''}`;
};
const mul = (a, b) => (a * b) / SCALE;
const div = (a, b) => (b === 0n ? 0n : (a * SCALE) / b);
const now = () => new Date().toISOString();
const rid = (n = 8) => randomBytes(n).toString('hex');

const tokens = new Map([[process.env.MOCK_ADMIN_TOKEN ?? 'dev-admin', { id: 'bootstrap', role: 'admin' }]]);
const platform = { halted: false, halted_at: null };
const bots = new Map();

const KEYS = [
  'id',
  'name',
  'strategy',
  'exchange',
  'market',
  'mode',
  'base_url',
  'instruments',
  'sizing',
  'risk',
  'allowed_ips',
  'alerts',
  'location',
];
const RISK_KEYS = [
  'max_order_notional',
  'max_position_notional',
  'max_open_positions',
  'max_leverage',
  'max_daily_loss',
  'max_drawdown_pct',
  'max_trades_per_day',
  'cooldown_secs',
  'max_slippage_bps',
  'max_signal_age_secs',
  'require_stop_loss',
];

class HttpError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

function validate(c) {
  if (typeof c !== 'object' || c === null) throw new HttpError(400, 'invalid_json', 'body must be a JSON object');
  for (const k of Object.keys(c)) if (!KEYS.includes(k)) throw new HttpError(400, 'unknown_field', `unknown field ${k}`, k);
  for (const k of Object.keys(c.risk ?? {}))
    if (!RISK_KEYS.includes(k)) throw new HttpError(400, 'unknown_field', `unknown field risk.${k}`, `risk.${k}`);
  if (typeof c.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(c.id))
    throw new HttpError(422, 'invalid', 'id must be 1-40 lowercase letters, digits or dashes', 'id');
  if (bots.has(c.id)) throw new HttpError(409, 'exists', `bot ${c.id} already exists`, 'id');
  if (!['binance', 'bybit'].includes(c.exchange)) throw new HttpError(422, 'invalid', 'exchange must be binance or bybit', 'exchange');
  if (!['paper', 'testnet', 'live'].includes(c.mode)) throw new HttpError(422, 'invalid', 'mode must be paper, testnet or live', 'mode');
  if (!Array.isArray(c.instruments) || c.instruments.length === 0)
    throw new HttpError(422, 'invalid', 'at least one instrument', 'instruments');
  for (const k of ['max_order_notional', 'max_daily_loss', 'max_position_notional']) {
    try {
      if (dec(c.risk?.[k]) <= 0n) throw new Error();
    } catch {
      throw new HttpError(422, 'invalid', `${k} must be a positive decimal string`, `risk.${k}`);
    }
  }
  try {
    dec(c.sizing?.value);
  } catch {
    throw new HttpError(422, 'invalid', 'sizing.value must be a decimal string', 'sizing.value');
  }
}

function newBot(config) {
  return {
    config,
    state: 'running',
    version: 1,
    secret: rid(16),
    positions: new Map(),
    marks: new Map(),
    fills: [],
    orders: [],
    signals: [],
    audit: [],
    chains: new Map(),
    realized: 0n,
    fees: 0n,
    feesByAsset: new Map(),
    history: [],
    peak: 0n,
    lastSignal: null,
  };
}

function audit(b, kind, summary, signal_id = null) {
  const seq = b.audit.length + 1;
  b.audit.push({ seq, time: now(), kind, signal_id, summary, hash: rid(16) });
}

function unrealized(b) {
  let u = 0n;
  for (const [ins, p] of b.positions) u += mul(p.qty, (b.marks.get(ins) ?? p.avg) - p.avg);
  return u;
}

function snapshot(b) {
  const equity = b.realized + unrealized(b) - b.fees;
  if (equity > b.peak) b.peak = equity;
  const dd = b.peak > 0n ? div((b.peak - equity) * 100n, b.peak + dec('10000')) : 0n;
  b.history.push({ time: now(), equity: str(dec('10000') + equity), drawdown: str(dd) });
}

function trade(b, signal_id, instrument, side, qty, price) {
  const coid = `${b.config.id}-${signal_id}-0`;
  const signed = side === 'buy' ? qty : -qty;
  const p = b.positions.get(instrument) ?? { qty: 0n, avg: 0n };
  let realized = 0n;
  if (p.qty === 0n || p.qty > 0n === signed > 0n) {
    p.avg = div(mul(p.avg, p.qty < 0n ? -p.qty : p.qty) + mul(price, qty), (p.qty < 0n ? -p.qty : p.qty) + qty);
    p.qty += signed;
  } else {
    const closing = qty < (p.qty < 0n ? -p.qty : p.qty) ? qty : p.qty < 0n ? -p.qty : p.qty;
    realized = mul(closing, price - p.avg) * (p.qty > 0n ? 1n : -1n);
    p.qty += signed;
    if (p.qty > 0n === signed > 0n && p.qty !== 0n) p.avg = price;
  }
  if (p.qty === 0n) b.positions.delete(instrument);
  else b.positions.set(instrument, p);
  b.marks.set(instrument, price);
  const fee = mul(mul(qty, price), dec('0.001'));
  b.realized += realized;
  b.fees += fee;
  b.feesByAsset.set('USDT', (b.feesByAsset.get('USDT') ?? 0n) + fee);
  const order = {
    client_order_id: coid,
    signal_id,
    instrument,
    side,
    order_type: 'market',
    qty: str(qty),
    price: null,
    filled_qty: str(qty),
    status: 'filled',
    created_at: now(),
  };
  const fill = {
    trade_id: rid(6),
    client_order_id: coid,
    signal_id,
    instrument,
    side,
    qty: str(qty),
    price: str(price),
    fee: str(fee),
    fee_asset: 'USDT',
    time: now(),
  };
  b.fills.unshift(fill);
  audit(b, 'order_placed', `${side} ${str(qty)} ${instrument} market`, signal_id);
  audit(b, 'fill', `${side} ${str(qty)} ${instrument} @ ${str(price)}`, signal_id);
  snapshot(b);
  return { order, fill, realized, fee };
}

function flatten(b, reason) {
  const orders = [];
  for (const [ins, p] of [...b.positions]) {
    const sid = `${reason}-${rid(4)}`;
    const r = trade(b, sid, ins, p.qty > 0n ? 'sell' : 'buy', p.qty > 0n ? p.qty : -p.qty, b.marks.get(ins) ?? p.avg);
    orders.push(r.order);
  }
  audit(b, 'flatten', `${orders.length} closing order(s) (${reason})`);
  return orders;
}

function summary(b) {
  const today = new Date().toISOString().slice(0, 10);
  const todayPnl = b.fills.length && b.fills[0].time.startsWith(today) ? b.realized + unrealized(b) - b.fees : 0n;
  return {
    id: b.config.id,
    name: b.config.name,
    mode: b.config.mode,
    exchange: b.config.exchange,
    market: b.config.market,
    state: platform.halted ? 'halted' : b.state,
    quote_asset: 'USDT',
    today_pnl: str(todayPnl),
    open_positions: b.positions.size,
    last_signal_at: b.lastSignal,
    circuit: 'closed',
    outbox_depth: 0,
  };
}

function pnl(b) {
  const u = unrealized(b);
  const by_instrument = {};
  for (const [ins, p] of b.positions) {
    by_instrument[ins] = {
      realized: '0',
      unrealized: str(mul(p.qty, (b.marks.get(ins) ?? p.avg) - p.avg)),
      funding: '0',
      fees_quote: '0',
      position_qty: str(p.qty),
      avg_entry_price: str(p.avg),
    };
  }
  return {
    bot_id: b.config.id,
    quote_asset: 'USDT',
    method: 'average_cost',
    as_of: now(),
    realized: str(b.realized),
    unrealized: str(u),
    funding: '0',
    fees: { total_quote: str(b.fees), by_asset: Object.fromEntries([...b.feesByAsset].map(([k, v]) => [k, str(v)])) },
    net: str(b.realized + u - b.fees),
    by_instrument,
    by_day: [{ date: now().slice(0, 10), realized: str(b.realized), fees_quote: str(b.fees), funding: '0' }],
  };
}

function webhook(b, body) {
  if (!body || body.secret !== b.secret) throw new HttpError(401, 'bad_secret', 'bad secret');
  const signal_id = String(body.id ?? rid(6));
  if (b.chains.has(signal_id)) throw new HttpError(409, 'duplicate', `signal ${signal_id} already processed`);
  b.lastSignal = now();
  const record = (outcome, http_status, reason) => {
    b.signals.unshift({
      signal_id,
      received_at: now(),
      action: String(body.action),
      symbol: body.symbol ?? null,
      outcome,
      http_status,
      reason,
    });
    audit(b, 'signal', `${body.action} ${body.symbol ?? ''} → ${outcome}${reason ? ': ' + reason : ''}`, signal_id);
  };
  const chain = {
    signal: { signal_id, bot_id: b.config.id, received_at: now(), outcome: '', payload: { ...body, secret: '***' } },
    checks: [],
    orders: [],
    fills: [],
    pnl_effect: null,
  };
  b.chains.set(signal_id, chain);
  if (platform.halted || b.state === 'paused') {
    chain.signal.outcome = 'rejected';
    record('rejected', 423, platform.halted ? 'platform halted' : 'bot paused');
    throw new HttpError(423, 'locked', platform.halted ? 'platform halted' : 'bot paused');
  }
  const ins = String(body.symbol ?? '');
  if (!b.config.instruments.includes(ins)) {
    chain.checks.push({ rule: 'whitelist', outcome: 'fail', limit: null, value: null, message: `${ins} not allowed` });
    chain.signal.outcome = 'rejected';
    record('rejected', 422, `whitelist: ${ins}`);
    throw new HttpError(422, 'rejected', `instrument ${ins} not in whitelist`, 'symbol');
  }
  chain.checks.push({ rule: 'whitelist', outcome: 'pass', limit: null, value: null, message: null });
  const price = dec(body.price ?? '65000');
  let side = body.action;
  let qty = dec(body.qty ?? b.config.sizing.value);
  if (body.action === 'close') {
    const p = b.positions.get(ins);
    if (!p) {
      record('executed', 200, 'nothing to close');
      return { signal_id, status: 'executed', orders: [] };
    }
    side = p.qty > 0n ? 'sell' : 'buy';
    qty = p.qty > 0n ? p.qty : -p.qty;
  }
  if (side !== 'buy' && side !== 'sell') throw new HttpError(400, 'invalid', `action ${body.action} not supported by the mock`, 'action');
  const notional = mul(qty, price);
  const limit = dec(b.config.risk.max_order_notional);
  if (notional > limit) {
    chain.checks.push({ rule: 'max_order_notional', outcome: 'fail', limit: str(limit), value: str(notional), message: null });
    chain.signal.outcome = 'rejected';
    record('rejected', 422, `max_order_notional: ${str(notional)} > ${str(limit)}`);
    throw new HttpError(422, 'risk', `max_order_notional ${str(notional)} > ${str(limit)}`);
  }
  chain.checks.push({ rule: 'max_order_notional', outcome: 'pass', limit: str(limit), value: str(notional), message: null });
  const r = trade(b, signal_id, ins, side, qty, price);
  chain.orders.push(r.order);
  chain.fills.push(r.fill);
  chain.pnl_effect = { realized: str(r.realized), fees_quote: str(r.fee) };
  chain.signal.outcome = 'executed';
  record('executed', 200, null);
  return { signal_id, status: 'executed', orders: [r.order] };
}

function botHealth(b) {
  const dailyLoss = b.realized - b.fees < 0n ? -(b.realized - b.fees) : 0n;
  return {
    bot_id: b.config.id,
    state: platform.halted ? 'halted' : b.state,
    circuit: 'closed',
    outbox_depth: 0,
    last_signal_at: b.lastSignal,
    attention_reason: null,
    risk_usage: {
      max_daily_loss: { used: str(dailyLoss), limit: b.config.risk.max_daily_loss },
      max_trades_per_day: { used: b.fills.length, limit: b.config.risk.max_trades_per_day },
      max_open_positions: { used: b.positions.size, limit: b.config.risk.max_open_positions },
      max_drawdown_pct: { used: b.history.length ? b.history[b.history.length - 1].drawdown : '0', limit: b.config.risk.max_drawdown_pct },
    },
  };
}

async function route(method, path, query, body, auth) {
  const who = tokens.get(auth);
  if (!who) throw new HttpError(401, 'unauthorized', 'missing or unknown token');
  const write = method !== 'GET';
  if (write && who.role !== 'admin') throw new HttpError(403, 'forbidden', 'viewer tokens are read-only');
  const bot = (id) => {
    const b = bots.get(id);
    if (!b) throw new HttpError(404, 'not_found', `bot ${id} not found`);
    return b;
  };
  let m;
  if (method === 'GET' && path === '/whoami') return { token_id: who.id, role: who.role };
  if (method === 'GET' && path === '/health')
    return {
      ...platform,
      neo4j: { ok: true, outbox_depth: 0 },
      exchanges: [{ exchange: 'binance', market: 'spot', circuit: 'closed', clock_offset_ms: 3 }],
    };
  if (method === 'POST' && path === '/tokens') {
    if (!['admin', 'viewer'].includes(body?.role)) throw new HttpError(422, 'invalid', 'role must be admin or viewer', 'role');
    const token = `keel_${rid(16)}`;
    const id = `tok_${rid(4)}`;
    tokens.set(token, { id, role: body.role });
    return [201, { id, token }];
  }
  if (method === 'POST' && path === '/halt') {
    platform.halted = true;
    platform.halted_at = now();
    const orders = body?.flatten ? [...bots.values()].flatMap((b) => flatten(b, 'panic')) : [];
    return { halted: true, orders, message: body?.flatten ? 'halted and flattened' : 'halted' };
  }
  if (method === 'POST' && path === '/resume') {
    platform.halted = false;
    platform.halted_at = null;
    return { halted: false };
  }
  if (method === 'GET' && path === '/bots') return [...bots.values()].map(summary);
  if (method === 'POST' && path === '/bots') {
    validate(body);
    const b = newBot(body);
    bots.set(body.id, b);
    audit(b, 'bot_created', `config v1 (${body.mode})`);
    return [201, { id: body.id, webhook_secret: b.secret }];
  }
  if ((m = /^\/signals\/([^/]+)$/.exec(path))) {
    const sid = decodeURIComponent(m[1]);
    for (const b of bots.values()) if (b.chains.has(sid)) return b.chains.get(sid);
    throw new HttpError(404, 'not_found', `signal ${sid} not found`);
  }
  if (!(m = /^\/bots\/([^/]+)(\/.*)?$/.exec(path))) throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
  const b = bot(decodeURIComponent(m[1]));
  const sub = m[2] ?? '';
  const key = `${method} ${sub}`;
  switch (key) {
    case 'GET ':
      return { config: b.config, state: platform.halted ? 'halted' : b.state, config_version: b.version };
    case 'PUT /credentials':
      if (!body?.api_key || !body?.api_secret)
        throw new HttpError(422, 'invalid', 'api_key and api_secret are required', body?.api_key ? 'api_secret' : 'api_key');
      audit(b, 'credentials_set', 'exchange credentials replaced');
      return [204, null];
    case 'POST /pause':
      b.state = 'paused';
      audit(b, 'paused', 'paused by operator');
      return { bot_id: b.config.id, state: 'paused' };
    case 'POST /resume':
      b.state = 'running';
      audit(b, 'resumed', 'resumed by operator');
      return { bot_id: b.config.id, state: platform.halted ? 'halted' : 'running' };
    case 'POST /flatten':
      return { bot_id: b.config.id, state: b.state, orders: flatten(b, 'flatten') };
    case 'GET /positions':
      return [...b.positions].map(([instrument, p]) => ({
        instrument,
        qty: str(p.qty),
        avg_entry_price: str(p.avg),
        mark_price: str(b.marks.get(instrument) ?? p.avg),
        unrealized: str(mul(p.qty, (b.marks.get(instrument) ?? p.avg) - p.avg)),
      }));
    case 'GET /orders':
      return b.orders;
    case 'GET /fills':
      return b.fills.slice(0, Number(query.get('limit') ?? 50));
    case 'GET /pnl':
      return pnl(b);
    case 'GET /pnl/history':
      return b.history;
    case 'GET /health':
      return botHealth(b);
    case 'GET /signals':
      return b.signals.slice(0, Number(query.get('limit') ?? 50));
    case 'GET /audit': {
      const after = Number(query.get('after') ?? 0);
      return b.audit.filter((e) => e.seq > after).slice(0, Number(query.get('limit') ?? 100));
    }
  }
  throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

async function serveStatic(res, path) {
  const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
  try {
    const data = await readFile(join(DIST, rel));
    res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream' });
    res.end(data);
  } catch {
    res.writeHead(404).end('not found');
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === null ? '' : JSON.stringify(body));
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString('utf8');
  try {
    let body;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
      }
    }
    if (url.pathname.startsWith('/api/v1/')) {
      const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const out = await route(req.method, url.pathname.slice(7), url.searchParams, body, auth);
      if (Array.isArray(out) && typeof out[0] === 'number' && out.length === 2) send(res, out[0], out[1]);
      else send(res, 200, out);
    } else if (req.method === 'POST' && url.pathname.startsWith('/webhook/')) {
      const b = bots.get(decodeURIComponent(url.pathname.slice(9)));
      if (!b) throw new HttpError(404, 'not_found', 'unknown bot');
      send(res, 200, webhook(b, body));
    } else {
      await serveStatic(res, url.pathname);
    }
  } catch (e) {
    if (e instanceof HttpError) send(res, e.status, { code: e.code, message: e.message, field: e.field });
    else send(res, 500, { code: 'internal', message: String(e) });
  }
}).listen(PORT, '127.0.0.1', () => console.log(`keel mock on http://127.0.0.1:${PORT} (admin token: ${[...tokens.keys()][0]})`));
