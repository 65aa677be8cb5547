// The chat page in a real browser: Debian's chromium driven by playwright-core against a running
// `tally demo --today 2026-11-23` (tests/browser.rs starts it and sets TALLY_URL).
//
//   TALLY_URL=http://127.0.0.1:8080 node chat.mjs
//
// Environment: TALLY_URL (required); E2E_OUT, where screenshots go (default target/e2e);
// CHROMIUM, the browser binary (default: Debian's); UPDATE_SCREENSHOTS=1 also copies the README
// screenshots into web/screenshots/ (the three of the chat, and each answer kind and the
// glossary at 1200 px and at 390 px, cropped to the answer).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const base = process.env.TALLY_URL;
if (!base) {
  console.error('set TALLY_URL to a running `tally demo` (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}
const out = resolve(process.env.E2E_OUT || join(root, 'target', 'e2e'));
mkdirSync(out, { recursive: true });
const executablePath =
  process.env.CHROMIUM ||
  ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!executablePath) {
  console.error('no chromium found: apt-get install chromium, or set CHROMIUM');
  process.exit(2);
}

const DAU = 'What was our DAU last week vs the week before?';
const FOLLOW_UP = 'and by country?';
const EMAILS = 'Show me the email addresses of customers who churned last month.';
const HOSTILE = 'dau <img src=x onerror=alert(1)> "</script><b>bold</b>';
const TIMEOUT = 20_000;
// One question per answer kind, asked as analyst (the role with every kind): name, question,
// the element it renders.
const KINDS = [
  ['list', 'top 5 customers by MRR', 'list'],
  ['overview', 'How are we doing?', 'overview'],
  ['funnel', "What's the conversion rate for the checkout flow?", 'funnel'],
  ['anomalies', 'Anything unusual last week?', 'anomalies'],
  ['retention', 'week 1 retention', 'retention'],
  ['define', 'what does churn rate mean?', 'definition'],
  ['chart', 'DAU by country last week', 'chart'],
];
const DESKTOP = { width: 1200, height: 900 };
const PHONE = { width: 390, height: 844 };

let passed = 0;
let failed = 0;
const shots = {};

function check(condition, what, detail) {
  if (condition) {
    passed += 1;
    console.log(`ok - ${what}`);
  } else {
    failed += 1;
    console.log(`FAILED - ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
  return condition;
}

async function shot(page, name) {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path });
  shots[name] = path;
  console.log(`   screenshot ${path}`);
}

// Types a question, presses Enter and waits for the n-th assistant turn to be finished.
async function ask(page, question, n) {
  await page.locator('#question').fill(question);
  await page.locator('#question').press('Enter');
  const turn = page.locator('li.turn.assistant').nth(n);
  await turn.and(page.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
  await turn.scrollIntoViewIfNeeded();
  return turn;
}

// The response contract as the page received it (the inspector's raw view).
async function responseOf(turn) {
  const text = await turn.locator('[data-testid="raw"]').textContent();
  return JSON.parse(text);
}

// Waits for a chart to be drawn and counts its marks (bars, line segments, points).
async function chartMarks(turn) {
  const chart = turn.locator('[data-testid="chart"]');
  if ((await chart.count()) === 0) return { state: 'absent', marks: 0 };
  await chart.and(turn.locator('[data-chart="rendered"], [data-chart="failed"]')).waitFor({ timeout: TIMEOUT });
  const state = await chart.getAttribute('data-chart');
  const marks = await chart.locator('svg g[class*="mark-"] path').count();
  return { state, marks };
}

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // Root in CI containers cannot use chromium's user-namespace sandbox.
    // Nothing but 127.0.0.1 is reachable: no background fetches, updates or QUIC probes.
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const problems = [];
  const context = await newContext(browser, DESKTOP, problems);
  const page = await context.newPage();
  let dauChartDrawn = false;
  const kindShots = [];

  try {
    await chatScenario(page, context, () => {
      dauChartDrawn = true;
    });
    // Each answer kind, the glossary, permalinks, keyboard use and contrast, at both widths.
    for (const [name, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const wide = await newContext(browser, viewport, problems);
      try {
        kindShots.push(...(await kindsScenario(wide, name, viewport)));
        const csp = [];
        for (const p of wide.pages()) csp.push(...(await p.evaluate(() => window.__csp)));
        check(csp.length === 0, `no Content-Security-Policy violations (${name})`, csp.join('; '));
      } finally {
        await wide.close();
      }
    }
    check(problems.length === 0, 'no page errors, console errors or dialogs', problems.join('; '));
  } catch (e) {
    check(false, 'the scenario ran to the end', e.stack || e.message);
  } finally {
    await browser.close();
  }

  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dest = join(root, 'web', 'screenshots');
    mkdirSync(dest, { recursive: true });
    // The answer-with-chart picture: the DAU answer if it drew a chart, else the breakdown.
    const chartShot = dauChartDrawn ? shots['01-answer'] : shots['03-follow-up'];
    const picks = [
      [chartShot, 'answer-chart.png'],
      [shots['02-inspector'], 'inspector.png'],
      [shots['04-refusal'], 'refusal.png'],
      ...kindShots.map((name) => [shots[name], `${name}.png`]),
    ];
    for (const [from, to] of picks) {
      if (from) {
        copyFileSync(from, join(dest, to));
        console.log(`   copied ${to} into web/screenshots/`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

// A browser context that records console errors, page errors, dialogs and CSP violations.
async function newContext(browser, viewport, problems) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on('page', (p) => {
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    p.on('console', (m) => {
      // A permalink that is not the caller's is a 404 on purpose (the page says so).
      if (p.url().includes('/q/') && /status of 404/.test(m.text())) return;
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    p.on('dialog', (d) => {
      problems.push(`a dialog opened: ${d.message()}`);
      d.dismiss();
    });
  });
  return context;
}

// The chat: headers, the DAU question, the inspector, a follow-up, a refusal, hostile text,
// another role, and the page outside the demo.
async function chatScenario(page, context, chartDrawn) {
  {
    // The page and its headers.
    const nav = await page.goto(`${base}/`, { waitUntil: 'load' });
    const h = nav.headers();
    const csp = h['content-security-policy'] || '';
    check(nav.status() === 200, 'GET / is 200', nav.status());
    check(/script-src 'self'/.test(csp) && !/unsafe-(inline|eval)/.test(csp), 'CSP allows scripts from self only', csp);
    check(/frame-ancestors 'none'/.test(csp) && h['x-frame-options'] === 'DENY', 'the page cannot be framed');
    check(h['x-content-type-options'] === 'nosniff', 'nosniff');
    check(h['referrer-policy'] === 'no-referrer', 'no referrer');
    const js = await page.request.get(`${base}/assets/app.js`);
    check(js.headers()['x-content-type-options'] === 'nosniff', 'assets carry the security headers too');

    // Demo mode: a role picker; analyst first.
    await page.locator('#role-picker').waitFor({ timeout: TIMEOUT });
    await page.locator('#role-picker').selectOption('analyst');
    await page.locator('#who').filter({ hasText: 'analyst · acme' }).waitFor({ timeout: TIMEOUT });
    check(true, 'the role picker signs in as analyst in workspace acme');

    // 1. The DAU question: answer text, stage progress, the chart when the response has one.
    const first = await ask(page, DAU, 0);
    const r1 = await responseOf(first);
    check(r1.outcome === 'answered', 'the DAU question is answered', r1.outcome);
    const answer1 = await first.locator('[data-testid="answer"]').textContent();
    check(/Daily active users .*last week .* averaged/.test(answer1), 'the answer text is shown', answer1);
    check(
      (await first.locator('.progress').count()) === 0,
      'stage progress is replaced by the answer',
    );
    const chart1 = await chartMarks(first);
    if (r1.chart) {
      if (check(chart1.state === 'rendered' && chart1.marks > 0, 'the DAU chart is drawn as SVG marks', JSON.stringify(chart1))) chartDrawn();
    } else {
      console.log('   note: this response carries no chart (chart: null), so none is drawn');
      check(chart1.state === 'absent', 'no chart box without a chart spec');
    }
    await shot(page, '01-answer');

    // 2. The inspector: executed DSL, SQL for the analyst, timings, sources.
    await first.locator('[data-testid="inspector"] > summary').click();
    const dsl = first.locator('[data-testid="dsl"]');
    await dsl.waitFor({ state: 'visible', timeout: TIMEOUT });
    const dslText = await dsl.textContent();
    const executed = JSON.parse(dslText);
    check(
      executed.kind === 'metric' && executed.metrics[0] === 'dau' && executed.compare === 'previous_period',
      'the inspector shows the executed DSL',
      dslText,
    );
    check(await first.locator('[data-testid="sql"]').isVisible(), 'the analyst sees the SQL');
    check(/SELECT/.test(await first.locator('[data-testid="sql"]').textContent()), 'the SQL is SQL');
    check(await first.locator('[data-testid="timings"]').isVisible(), 'timings are shown');
    check(/Daily active users/.test(await first.locator('[data-testid="sources"]').textContent()), 'sources are cited');
    // The question, the answer and the open inspector in one picture.
    await page.locator('li.turn.user').first().evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await shot(page, '02-inspector');
    await first.locator('[data-testid="inspector"] > summary').click();

    // 3. A follow-up in the same conversation edits the previous DSL.
    const second = await ask(page, FOLLOW_UP, 1);
    const r2 = await responseOf(second);
    check(r2.outcome === 'answered', 'the follow-up is answered', r2.outcome);
    check(
      r2.executed_dsl && JSON.stringify(r2.executed_dsl.group_by) === '["country"]' && r2.executed_dsl.metrics[0] === 'dau',
      'the follow-up keeps DAU and adds a breakdown by country',
      JSON.stringify(r2.executed_dsl),
    );
    check(r1.conversation_id && r2.conversation_id === r1.conversation_id, 'the follow-up stays in the conversation');
    check(/by country/.test(await second.locator('[data-testid="answer"]').textContent()), 'the follow-up answer names the breakdown');
    const chart2 = await chartMarks(second);
    check(r2.chart && chart2.state === 'rendered' && chart2.marks > 0, 'the breakdown chart is drawn as SVG bars', JSON.stringify(chart2));
    await shot(page, '03-follow-up');

    // 4. The emails question as analyst: refused, with a suggestion to click.
    const third = await ask(page, EMAILS, 2);
    const r3 = await responseOf(third);
    check(r3.outcome === 'refused', 'the emails question is refused', r3.outcome);
    const refusal = third.locator('[data-testid="refusal"]');
    check(await refusal.isVisible(), 'the refusal is shown as a refusal');
    check(/pii_not_permitted/.test(await refusal.textContent()), 'the refusal names its reason');
    check(r3.data === null && (await third.locator('[data-testid="chart"]').count()) === 0, 'a refusal shows no numbers');
    const suggestion = third.locator('[data-testid="suggestion"]');
    check((await suggestion.count()) === 1, 'the refusal offers a query the role may run');
    await shot(page, '04-refusal');
    if ((await suggestion.count()) === 1) {
      await suggestion.click();
      const fourth = page.locator('li.turn.assistant').nth(3);
      await fourth.and(page.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
      check((await fourth.getAttribute('data-outcome')) === 'answered', 'clicking the suggestion runs it');
    }

    // 5. Hostile text is shown as text: no element, no script, no dialog.
    const turns = await page.locator('li.turn.assistant').count();
    const fifth = await ask(page, HOSTILE, turns);
    const bubble = page.locator('li.turn.user').last();
    check((await bubble.textContent()) === HOSTILE, 'the question is echoed as text');
    check((await page.locator('#log img, #log b, #log script').count()) === 0, 'no markup from the question reaches the DOM');
    const outcome5 = await fifth.getAttribute('data-outcome');
    check(['needs_clarification', 'answered', 'invalid', 'refused'].includes(outcome5), 'a hostile question gets an outcome', outcome5);
    await shot(page, '05-hostile');
    // Answers, refusals, clarifications and the inspector's text, all at AA contrast.
    await first.locator('[data-testid="inspector"] > summary').click();
    const lowContrast = await contrastFailures(page);
    check(lowContrast.length === 0, 'every text of the chat (answers, refusal, clarification, inspector) has AA contrast', lowContrast.join('; '));
    await first.locator('[data-testid="inspector"] > summary').click();

    const violations = await page.evaluate(() => window.__csp);

    // 6. Another role: a new conversation, and no SQL for the support agent.
    await page.locator('#role-picker').selectOption('support_agent');
    await page.locator('#who').filter({ hasText: 'support_agent · acme' }).waitFor({ timeout: TIMEOUT });
    check((await page.locator('li.turn').count()) === 0, 'changing role starts a new conversation');
    const asAgent = await ask(page, DAU, 0);
    check((await asAgent.getAttribute('data-outcome')) === 'answered', 'the support agent gets the DAU answer');
    check((await asAgent.locator('[data-testid="sql"]').count()) === 0, 'the support agent is shown no SQL');
    violations.push(...(await page.evaluate(() => window.__csp)));

    // 7. Outside the demo the page asks for a token: the same page with its token block removed.
    const tokens = JSON.parse(await page.locator('#demo-tokens').textContent());
    const analystToken = tokens.find((t) => t.role === 'analyst').token;
    const plain = await context.newPage();
    await plain.route(`${base}/`, async (route) => {
      const real = await route.fetch();
      const html = (await real.text()).replace(/<script type="application\/json" id="demo-tokens">[^<]*<\/script>/, '');
      await route.fulfill({ response: real, body: html });
    });
    await plain.goto(`${base}/`);
    check(await plain.locator('#signin').isVisible(), 'without demo tokens the page asks for a token');
    check(!(await plain.locator('#role-picker-wrap').isVisible()), 'and offers no role picker');
    await plain.locator('#token-input').fill('not a token');
    await plain.locator('#token-form button[type="submit"]').click();
    check(await plain.locator('#token-error').isVisible(), 'a malformed token is refused on the page');
    await plain.locator('#token-input').fill(`Bearer ${analystToken}`);
    await plain.locator('#token-form button[type="submit"]').click();
    await plain.locator('#who').filter({ hasText: 'analyst · acme' }).waitFor({ timeout: TIMEOUT });
    await plain.reload();
    await plain.locator('#who').filter({ hasText: 'analyst · acme' }).waitFor({ timeout: TIMEOUT });
    check(true, 'a pasted token signs in and survives a reload of the tab');
    const plainTurn = await ask(plain, 'DAU by country last week', 0);
    check((await plainTurn.getAttribute('data-outcome')) === 'answered', 'a question asked with a pasted token is answered');
    check((await chartMarks(plainTurn)).marks > 0, 'and its chart is drawn');
    violations.push(...(await plain.evaluate(() => window.__csp)));

    check(violations.length === 0, 'no Content-Security-Policy violations', violations.join('; '));
    await plain.close();
  }
}

// The role's catalog as the server gives it (GET /v1/catalog with the page's demo token).
async function catalogOf(page, role) {
  const tokens = JSON.parse(await page.locator('#demo-tokens').textContent());
  const token = tokens.find((t) => t.role === role).token;
  const r = await page.request.get(`${base}/v1/catalog`, { headers: { Authorization: `Bearer ${token}` } });
  return r.json();
}

// A fresh demo page signed in as `role` (the page's saved demo role, set before it loads).
async function openAs(context, role, path = '/') {
  const page = await context.newPage();
  await page.addInitScript((r) => sessionStorage.setItem('tally.demo-role', r), role);
  await page.goto(`${base}${path}`);
  await page.locator('#who').filter({ hasText: `${role} · acme` }).waitFor({ timeout: TIMEOUT });
  return page;
}

// The page scrolls only vertically: nothing is wider than the viewport.
async function noSidewaysScroll(page) {
  return page.evaluate(() => {
    const d = document.documentElement;
    const main = document.getElementById('main');
    return d.scrollWidth <= d.clientWidth && main.scrollWidth <= main.clientWidth;
  });
}

// Nothing is under the input: the scrolling column ends above the composer, and the newest
// answer is inside the column's view (all of it when it fits, else its top).
async function nothingUnderTheInput(page) {
  return page.evaluate(() => {
    const main = document.getElementById('main').getBoundingClientRect();
    const composer = document.getElementById('composer').getBoundingClientRect();
    const turn = document.querySelector('#log > li:last-child').getBoundingClientRect();
    const fits = turn.height <= main.height;
    const shown = fits ? turn.top >= main.top - 1 && turn.bottom <= main.bottom + 1 : Math.abs(turn.top - main.top) <= 30;
    return { ok: main.bottom <= composer.top + 0.5 && shown, main: [main.top, main.bottom], composer: composer.top, turn: [turn.top, turn.bottom] };
  });
}

// Every visible text on the page against its background: WCAG AA (4.5:1, 3:1 for large text).
async function contrastFailures(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) =>
      [r, g, b]
        .map((v) => v / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const failures = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const node = t.parentElement;
      if (!t.textContent.trim() || seen.has(node) || node.closest('svg, [hidden], .visually-hidden, option, button:disabled')) continue;
      seen.add(node);
      const box = node.getBoundingClientRect();
      const style = getComputedStyle(node);
      if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
      const fg = parse(style.color);
      const bg = background(node);
      const [a, b] = [lum(fg), lum(bg)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) failures.push(`${node.tagName.toLowerCase()}.${node.className} "${t.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return failures;
  });
}

// A CSV line split into cells (quoted cells may hold commas and doubled quotes).
function csvRows(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r') {
      /* the \n ends the row */
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

// Each answer kind renders its element with the response's values; the glossary; permalinks;
// keyboard-only use; AA contrast; at one width (`name`). Returns the screenshots it took.
async function kindsScenario(context, name, viewport) {
  const phone = viewport.width < 600;
  const at = ` (${name}, ${viewport.width} px)`;
  const taken = [];
  const page = await openAs(context, 'analyst');
  const catalog = await catalogOf(page, 'analyst');
  const turns = {};
  for (const [kind, question, testid] of KINDS) {
    // Each in a conversation of its own (never a follow-up of the one before), on its own
    // page, so its element stays for the checks below.
    const own = kind === 'list' ? page : await openAs(context, 'analyst');
    const turn = await ask(own, question, 0);
    const r = await responseOf(turn);
    turns[kind] = { turn, r, page: own };
    check(r.outcome === 'answered', `"${question}" is answered${at}`, `${r.outcome} ${r.executed_dsl && r.executed_dsl.kind} ${r.answer}`);
    const element = turn.locator(`[data-testid="${testid}"]`);
    check((await element.count()) === 1, `"${question}" renders its ${testid}${at}`);
    if (kind === 'chart') {
      const marks = await chartMarks(turn);
      check(marks.state === 'rendered' && marks.marks > 0, `the chart is drawn${at}`, JSON.stringify(marks));
      check((await element.getAttribute('aria-label')) === r.answer, `the chart's text alternative is the answer sentence${at}`);
    } else {
      check((await element.getAttribute('aria-label')) === r.answer, `the ${testid}'s text alternative is the answer sentence${at}`);
    }
    check(await noSidewaysScroll(own), `no sideways scroll after the ${kind} answer${at}`);
    const under = await nothingUnderTheInput(own);
    check(under.ok, `nothing of the ${kind} answer is under the input${at}`, JSON.stringify(under));
    const shotName = `${kind}-${name}`;
    // Cropped to the answer, all of it: the viewport made tall enough for the column to hold it.
    const size = own.viewportSize();
    await own.setViewportSize({ width: size.width, height: 2400 });
    await turn.scrollIntoViewIfNeeded();
    const path = join(out, `${shotName}.png`);
    await turn.screenshot({ path });
    await own.setViewportSize(size);
    shots[shotName] = path;
    taken.push(shotName);
  }

  // list: one table row per data row, each cell the row's value.
  {
    const { turn, r } = turns.list;
    const rows = r.data.rows;
    const cells = await turn.locator('[data-testid="rows"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => JSON.parse(td.getAttribute('data-value')))),
    );
    const columns = [...r.executed_dsl.fields];
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    const expected = rows.map((row) => columns.map((c) => (row[c] === undefined ? null : row[c])));
    check(rows.length === 5 && JSON.stringify(cells) === JSON.stringify(expected), `the list's rows equal data.rows${at}`, JSON.stringify({ cells, expected }));
    // The CSV download holds exactly the same rows.
    const [download] = await Promise.all([page.waitForEvent('download'), turn.locator('[data-testid="download-csv"]').click()]);
    const csv = csvRows(readFileSync(await download.path(), 'utf8'));
    const asText = (v) => (v === null || v === undefined ? '' : String(v));
    check(
      JSON.stringify(csv) === JSON.stringify([columns, ...expected.map((row) => row.map(asText))]),
      `the CSV download equals the data${at}`,
      JSON.stringify(csv),
    );
  }
  // overview: one KPI card per metric of the role's overview set.
  {
    const { turn, r } = turns.overview;
    const metrics = await turn.locator('[data-testid="kpi"]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-metric')));
    check(
      JSON.stringify(metrics) === JSON.stringify(catalog.role.overview) && metrics.length === r.data.summary.length,
      `the overview shows one KPI card per metric of the analyst's KPI set (${catalog.role.overview.length})${at}`,
      JSON.stringify(metrics),
    );
    const values = await turn.locator('[data-testid="kpi"] .kpi-value').evaluateAll((v) => v.map((x) => JSON.parse(x.getAttribute('data-value'))));
    check(JSON.stringify(values) === JSON.stringify(r.data.summary.map((s) => s.value)), `each KPI card shows its value${at}`);
    // Each KPI with two or more known points of its series draws a sparkline of them.
    const lines = await turn.locator('[data-testid="kpi"]').evaluateAll((cards) =>
      cards.map((c) => {
        const svg = c.querySelector('svg.sparkline');
        return svg ? Number(svg.getAttribute('data-points')) : 0;
      }),
    );
    const known = r.data.summary.map((s) => {
      const n = r.data.timeseries.filter((t) => t.metric === s.metric && !t.dimensions && typeof t.value === 'number' && !t.suppressed).length;
      return n >= 2 ? n : 0;
    });
    check(JSON.stringify(lines) === JSON.stringify(known) && known.some((n) => n > 0), `each KPI card draws its series as a sparkline${at}`, JSON.stringify({ lines, known }));
    // A change is coloured as good or bad news, a fall being good for lower-is-better metrics.
    const lower = new Set(catalog.metrics.filter((m) => m.lower_is_better).map((m) => m.name));
    const colours = await turn.locator('[data-testid="kpi"]').evaluateAll((cards) =>
      cards.map((c) => {
        const d = c.querySelector('.kpi-delta');
        return d ? (d.classList.contains('good') ? 'good' : d.classList.contains('bad') ? 'bad' : 'flat') : null;
      }),
    );
    const wantColours = r.data.summary.map((s) => {
      if (s.previous === undefined || s.previous === null || s.delta === undefined || s.delta === null) return null;
      if (s.delta === 0) return 'flat';
      return (s.delta > 0) !== lower.has(s.metric) ? 'good' : 'bad';
    });
    check(JSON.stringify(colours) === JSON.stringify(wantColours), `KPI changes are coloured good or bad, lower-is-better respected${at}`, JSON.stringify({ colours, wantColours }));
  }
  // funnel: a bar per step with its step and overall conversion.
  {
    const { turn, r } = turns.funnel;
    const steps = turn.locator('[data-testid="funnel-step"]');
    check((await steps.count()) === r.data.funnel.length, `the funnel shows every step${at}`);
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    const texts = await turn.locator('[data-testid="step-rates"]').allTextContents();
    const want = r.data.funnel.map((s) => (s.step === 1 ? 'start' : `${pct(s.step_conversion)} of the step before · ${pct(s.overall_conversion)} overall`));
    check(JSON.stringify(texts) === JSON.stringify(want), `the funnel shows step percentages${at}`, JSON.stringify({ texts, want }));
  }
  // anomalies: one table row per anomaly of the scan.
  {
    const { turn, r } = turns.anomalies;
    const rows = await turn.locator('[data-testid="anomalies"] tbody tr').count();
    check(rows > 0 && rows === r.data.anomalies.anomalies.length, `"Anything unusual last week?" shows the anomalies table${at}`, `${rows} rows`);
  }
  // define: an entry per metric described and a quotation per passage, each with its source,
  // the passage text as text.
  {
    const { turn, r } = turns.define;
    const def = r.data.define;
    const entries = await turn.locator('[data-testid="definition"] .entry').count();
    check(entries === def.metrics.length + def.dimensions.length && entries > 0, `the definition card has an entry per term${at}`, `${entries}`);
    const quotes = turn.locator('[data-testid="definition"] figure.passage');
    check((await quotes.count()) === def.passages.length && def.passages.length > 0, `the definition card quotes every passage${at}`);
    const first = def.passages[0];
    check(
      (await quotes.first().locator('blockquote').textContent()) === first.text &&
        (await quotes.first().locator('figcaption').textContent()) === `${first.file} › ${first.heading}`,
      `a quoted passage shows its text and its file and heading${at}`,
    );
  }

  // retention: the heatmap holds every cohort.
  {
    const { turn, r } = turns.retention;
    const rows = await turn.locator('[data-testid="retention"] tbody tr').count();
    check(rows === r.data.retention.cohorts.length, `the retention heatmap has a row per cohort${at}`);
  }

  // Copy link: a permalink to this answer, which opens it again for its owner only.
  {
    const { turn, r } = turns.list;
    const link = await turn.locator('[data-testid="copy-link"]').getAttribute('data-link');
    check(link === `${base}/q/${r.query_id}`, `each answer offers a link to itself${at}`, link);
    const mine = await openAs(context, 'analyst', `/q/${r.query_id}`);
    const shown = mine.locator('li.turn.assistant').first();
    await shown.and(mine.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
    const again = await responseOf(shown);
    check(
      JSON.stringify(again.data) === JSON.stringify(r.data) && (await shown.locator('[data-testid="list"]').count()) === 1,
      `the permalink shows the owner the same answer${at}`,
    );
    check((await mine.locator('li.turn.user').first().textContent()).startsWith('top 5 customers by MRR'), `the permalink shows the question${at}`);
    await mine.close();
    for (const [who, path] of [
      ['another user (the executive)', `/q/${r.query_id}`],
      ['a forged id', `/q/${r.query_id.slice(0, -2)}zz`],
    ]) {
      const other = await openAs(context, who.startsWith('another') ? 'executive' : 'analyst', path);
      const turn2 = other.locator('li.turn.assistant').first();
      await turn2.and(other.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
      const text = await turn2.locator('[data-testid="error"]').textContent();
      check(
        (await turn2.getAttribute('data-outcome')) === 'error' && /query_not_found/.test(text) && (await other.locator('[data-testid="list"], [data-testid="raw"]').count()) === 0,
        `a permalink opened by ${who} shows a clear error and no data${at}`,
        text,
      );
      await other.close();
    }
  }

  // The glossary: the role's metrics and dimensions, searchable; an entry fills the input.
  {
    const toggle = page.locator('[data-testid="glossary-toggle"]');
    await toggle.click();
    const panel = page.locator('[data-testid="glossary"]');
    check(await panel.isVisible(), `the glossary opens${at}`);
    const metrics = page.locator('[data-testid="glossary-metric"]');
    check((await metrics.count()) === catalog.metrics.length, `the glossary lists the role's ${catalog.metrics.length} metrics${at}`);
    check(
      (await page.locator('[data-testid="glossary-dimension"]').count()) === catalog.dimensions.length,
      `and its ${catalog.dimensions.length} dimensions${at}`,
    );
    const mrr = catalog.metrics.find((m) => m.name === 'mrr');
    const entry = page.locator('[data-testid="glossary-metric"][data-name="mrr"]');
    const entryText = await entry.textContent();
    check(entryText.includes(mrr.label) && entryText.includes(mrr.description), `a metric entry shows its label and definition${at}`);
    const country = page.locator('[data-testid="glossary-dimension"][data-name="country"]');
    check((await country.locator('.chip.value').count()) === catalog.dimensions.find((d) => d.name === 'country').values.length, `a dimension entry shows its values${at}`);
    if (!phone) {
      // Every entry's question (each metric, each dimension, each dimension's first value) is
      // one the role gets an answer to, asked over HTTP as the page would.
      const questions = await panel.locator('button[data-question]').evaluateAll((buttons) => {
        const firstValues = new Set(Array.from(document.querySelectorAll('.entry-values li:first-child button')));
        return buttons.filter((b) => !b.classList.contains('value') || firstValues.has(b)).map((b) => b.getAttribute('data-question'));
      });
      const tokens = JSON.parse(await page.locator('#demo-tokens').textContent());
      const token = tokens.find((t) => t.role === 'analyst').token;
      const unanswered = [];
      for (const q of questions) {
        const res = await page.request.post(`${base}/v1/chat`, { headers: { Authorization: `Bearer ${token}` }, data: { question: q } });
        const body = await res.json();
        if (body.outcome !== 'answered') unanswered.push(`${q}: ${body.outcome}`);
      }
      check(
        questions.length === catalog.metrics.length + catalog.dimensions.length + catalog.dimensions.filter((d) => (d.values || []).length).length && unanswered.length === 0,
        `every glossary entry's question (${questions.length}) is answered${at}`,
        unanswered.join('; '),
      );
    }
    await page.locator('[data-testid="glossary-search"]').fill('churn');
    const visible = await metrics.evaluateAll((lis) => lis.filter((li) => !li.hidden).map((li) => li.getAttribute('data-name')));
    const want = catalog.metrics.filter((m) => [m.name, m.label, m.description].join(' ').toLowerCase().includes('churn')).map((m) => m.name);
    check(visible.length > 0 && want.every((n) => visible.includes(n)) && visible.length < catalog.metrics.length, `searching "churn" narrows the glossary${at}`, JSON.stringify(visible));
    const glossaryShot = async () => {
      const path = join(out, `glossary-${name}.png`);
      await panel.screenshot({ path });
      shots[`glossary-${name}`] = path;
    };
    if (phone) await glossaryShot();
    const first = metrics.filter({ visible: true }).first().locator('button.glossary-entry');
    const question = await first.getAttribute('data-question');
    await first.click();
    check((await page.locator('#question').inputValue()) === question, `clicking a glossary entry puts its question in the input${at}`, question);
    if (phone) check(!(await panel.isVisible()), `on a phone the drawer closes for the question${at}`);
    const n = await page.locator('li.turn.assistant').count();
    await page.locator('#question').press('Enter');
    const asked = page.locator('li.turn.assistant').nth(n);
    await asked.and(page.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
    check((await asked.getAttribute('data-outcome')) === 'answered', `the glossary's question is answered${at}`, question);
    if (!phone) {
      await page.locator('[data-testid="glossary-search"]').fill('');
      await glossaryShot();
      await page.locator('#glossary-close').click();
    }
    check(!(await panel.isVisible()), `the glossary closes${at}`);
    taken.push(`glossary-${name}`);
  }

  check((await contrastFailures(page)).length === 0, `every text on the page has AA contrast${at}`, (await contrastFailures(page)).join('; '));

  // Keyboard only: tab order, the glossary by keyboard, Enter sends, focus always visible.
  {
    const keys = await openAs(context, 'analyst');
    const focused = () =>
      keys.evaluate(() => {
        const a = document.activeElement;
        const style = getComputedStyle(a);
        if (a === document.body) return { id: 'BODY', ring: true };
        return { id: a.id || a.getAttribute('data-testid') || a.className, ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
      });
    // From the question box (focused at sign-in) round the page once, from the skip link on.
    let order = [];
    const ringless = [];
    for (let i = 0; i < 14; i += 1) {
      await keys.keyboard.press('Tab');
      const f = await focused();
      if (f.id === 'BODY') continue; // the browser's own controls, between the last and the first
      order.push(f.id);
      if (!f.ring) ringless.push(f.id);
    }
    order = order.slice(order.indexOf('skip-link'));
    const pos = (id) => order.indexOf(id);
    check(
      pos('role-picker') >= 0 && pos('role-picker') < pos('glossary-toggle') && pos('glossary-toggle') < pos('question') && pos('question') < pos('ask'),
      `Tab goes through the role, the glossary, the question and Ask in order${at}`,
      order.join(' → '),
    );
    check(ringless.length === 0, `every control shows a focus ring when tabbed to${at}`, ringless.join(', '));
    check(
      await keys.evaluate(() =>
        Array.from(document.querySelectorAll('button, select, textarea, input')).every(
          (c) => c.hidden || c.closest('[hidden]') || (c.labels && c.labels.length) || c.textContent.trim() || c.getAttribute('aria-label'),
        ),
      ),
      `every control has a label${at}`,
    );
    // The glossary by keyboard: Enter opens it on the search box, Tab reaches an entry, Enter
    // puts its question in the input; Escape closes it.
    await keys.locator('#glossary-toggle').focus();
    await keys.keyboard.press('Enter');
    check((await focused()).id === 'glossary-search', `Enter on Glossary opens it with the search box focused${at}`);
    await keys.keyboard.type('signups');
    await keys.keyboard.press('Tab'); // the first visible entry
    const question = await keys.evaluate(() => document.activeElement.getAttribute('data-question'));
    await keys.keyboard.press('Enter');
    check(question && (await keys.locator('#question').inputValue()) === question, `Enter on a glossary entry fills the input${at}`, question);
    if (!phone) {
      await keys.locator('#glossary-search').focus();
      await keys.keyboard.press('Escape');
    }
    check(!(await keys.locator('#glossary').isVisible()), `the glossary closes from the keyboard${at}`);
    // Type and send with Enter, never touching the mouse.
    await keys.locator('#question').focus();
    await keys.keyboard.press('Control+A');
    await keys.keyboard.type('How are we doing?');
    await keys.keyboard.press('Enter');
    const turn = keys.locator('li.turn.assistant').first();
    await turn.and(keys.locator('[data-outcome]')).waitFor({ timeout: TIMEOUT });
    check((await turn.getAttribute('data-outcome')) === 'answered', `Enter sends the question${at}`);
    check((await focused()).id === 'question', `focus returns to the question box after the answer${at}`);
    // The answer's actions are reachable with Tab from the answer's own controls.
    await turn.locator('[data-testid="download-csv"]').focus();
    const ring = await focused();
    check(ring.ring, `the answer's actions show a focus ring${at}`);
    await keys.close();
  }
  await page.close();
  return taken;
}

main();
