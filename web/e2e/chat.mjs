// The chat page in a real browser: Debian's chromium driven by playwright-core against a running
// `tally demo --today 2026-11-23` (tests/browser.rs starts it and sets TALLY_URL).
//
//   TALLY_URL=http://127.0.0.1:8080 node chat.mjs
//
// Environment: TALLY_URL (required); E2E_OUT, where screenshots go (default target/e2e);
// CHROMIUM, the browser binary (default: Debian's); UPDATE_SCREENSHOTS=1 also copies the three
// README screenshots into web/screenshots/.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
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
  const context = await browser.newContext({
    viewport: { width: 1200, height: 900 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  // Console errors, page errors, dialogs and CSP violations, on every page of the context.
  const problems = [];
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on('page', (p) => {
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    p.on('dialog', (d) => {
      problems.push(`a dialog opened: ${d.message()}`);
      d.dismiss();
    });
  });
  const page = await context.newPage();
  let dauChartDrawn = false;

  try {
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
      dauChartDrawn = check(chart1.state === 'rendered' && chart1.marks > 0, 'the DAU chart is drawn as SVG marks', JSON.stringify(chart1));
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

main();
