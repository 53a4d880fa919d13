// logship console. Plain JavaScript, no dependencies, nothing loaded from elsewhere.
// Log lines are attacker-controlled: every value reaches the page through textContent or
// setAttribute, never through HTML parsing.
'use strict';

const TOKEN_KEY = 'logship.console.token';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];
const COLORS = {fatal: '#7b1fa2', error: '#d32f2f', warn: '#f9a825', info: '#1976d2', debug: '#78909c',
                trace: '#b0bec5', unknown: '#9e9e9e'};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

class AuthError extends Error {}

async function api(path, params) {
  const qs = params ? '?' + params.toString() : '';
  const res = await fetch('/api/v1/' + path + qs, {headers: {Authorization: 'Bearer ' + token()}, cache: 'no-store'});
  if (res.status === 401) throw new AuthError('not signed in');
  const body = await res.json().catch(() => ({error: 'HTTP ' + res.status}));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

function fmtTime(iso) {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.(\d{3})\d*Z$/, '.$1');
}

function fmtNum(n, digits) {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString('en-US', {maximumFractionDigits: digits || 0});
}

function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
}

// Filters from a form → URLSearchParams (attributes "k=v k2=v2" → attr=k=v&attr=k2=v2).
function filterParams(form) {
  const p = new URLSearchParams();
  for (const name of ['from', 'to', 'host', 'source', 'severity', 'text']) {
    const input = form.elements[name];
    if (input && input.value.trim() !== '') p.set(name, input.value.trim());
  }
  const attrs = form.elements.attrs ? form.elements.attrs.value.trim() : '';
  for (const a of attrs.split(/\s+/)) if (a.includes('=')) p.append('attr', a);
  return p;
}

// One record as a table row; trace_id / correlation_id become links to the correlation page.
function recordRow(r) {
  const line = el('td', {class: 'line'});
  line.append(el('span', {class: 'body', text: r.body}));
  const ids = el('div', {class: 'ids'});
  for (const key of ['trace_id', 'correlation_id']) {
    if (r[key]) {
      ids.append(el('a', {href: '#/correlation/' + encodeURIComponent(r[key]), class: 'corr', 'data-id': r[key],
                          text: key + '=' + r[key]}));
    }
  }
  for (const [k, v] of Object.entries(r.attributes || {})) {
    ids.append(el('span', {class: 'attr', text: k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))}));
  }
  if (ids.childNodes.length) line.append(ids);
  return el('tr', {class: 'record level-' + r.level, 'data-id': r.id},
            el('td', {class: 'mono nowrap', text: fmtTime(r.ts)}),
            el('td', {}, el('span', {class: 'badge level-' + r.level, text: r.level})),
            el('td', {class: 'nowrap', text: r.host}),
            el('td', {class: 'mono small', text: r.source}),
            line);
}

// ---- pages ----

let tailAbort = null;

function show(page) {
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== 'page-' + page;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === page);
  $('nav').hidden = page === 'login';
}

function fail(statusEl, e) {
  if (e instanceof AuthError) { signOut(); return; }
  statusEl.textContent = 'Error: ' + e.message;
  statusEl.classList.add('error');
}

