// The web console in a real browser (Debian's chromium, driven by playwright-core):
// log in, fleet, search (with the volume chart), a correlation view opened by clicking a
// trace id, a live-tailed line arriving, a <script> line shown as text, log out.
// A screenshot of each page goes to SHOT_DIR.
//
// Started by tests/integration/test_console_browser.py, which runs PostgreSQL, the
// collector and an agent, and passes: CONSOLE_URL, CONSOLE_TOKEN, LOG_FILE (the agent's
// file, for the live tail), SHOT_DIR, TRACE_ID and TRACE_LINES (lines expected for it), and
// TRACE_SOURCES (services that must appear in the trace, comma-separated; may be empty).
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};
const URL_BASE = env('CONSOLE_URL');
const TOKEN = env('CONSOLE_TOKEN');
const LOG_FILE = env('LOG_FILE');
const SHOT_DIR = env('SHOT_DIR');
const TRACE_ID = env('TRACE_ID');
const TRACE_LINES = Number(env('TRACE_LINES'));
const TRACE_SOURCES = (process.env.TRACE_SOURCES || '').split(',').filter(Boolean);

const step = (msg) => console.log(`ok ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
}

fs.mkdirSync(SHOT_DIR, {recursive: true});
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logship-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: {width: 1280, height: 800},
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
});
const shot = async (page, name) => {
  await page.screenshot({path: path.join(SHOT_DIR, `${name}.png`), fullPage: false});
};

let failed = false;
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  // Nothing may load from anywhere but the collector; no console errors (CSP violations
  // would show up here).
  const foreign = [];
  const problems = [];
  const origin = new URL(URL_BASE).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('dialog', (d) => { problems.push('dialog opened: ' + d.message()); d.dismiss(); });

  // 1. Login: a wrong token is refused, the right one opens the fleet page.
  await page.goto(URL_BASE + '/');
  await page.locator('#page-login').waitFor({state: 'visible'});
  await page.fill('#login-token', 'wrong-token-0123456789');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error', {hasText: 'not valid'}).waitFor();
  await shot(page, '1-login');
  await page.fill('#login-token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.locator('#page-fleet').waitFor({state: 'visible'});
  step('login: wrong token refused, right token accepted');

  // 2. Fleet: both agents listed and connected, with version and rates.
  for (const id of ['web-01', 'api-01']) {
    await page.locator('#agents tbody tr', {hasText: id}).locator('.badge.up').waitFor();
  }
  const row = page.locator('#agents tbody tr', {hasText: 'web-01'});
  check((await row.textContent()).includes('0.1.0'), 'agent version shown');
  await page.locator('#sinks tbody tr', {hasText: 'postgres'}).waitFor();
  await shot(page, '2-fleet');
  step('fleet: agents connected with version; sink listed');

  // 3. Search with filters; the volume chart is drawn; the <script> line is plain text.
  await page.click('#nav a[data-page=search]');
  await page.locator('#page-search').waitFor({state: 'visible'});
  await page.locator('#search-status', {hasText: 'query'}).waitFor();
  await page.fill('#search-form input[name=text]', '<script>');
  await page.click('#search-form button[type=submit]');
  const xssRow = page.locator('#results tbody tr', {hasText: 'xssFired'});
  await xssRow.first().waitFor();
  const bodyText = await xssRow.first().locator('.body').textContent();
  check(bodyText.includes('<script>window.xssFired=1</script>'), `line shown as text: ${bodyText}`);
  check(await page.locator('#results script, #results img').count() === 0, 'no element made from the line');
  check(await page.evaluate(() => window.xssFired === undefined), 'the line did not run');
  step('search: <script> line rendered as text, nothing ran');

  await page.fill('#search-form input[name=text]', 'request');
  await page.fill('#search-form input[name=attrs]', 'service=checkout');
  await page.selectOption('#search-form select[name=severity]', 'info');
  await page.click('#search-form button[type=submit]');
  await page.locator('#search-status', {hasText: /^\d+ line/}).waitFor();
  const n = await page.locator('#results tbody tr').count();
  check(n > 0 && n <= 100, `search rows: ${n}`);
  check(await page.locator('#volume svg rect.bar').count() > 0, 'volume chart has bars');
  check(await page.locator('#more').isVisible(), 'a next page is offered');
  await shot(page, '3-search');
  await page.click('#more');
  await page.waitForFunction((prev) => document.querySelectorAll('#results tbody tr').length > prev, n);
  await page.evaluate(() => window.scrollTo(0, 0));
  step(`search: ${n} rows, a second page appended, volume chart drawn`);

  // 4. Correlation: click a trace id link in a search result.
  await page.fill('#search-form input[name=text]', 'checkout step');
  await page.fill('#search-form input[name=attrs]', '');
  await page.selectOption('#search-form select[name=severity]', '');
  await page.click('#search-form button[type=submit]');
  await page.locator(`#results a.corr[data-id="${TRACE_ID}"]`).first().click();
  await page.locator('#page-correlation').waitFor({state: 'visible'});
  await page.locator('#correlation-status', {hasText: 'oldest first'}).waitFor();
  const corrRows = await page.locator('#correlation tbody tr').count();
  check(corrRows === TRACE_LINES, `correlation rows ${corrRows}, expected ${TRACE_LINES}`);
  const times = await page.locator('#correlation tbody tr td:first-child').allTextContents();
  check(times.join() === [...times].sort().join(), 'correlation in time order');
  const hosts = new Set(await page.locator('#correlation tbody tr td:nth-child(3)').allTextContents());
  check(hosts.size >= 3, `lines from several hosts: ${[...hosts]}`);
  const sources = new Set(await page.locator('#correlation tbody tr td:nth-child(4)').allTextContents());
  for (const s of TRACE_SOURCES) check(sources.has(s), `service ${s} in the trace: ${[...sources]}`);
  await shot(page, '4-correlation');
  step(`correlation: ${corrRows} lines from ${hosts.size} hosts in time order` +
       (TRACE_SOURCES.length ? `, with the ${TRACE_SOURCES.join(' and ')} services (OTLP)` : ''));

  // 5. Live tail: a line written to the agent's file appears.
  await page.click('#nav a[data-page=tail]');
  await page.locator('#page-tail').waitFor({state: 'visible'});
  const marker = `live-marker-${Date.now()}`;
  await page.fill('#tail-form input[name=text]', 'live-marker');
  await page.click('#tail-form button[type=submit]');
  await page.locator('#tail-status', {hasText: 'Live'}).waitFor();
  const written = Date.now();
  fs.appendFileSync(LOG_FILE, JSON.stringify({level: 'warn', msg: `${marker} payment retry <b>bold?</b>`,
                                              trace_id: 'trace-live'}) + '\n');
  await page.locator('#tail tbody tr', {hasText: marker}).waitFor({timeout: 20000});
  const liveText = await page.locator('#tail tbody tr', {hasText: marker}).locator('.body').textContent();
  check(liveText.includes('<b>bold?</b>'), 'tailed line shown as text');
  await shot(page, '5-tail');
  step(`live tail: line arrived ${((Date.now() - written) / 1000).toFixed(1)} s after it was written`);
  await page.click('#tail-stop');

  // 6. Log out: back to the login page; the API refuses the old session's calls.
  await page.click('#logout');
  await page.locator('#page-login').waitFor({state: 'visible'});
  check(await page.evaluate(() => sessionStorage.length) === 0, 'token forgotten');
  step('logout');

  check(foreign.length === 0, `requests to elsewhere: ${foreign.join(', ')}`);
  const real = problems.filter((p) => !p.includes('401'));
  check(real.length === 0, `browser errors: ${real.join(' | ')}`);
  step('no request left the collector, no browser errors');
} catch (e) {
  failed = true;
  console.error(e);
  try {
    for (const p of context.pages()) await p.screenshot({path: path.join(SHOT_DIR, 'failure.png')});
  } catch {}
} finally {
  await context.close();
  fs.rmSync(userDataDir, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