async function loadFleet() {
  const status = $('fleet-health');
  status.classList.remove('error');
  try {
    const d = await api('agents');
    status.textContent = (d.healthy ? 'Ingest serving' : 'Ingest NOT serving: ' + d.health_reason) +
        ' · ' + d.agents.length + ' agent(s) seen · as of ' + fmtTime(d.now);
    const tbody = $('agents').tBodies[0];
    tbody.replaceChildren(...d.agents.map((a) => el('tr', {},
        el('td', {class: 'mono', text: a.id}), el('td', {text: a.host}), el('td', {text: a.version || '—'}),
        el('td', {}, el('span', {class: 'badge ' + (a.connected ? 'up' : 'down'), text: a.connected ? 'connected' : 'disconnected'})),
        el('td', {class: 'nowrap', text: fmtTime(a.last_batch)}),
        el('td', {class: 'num', text: fmtNum(a.records_per_second, 1)}),
        el('td', {class: 'num', text: fmtBytes(a.bytes_per_second) + '/s'}),
        el('td', {class: 'num', text: fmtNum(a.records_total)}),
        el('td', {text: a.spool_bytes === null ? 'not reported' : fmtBytes(a.spool_bytes)}))));
    if (!d.agents.length) tbody.append(el('tr', {}, el('td', {colspan: '9', text: 'No agent has connected since the collector started.'})));
    $('sinks').tBodies[0].replaceChildren(...d.sinks.map((s) => el('tr', {},
        el('td', {text: s.name}), el('td', {class: 'num', text: fmtNum(s.records_total)}),
        el('td', {class: 'num' + (s.errors_total ? ' error' : ''), text: fmtNum(s.errors_total)}),
        el('td', {class: 'num', text: s.lag_seconds_avg.toFixed(3) + ' s'}))));
  } catch (e) { fail(status, e); }
}

let nextCursor = null;

async function runSearch(append) {
  const form = $('search-form');
  const status = $('search-status');
  status.classList.remove('error');
  const params = filterParams(form);
  params.set('limit', '100');
  if (append && nextCursor) params.set('cursor', nextCursor);
  status.textContent = 'Searching…';
  try {
    const [d] = await Promise.all([api('search', params), append ? null : loadVolume(filterParams(form))]);
    const tbody = $('results').tBodies[0];
    const rows = d.records.map(recordRow);
    if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
    nextCursor = d.next_cursor;
    $('more').hidden = !nextCursor;
    status.textContent = tbody.rows.length + ' line(s) shown' + (nextCursor ? ', more available' : '') +
        ' · query ' + d.query_ms + ' ms';
  } catch (e) { fail(status, e); }
}

async function loadVolume(params) {
  const box = $('volume');
  try {
    const d = await api('volume', params);
    box.replaceChildren(volumeChart(d));
  } catch (e) {
    if (e instanceof AuthError) throw e;
    box.replaceChildren(el('p', {class: 'error', text: 'Volume: ' + e.message}));
  }
}

// Stacked bars of lines per step by severity, as inline SVG.
function volumeChart(d) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = Math.max(400, $('volume').clientWidth - 14), H = 140, PAD = 30;  // 1 unit = 1 pixel
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H + 20}`);
  svg.setAttribute('class', 'volume');
  svg.setAttribute('role', 'img');
  const from = Date.parse(d.from) / 1000, to = Date.parse(d.to) / 1000;
  const n = Math.max(1, Math.ceil((to - from) / d.step));
  const max = Math.max(1, ...d.buckets.map((b) => Object.values(b.counts).reduce((x, y) => x + y, 0)));
  const bw = (W - PAD) / n;
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  add('text', {x: 0, y: 10, class: 'axis'}, fmtNum(max));
  add('text', {x: 0, y: H, class: 'axis'}, '0');
  add('line', {x1: PAD, y1: H, x2: W, y2: H, class: 'axis-line'});
  for (const b of d.buckets) {
    const x = PAD + ((b.t - from) / d.step) * bw;
    let y = H;
    const title = [fmtTime(b.ts)];
    for (const level of LEVELS.slice().reverse()) {
      const c = b.counts[level] || 0;
      if (!c) continue;
      const h = (c / max) * (H - 12);
      y -= h;
      add('rect', {x: x.toFixed(1), y: y.toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: h.toFixed(1),
                   fill: COLORS[level], class: 'bar'});
      title.push(level + ': ' + c);
    }
    add('title', {}, title.join('\n'));
  }
  add('text', {x: PAD, y: H + 15, class: 'axis'}, fmtTime(d.from));
  add('text', {x: W, y: H + 15, class: 'axis', 'text-anchor': 'end'}, fmtTime(d.to) + ' · step ' + d.step + ' s');
  const legend = el('div', {class: 'legend'});
  for (const level of LEVELS) {
    const swatch = el('span', {class: 'swatch'});
    swatch.style.background = COLORS[level];  // CSSOM, allowed by the page's CSP (style attributes are not)
    legend.append(swatch, el('span', {text: level + ' '}));
  }
  return el('div', {}, svg, legend);
}

async function loadCorrelation(id) {
  $('correlation-id').textContent = id;
  const status = $('correlation-status');
  status.classList.remove('error');
  status.textContent = 'Loading…';
  try {
    const d = await api('correlation/' + encodeURIComponent(id));
    $('correlation').tBodies[0].replaceChildren(...d.records.map(recordRow));
    const hosts = new Set(d.records.map((r) => r.host));
    status.textContent = d.records.length + ' line(s) from ' + hosts.size + ' host(s), oldest first' +
        (d.truncated ? ' (first 1000 only)' : '') + ' · query ' + d.query_ms + ' ms';
  } catch (e) { fail(status, e); }
}

function stopTail(message) {
  if (tailAbort) tailAbort.abort();
  tailAbort = null;
  if (message) $('tail-status').textContent = message;
}

// Server-sent events read with fetch (EventSource cannot send the Authorization header).
async function startTail() {
  stopTail();
  const controller = new AbortController();
  tailAbort = controller;
  const status = $('tail-status');
  status.classList.remove('error');
  const tbody = $('tail').tBodies[0];
  tbody.replaceChildren();
  let count = 0;
  try {
    const res = await fetch('/api/v1/tail?' + filterParams($('tail-form')).toString(),
                            {headers: {Authorization: 'Bearer ' + token()}, signal: controller.signal});
    if (res.status === 401) throw new AuthError('not signed in');
    if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || 'HTTP ' + res.status);
    status.textContent = 'Live: waiting for lines…';
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message', data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event === 'record') {
          tbody.prepend(recordRow(JSON.parse(data)));
          while (tbody.rows.length > 500) tbody.deleteRow(-1);
          count++;
          status.textContent = 'Live: ' + count + ' line(s) received';
        } else if (event === 'skipped') {
          status.textContent = 'Live: ' + count + ' line(s) received; more arrived than the rate limit shows';
        } else if (event === 'error') {
          status.textContent = 'Live: database error: ' + JSON.parse(data).error;
        }
      }
    }
    if (tailAbort === controller) status.textContent = 'Tail ended by the server.';
  } catch (e) {
    if (e.name === 'AbortError') return;
    fail(status, e);
  }
}

function signOut() {
  stopTail();
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = '#/login';
  route();
}

function route() {
  const hash = location.hash || '#/fleet';
  if (!token() && hash !== '#/login') { location.hash = '#/login'; return; }
  if (!hash.startsWith('#/tail')) stopTail();
  if (hash === '#/login') { show('login'); $('login-token').focus(); return; }
  if (hash.startsWith('#/correlation/')) {
    show('correlation');
    loadCorrelation(decodeURIComponent(hash.slice('#/correlation/'.length)));
  } else if (hash.startsWith('#/search')) {
    show('search');
    runSearch(false);
  } else if (hash.startsWith('#/tail')) {
    show('tail');
    if (!tailAbort) startTail();
  } else {
    show('fleet');
    loadFleet();
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('login-token').value.trim());
    try {
      await api('agents');
      $('login-error').textContent = '';
      $('login-token').value = '';
      location.hash = '#/fleet';
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('login-error').textContent = e instanceof AuthError ? 'That token is not valid.' : 'Error: ' + e.message;
    }
  });
  $('logout').addEventListener('click', signOut);
  $('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); runSearch(false); });
  $('more').addEventListener('click', () => runSearch(true));
  $('tail-form').addEventListener('submit', (ev) => { ev.preventDefault(); startTail(); });
  $('tail-stop').addEventListener('click', () => stopTail('Stopped.'));
  window.addEventListener('hashchange', route);
  setInterval(() => { if (!$('page-fleet').hidden) loadFleet(); }, 5000);
  route();
});
