// Tally's chat page: asks POST /v1/chat (server-sent stage events, then the response contract of
// DESIGN §7), renders the answer and its data by kind (a list's table, an overview's KPI cards,
// a funnel's step bars, a retention heatmap, else the Vega-Lite chart), refusals and
// clarifications, CSV download and copy buttons (CSV, DSL, curl, a permalink), an inspector
// with the executed DSL, SQL, timings and sources, and a glossary of what the role may ask
// about (GET /v1/catalog). At /q/{query_id} it shows that past answer of the caller's own
// (GET /v1/queries/{id} for the question, GET /v1/queries/{id}/answer for the answer).
//
// Every string from the user, the server or the data reaches the DOM through textContent or an
// attribute set with setAttribute, never through innerHTML. No inline styles or scripts: the
// page runs under a CSP without 'unsafe-inline' or 'unsafe-eval' (see src/server/routes/page.rs).
'use strict';

(function () {
  const TOKEN_KEY = 'tally.token';
  const DEMO_ROLE_KEY = 'tally.demo-role';
  const STAGES = [
    ['translated', 'Translated'],
    ['validated', 'Validated'],
    ['executed', 'Executed'],
    ['answer', 'Answer written'],
  ];
  const OUTCOME_LABELS = {
    answered: 'Answered',
    refused: 'Refused',
    needs_clarification: 'Needs clarification',
    invalid: 'Invalid query',
  };

  const $ = (id) => document.getElementById(id);

  // el('p', {class: 'x', 'data-testid': 'y'}, 'text', child) — children are text or nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'class') node.className = value;
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const state = {
    token: null,
    claims: null,
    demoTokens: readDemoTokens(),
    conversationId: null,
    busy: false,
    // Metric name → label and → format, from GET /v1/catalog, for naming suggested queries
    // and formatting numbers; entity name → field name → format, for list tables.
    labels: new Map(),
    formats: new Map(),
    lowerIsBetter: new Set(),
    fields: new Map(),
    // The role's catalog as GET /v1/catalog returned it, for the glossary.
    catalog: null,
    // The query id of a permalink (/q/{id}) still to show once signed in.
    permalink: permalinkId(),
    // Settles (never rejects) when the catalog has loaded or failed: answers wait for it so
    // their numbers carry the metric's format.
    catalogLoaded: Promise.resolve(),
  };

  // ---- identity -------------------------------------------------------------------------

  function permalinkId() {
    const m = /^\/q\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch (_) {
      return m[1];
    }
  }

  function readDemoTokens() {
    const block = document.getElementById('demo-tokens');
    if (!block) return null;
    try {
      const list = JSON.parse(block.textContent);
      return Array.isArray(list) && list.length ? list : null;
    } catch (_) {
      return null;
    }
  }

  // The payload of a JWT, for display only: the server verifies every request.
  function decodeJwt(token) {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('a token has three dot-separated parts');
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null) throw new Error('the payload is not an object');
    return claims;
  }

  function useToken(token) {
    const claims = decodeJwt(token);
    state.token = token;
    state.claims = claims;
    const workspaces = Array.isArray(claims.workspaces) ? claims.workspaces.join(', ') : '?';
    $('who').textContent = `${claims.role || '?'} · ${workspaces}`;
    $('who').title = claims.sub ? `signed in as ${claims.sub}` : '';
    $('identity').hidden = false;
    $('signin').hidden = true;
    $('chat').hidden = false;
    $('composer').hidden = false;
    $('question').focus();
    state.catalogLoaded = loadLabels(token);
    if (state.permalink) {
      const id = state.permalink;
      state.permalink = null;
      showPermalink(id);
    }
  }

  // What the role may ask about: labels for suggestion buttons, and the catalog's own example
  // questions as chips. Failures are ignored (labels fall back to names, no chips).
  async function loadLabels(token) {
    try {
      const response = await fetch('/v1/catalog', { headers: { Authorization: `Bearer ${token}` }, credentials: 'omit' });
      if (!response.ok || token !== state.token) return;
      const catalog = await response.json();
      state.labels = new Map((catalog.metrics || []).map((m) => [m.name, m.label || m.name]));
      state.formats = new Map((catalog.metrics || []).map((m) => [m.name, m.format]));
      state.lowerIsBetter = new Set((catalog.metrics || []).filter((m) => m.lower_is_better).map((m) => m.name));
      state.fields = new Map(
        (catalog.entities || []).map((e) => [e.name, new Map((e.fields || []).map((f) => [f.name, f]))]),
      );
      state.catalog = catalog;
      renderGlossary();
      const examples = (catalog.catalog && catalog.catalog.example_questions) || [];
      $('examples').replaceChildren(
        ...examples.slice(0, 6).map((q) =>
          el('li', {}, el('button', { type: 'button', class: 'chip', onclick: () => ask(q) }, q))),
      );
    } catch (_) {
      /* labels fall back to metric names */
    }
  }

  function showSignIn(message) {
    state.token = null;
    state.claims = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $('identity').hidden = true;
    $('chat').hidden = true;
    $('composer').hidden = true;
    $('signin').hidden = false;
    const error = $('token-error');
    error.hidden = !message;
    error.textContent = message || '';
    $('token-input').focus();
  }

  function setUpIdentity() {
    if (state.demoTokens) {
      const picker = $('role-picker');
      for (const { role } of state.demoTokens) picker.append(el('option', { value: role }, role));
      const saved = sessionStorage.getItem(DEMO_ROLE_KEY);
      const initial =
        state.demoTokens.find((t) => t.role === saved) ||
        state.demoTokens.find((t) => t.role === 'analyst') ||
        state.demoTokens[0];
      picker.value = initial.role;
      picker.addEventListener('change', () => {
        const chosen = state.demoTokens.find((t) => t.role === picker.value);
        sessionStorage.setItem(DEMO_ROLE_KEY, chosen.role);
        useToken(chosen.token);
        newConversation(`Now asking as ${chosen.role}.`);
      });
      $('role-picker-wrap').hidden = false;
      useToken(initial.token);
      return;
    }
    $('sign-out').hidden = false;
    $('sign-out').addEventListener('click', () => showSignIn(''));
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
      try {
        useToken(token);
        sessionStorage.setItem(TOKEN_KEY, token);
        $('token-input').value = '';
      } catch (e) {
        showSignIn(`That does not look like a JWT: ${e.message}.`);
      }
    });
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      try {
        useToken(saved);
        return;
      } catch (_) {
        /* fall through to the form */
      }
    }
    showSignIn('');
  }

  // ---- glossary ---------------------------------------------------------------------------
  //
  // The role's metrics (label, definition, format, dimensions) and dimensions (definition,
  // values), filtered by the search box; choosing an entry puts a question about it in the
  // question box (not sent: the user may edit it first).

  const FORMAT_WORDS = {
    integer: 'count',
    decimal: 'number',
    percent: 'percent',
    currency: 'currency',
    duration_minutes: 'minutes',
    duration_hours: 'hours',
  };

  // A metric's label as it reads inside a question: "Daily active users" → "daily active
  // users", acronyms ("MRR") kept.
  function inQuestion(label) {
    return /^[A-Z0-9]{2,}$/.test(label.split(' ')[0]) ? label : label[0].toLowerCase() + label.slice(1);
  }

  function metricQuestion(m) {
    return `${inQuestion(m.label || humanize(m.name))} last week`;
  }

  // A dimension's question: the first metric the role may break down by it, by that dimension.
  function dimensionQuestion(d, value) {
    const metrics = (state.catalog && state.catalog.metrics) || [];
    const m = metrics.find((x) => (x.dimensions || []).includes(d.name));
    const what = m ? inQuestion(m.label || humanize(m.name)) : 'events';
    return value === undefined ? `${what} by ${humanize(d.name).toLowerCase()} last week` : `${what} in ${value} last week`;
  }

  function useQuestion(text) {
    const input = $('question');
    input.value = text;
    input.dispatchEvent(new Event('input'));
    if (window.matchMedia('(max-width: 900px)').matches) setGlossary(false, false);
    input.focus();
    input.setSelectionRange(text.length, text.length);
  }

  function renderGlossary() {
    const catalog = state.catalog;
    if (!catalog) return;
    const role = catalog.role || {};
    $('glossary-role').textContent = `What the ${role.name || 'current'} role may ask about: ${(catalog.metrics || []).length} metrics, ${(catalog.dimensions || []).length} dimensions.`;
    $('glossary-metrics').replaceChildren(
      ...(catalog.metrics || []).map((m) => {
        const label = m.label || humanize(m.name);
        const search = [m.name, label, m.description, m.format, ...(m.dimensions || [])].join(' ').toLowerCase();
        return el(
          'li',
          { 'data-search': search, 'data-testid': 'glossary-metric', 'data-name': m.name },
          el(
            'button',
            { type: 'button', class: 'glossary-entry', 'data-question': metricQuestion(m), onclick: () => useQuestion(metricQuestion(m)) },
            el('span', { class: 'entry-name' }, label),
            el('span', { class: 'entry-format' }, FORMAT_WORDS[m.format] || m.format || ''),
          ),
          m.description ? el('p', { class: 'entry-text' }, m.description) : null,
          (m.dimensions || []).length
            ? el('p', { class: 'entry-meta' }, 'By ', (m.dimensions || []).map((d) => humanize(d).toLowerCase()).join(', '))
            : null,
        );
      }),
    );
    $('glossary-dimensions').replaceChildren(
      ...(catalog.dimensions || []).map((d) => {
        const values = d.values || [];
        const search = [d.name, humanize(d.name), d.description, ...values].join(' ').toLowerCase();
        return el(
          'li',
          { 'data-search': search, 'data-testid': 'glossary-dimension', 'data-name': d.name },
          el(
            'button',
            { type: 'button', class: 'glossary-entry', 'data-question': dimensionQuestion(d), onclick: () => useQuestion(dimensionQuestion(d)) },
            el('span', { class: 'entry-name' }, humanize(d.name)),
            el('span', { class: 'entry-format' }, d.type || ''),
          ),
          d.description ? el('p', { class: 'entry-text' }, d.description) : null,
          values.length
            ? el(
                'ul',
                { class: 'entry-values', 'aria-label': `${humanize(d.name)} values` },
                values.slice(0, 24).map((v) =>
                  el('li', {}, el('button', { type: 'button', class: 'chip value', 'data-question': dimensionQuestion(d, v), onclick: () => useQuestion(dimensionQuestion(d, v)) }, v)),
                ),
                values.length > 24 ? el('li', { class: 'entry-meta' }, `and ${values.length - 24} more`) : null,
              )
            : null,
        );
      }),
    );
    filterGlossary();
  }

  function filterGlossary() {
    const words = $('glossary-search').value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const li of document.querySelectorAll('#glossary-metrics > li, #glossary-dimensions > li')) {
      const text = li.getAttribute('data-search') || '';
      const match = words.every((w) => text.includes(w));
      li.hidden = !match;
      if (match) shown += 1;
    }
    $('glossary-empty').hidden = shown > 0;
  }

  function setGlossary(open, moveFocus = true) {
    const panel = $('glossary');
    panel.hidden = !open;
    $('glossary-toggle').setAttribute('aria-expanded', String(open));
    document.body.classList.toggle('glossary-open', open);
    // On a phone the drawer covers the chat: keep Tab and screen readers inside it while open.
    const drawer = open && window.matchMedia('(max-width: 900px)').matches;
    $('main').inert = drawer;
    $('composer').inert = drawer;
    if (!moveFocus) return;
    if (open) $('glossary-search').focus();
    else $('glossary-toggle').focus();
  }

  function setUpGlossary() {
    $('glossary-toggle').addEventListener('click', () => setGlossary($('glossary').hidden));
    $('glossary-close').addEventListener('click', () => setGlossary(false));
    $('glossary-search').addEventListener('input', filterGlossary);
    $('glossary').addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        setGlossary(false);
      }
    });
  }

  // ---- permalinks --------------------------------------------------------------------------

  const NOT_YOURS =
    'This link does not open for you: a link to an answer opens only for the person who asked the question, and no question of yours has this id.';

  async function showPermalink(id) {
    if (!state.token) return;
    const headers = { Authorization: `Bearer ${state.token}`, Accept: 'application/json' };
    const get = (path) => fetch(path, { headers, credentials: 'omit', cache: 'no-store' });
    const question = userTurn('A linked answer…', 'permalink');
    appendTurn(question);
    const turn = el('li', { class: 'turn assistant pending', 'data-testid': 'turn' });
    appendTurn(turn);
    setBusy(true);
    try {
      const path = `/v1/queries/${encodeURIComponent(id)}`;
      const record = await get(path);
      if (record.status === 404) {
        question.querySelector('p').textContent = `Link ${id}`;
        renderError(turn, { code: 'query_not_found', message: NOT_YOURS });
        return;
      }
      if (!record.ok) {
        await readAnswer(record, turn, null);
        return;
      }
      const r = await record.json();
      question.querySelector('p').textContent = r.question || 'A DSL query';
      question.append(el('p', { class: 'asked', 'data-testid': 'asked-at' }, `asked ${formatDate(r.asked_at)} · shown again as of that day`));
      await readAnswer(await get(`${path}/answer`), turn, null);
    } catch (e) {
      renderError(turn, { code: 'network', message: `the server could not be reached (${e.message})` });
    } finally {
      setBusy(false);
    }
  }

  // ---- conversation ---------------------------------------------------------------------

  function newConversation(note) {
    state.conversationId = null;
    $('log').replaceChildren();
    $('empty').hidden = false;
    $('conversation-label').textContent = note || '';
  }

  function setBusy(busy) {
    state.busy = busy;
    $('ask').disabled = busy;
    $('ask').textContent = busy ? 'Working…' : 'Ask';
  }

  function appendTurn(node) {
    $('empty').hidden = true;
    $('log').append(node);
    node.scrollIntoView({ block: 'end', behavior: 'auto' });
  }

  function userTurn(text, kind) {
    return el('li', { class: `turn user ${kind || ''}`, 'data-testid': 'question' }, el('p', {}, text));
  }

  function progressList() {
    const list = el('ol', { class: 'progress', 'data-testid': 'progress' });
    for (const [name, label] of STAGES) {
      list.append(el('li', { 'data-stage': name, class: 'pending' }, label));
    }
    return list;
  }

  function markStage(list, name, payload) {
    const item = Array.from(list.children).find((li) => li.getAttribute('data-stage') === name);
    if (!item) return;
    item.className = 'done';
    const ms = payload && typeof payload.ms === 'number' ? payload.ms : null;
    if (ms !== null) item.append(el('span', { class: 'ms' }, ` ${ms.toFixed(1)} ms`));
  }

  async function ask(question) {
    question = question.trim();
    if (!question || state.busy || !state.token) return;
    setBusy(true);
    appendTurn(userTurn(question));
    const progress = progressList();
    const turn = el('li', { class: 'turn assistant pending', 'data-testid': 'turn' }, progress);
    appendTurn(turn);
    const body = { question };
    if (state.conversationId) body.conversation_id = state.conversationId;
    try {
      const response = await post('/v1/chat', body, 'text/event-stream');
      await readAnswer(response, turn, progress);
    } catch (e) {
      renderError(turn, { code: 'network', message: `the server could not be reached (${e.message})` });
    } finally {
      setBusy(false);
      $('question').focus();
    }
  }

  // A suggested query from a refusal runs as DSL: POST /v1/query, outside the conversation.
  async function runDsl(dsl, label) {
    if (state.busy || !state.token) return;
    setBusy(true);
    appendTurn(userTurn(label, 'dsl'));
    const turn = el('li', { class: 'turn assistant pending', 'data-testid': 'turn' });
    appendTurn(turn);
    try {
      const response = await post('/v1/query', { dsl }, 'application/json');
      await readAnswer(response, turn, null);
    } catch (e) {
      renderError(turn, { code: 'network', message: `the server could not be reached (${e.message})` });
    } finally {
      setBusy(false);
    }
  }

  function post(path, body, accept) {
    return fetch(path, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${state.token}`,
        'Content-Type': 'application/json',
        Accept: accept,
      },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  }

  // The catalog's labels and formats, waited for at most 3 s: a slow catalog must not hold an
  // answer back (its numbers then fall back to plain formats).
  function catalogOrTimeout() {
    return Promise.race([state.catalogLoaded, new Promise((done) => setTimeout(done, 3000))]);
  }

  async function readAnswer(response, turn, progress) {
    const type = response.headers.get('content-type') || '';
    if (response.ok && type.startsWith('text/event-stream')) {
      let finished = false;
      for await (const { event, data } of sseEvents(response)) {
        let payload = null;
        try {
          payload = data ? JSON.parse(data) : null;
        } catch (_) {
          payload = null;
        }
        if (event === 'response' && payload) {
          await catalogOrTimeout();
          renderResponse(turn, payload);
          finished = true;
        } else if (event === 'error') {
          renderError(turn, payload || { code: 'stream_error', message: 'the answer stream failed' });
          finished = true;
        } else if (progress) {
          markStage(progress, event, payload);
        }
      }
      if (!finished) renderError(turn, { code: 'stream_ended', message: 'the answer stream ended early' });
      return;
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (payload && typeof payload.outcome === 'string') {
      // The response contract, also on 400 for an invalid query.
      await catalogOrTimeout();
      renderResponse(turn, payload);
    } else if (response.status === 401 && !state.demoTokens) {
      showSignIn(`The server did not accept the token: ${(payload && payload.reason) || 'unauthorized'}.`);
    } else if (response.status === 401) {
      // Each `tally demo` run mints new tokens: a page left open across a restart holds stale ones.
      renderError(turn, { code: (payload && payload.reason) || 'unauthorized', message: 'the demo token was not accepted: reload the page' });
    } else {
      renderError(turn, payload || { code: `http_${response.status}`, message: response.statusText });
    }
  }

  // Server-sent events from a fetch body (EventSource cannot POST or send a bearer token).
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length || event !== 'message') yield { event, data: data.join('\n') };
      }
    }
  }

  // ---- rendering ------------------------------------------------------------------------

  function renderResponse(turn, r) {
    if (r.conversation_id) {
      state.conversationId = r.conversation_id;
      $('conversation-label').textContent = `Conversation ${r.conversation_id}`;
    }
    const outcome = typeof r.outcome === 'string' ? r.outcome : 'invalid';
    turn.className = `turn assistant ${outcome}`;
    turn.setAttribute('data-outcome', outcome);
    const header = el('div', { class: 'turn-header' }, el('span', { class: `badge ${outcome}` }, OUTCOME_LABELS[outcome] || outcome));
    const parts = [header];
    if (outcome === 'answered') {
      parts.push(el('p', { class: 'answer', 'data-testid': 'answer' }, r.answer || ''));
      if (r.data && r.data.truncated) {
        parts.push(el('p', { class: 'note' }, 'Rows were cut at the row limit: these numbers may be incomplete.'));
      }
      const view = r.data ? resultView(r) : null;
      // The answer sentence is every result's text alternative, as it is the chart's.
      if (view && !view.hasAttribute('aria-label')) view.setAttribute('aria-label', r.answer || 'the answer');
      if (view) parts.push(view);
      // A definition asked with a question (`then`) shows that question's chart after its card.
      const definitionWithChart = view && r.executed_dsl && r.executed_dsl.kind === 'define';
      if ((!view || definitionWithChart) && r.chart) parts.push(chartBox(r.chart, r.answer));
      parts.push(actions(r));
    } else if (outcome === 'refused') {
      parts.push(refusalBox(r));
    } else if (outcome === 'needs_clarification') {
      parts.push(clarificationBox(r));
    } else {
      parts.push(invalidBox(r));
    }
    parts.push(inspector(r));
    turn.replaceChildren(...parts);
    for (const box of turn.querySelectorAll('.chart')) drawChart(box);
    reveal(turn);
  }

  function renderError(turn, error) {
    turn.className = 'turn assistant error';
    turn.setAttribute('data-outcome', 'error');
    turn.replaceChildren(
      el('div', { class: 'turn-header' }, el('span', { class: 'badge error' }, 'Error')),
      el(
        'p',
        { class: 'answer', 'data-testid': 'error' },
        error.message || 'something went wrong',
        error.code ? el('code', { class: 'code' }, error.code) : null,
      ),
    );
  }

  function refusalBox(r) {
    const refusal = r.refusal || {};
    const box = el(
      'div',
      { class: 'refusal', 'data-testid': 'refusal' },
      el('p', { class: 'answer' }, refusal.message || r.answer || 'This question was refused.'),
      refusal.code ? el('p', { class: 'meta' }, 'reason: ', el('code', {}, refusal.code)) : null,
    );
    const reasons = Array.isArray(refusal.reasons) ? refusal.reasons.slice(1) : [];
    if (reasons.length) {
      box.append(el('ul', { class: 'reasons' }, reasons.map((x) => el('li', {}, x.message || x.code))));
    }
    if (refusal.suggestion) {
      const label = describeDsl(refusal.suggestion);
      box.append(
        el(
          'div',
          { class: 'suggestions' },
          el('span', { class: 'meta' }, 'You may ask instead:'),
          el(
            'button',
            {
              type: 'button',
              class: 'chip suggestion',
              'data-testid': 'suggestion',
              onclick: () => runDsl(refusal.suggestion, `Suggested query: ${label}`),
            },
            label,
          ),
        ),
      );
    }
    return box;
  }

  // A short description of a DSL document for a button: kind, metrics or entity, period.
  function describeDsl(dsl) {
    if (!dsl || typeof dsl !== 'object') return 'run the suggested query';
    const what = Array.isArray(dsl.metrics)
      ? dsl.metrics.map((m) => state.labels.get(m) || m).join(', ')
      : dsl.entity
        ? `${dsl.entity} list`
        : dsl.kind || 'query';
    const p = dsl.period || {};
    let when = '';
    if (p.preset) when = p.preset.replace(/_/g, ' ');
    else if (p.last_n) when = `last ${p.last_n.count} ${p.last_n.unit}s`;
    else if (p.between) when = `${p.between.start} to ${p.between.end}`;
    else if (p.date) when = p.date;
    const by = Array.isArray(dsl.group_by) && dsl.group_by.length ? ` by ${dsl.group_by.join(', ')}` : '';
    return `${what}${by}${when ? ` · ${when}` : ''}`;
  }

  function clarificationBox(r) {
    const c = r.clarification || {};
    const box = el(
      'div',
      { class: 'clarification', 'data-testid': 'clarification' },
      el('p', { class: 'answer' }, c.message || r.answer || 'Could you rephrase that?'),
    );
    if (Array.isArray(c.unmapped) && c.unmapped.length) {
      box.append(
        el('p', { class: 'meta' }, 'Not understood: ', c.unmapped.map((w) => el('mark', { class: 'unmapped' }, w))),
      );
    }
    if (Array.isArray(c.suggestions) && c.suggestions.length) {
      box.append(
        el(
          'div',
          { class: 'suggestions' },
          el('span', { class: 'meta' }, 'Try:'),
          c.suggestions.map((s) =>
            el('button', { type: 'button', class: 'chip suggestion', 'data-testid': 'suggestion', onclick: () => ask(s) }, s),
          ),
        ),
      );
    }
    return box;
  }

  function invalidBox(r) {
    const box = el('div', { class: 'invalid', 'data-testid': 'invalid' }, el('p', { class: 'answer' }, r.answer || 'The query is not valid.'));
    const diagnostics = Array.isArray(r.diagnostics) ? r.diagnostics : [];
    if (diagnostics.length) {
      box.append(
        el(
          'ul',
          { class: 'diagnostics' },
          diagnostics.map((d) =>
            el(
              'li',
              {},
              el('code', {}, d.code || 'invalid'),
              d.pointer ? el('code', { class: 'pointer' }, d.pointer) : null,
              ` ${d.message || ''}`,
              d.nearest ? ` (did you mean ${d.nearest}?)` : '',
            ),
          ),
        ),
      );
    }
    return box;
  }

  function inspector(r) {
    const sections = [];
    sections.push(section('Executed DSL', pre(r.executed_dsl ? JSON.stringify(r.executed_dsl, null, 2) : 'none (nothing ran)', 'dsl')));
    if (typeof r.sql === 'string') sections.push(section('SQL', pre(r.sql, 'sql')));
    if (r.timings_ms && typeof r.timings_ms === 'object') {
      const rows = Object.entries(r.timings_ms).map(([stage, ms]) =>
        el('tr', {}, el('th', { scope: 'row' }, stage), el('td', {}, typeof ms === 'number' ? `${ms.toFixed(2)} ms` : String(ms))),
      );
      sections.push(section('Timings', el('table', { class: 'timings', 'data-testid': 'timings' }, el('tbody', {}, rows))));
    }
    if (Array.isArray(r.sources) && r.sources.length) {
      sections.push(
        section(
          'Sources',
          el(
            'ul',
            { class: 'sources', 'data-testid': 'sources' },
            r.sources.map((s) => el('li', {}, el('strong', {}, s.label || s.metric || ''), s.definition ? ` — ${s.definition}` : '')),
          ),
        ),
      );
    }
    const period = r.data && r.data.period;
    const facts = [
      ['query id', r.query_id],
      ['translator', r.translator],
      ['catalog', r.catalog_version],
      ['period', period ? `${period.start} – ${period.end}` : null],
      ['repairs', Array.isArray(r.repairs) && r.repairs.length ? r.repairs.map((x) => x.message || JSON.stringify(x)).join('; ') : null],
    ].filter(([, v]) => v);
    sections.push(section('Query', el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))));
    sections.push(
      el('details', { class: 'raw' }, el('summary', {}, 'Raw response'), pre(JSON.stringify(r, null, 2), 'raw')),
    );
    return el(
      'details',
      { class: 'inspector', 'data-testid': 'inspector' },
      el('summary', {}, 'Inspector', el('span', { class: 'meta' }, ' · DSL', typeof r.sql === 'string' ? ', SQL' : '', ', timings, sources')),
      sections,
    );
  }

  function section(title, body) {
    return el('section', { class: 'inspector-section' }, el('h3', {}, title), body);
  }

  function pre(text, testid) {
    return el('pre', { 'data-testid': testid }, el('code', {}, text));
  }

  // ---- answers by kind --------------------------------------------------------------------
  //
  // A list is a table of `data.rows`, an overview is KPI cards of `data.summary`, a funnel is a
  // bar per step of `data.funnel`, a retention is a cohort × offset heatmap of
  // `data.retention`, an anomaly scan a table of `data.anomalies`. Other kinds (series,
  // breakdowns, explain) keep the response's Vega-Lite
  // chart. Every number is formatted by its metric's (or field's) catalog format.

  // Generic words only: a catalog's own names (metrics, fields) get their labels from the catalog.
  const ACRONYMS = new Set(['id', 'url', 'uri', 'api', 'sku', 'utm']);

  // company_name → "Company name"; checkout_started → "Checkout started".
  function humanize(name) {
    const words = String(name).split(/[_\s]+/).filter(Boolean);
    return words
      .map((w, i) => (ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : i === 0 ? w[0].toUpperCase() + w.slice(1) : w))
      .join(' ');
  }

  function metricLabel(name) {
    return state.labels.get(name) || humanize(name);
  }

  // `v` with `decimals` places and thousands separators, never "-0".
  function fixed(v, decimals) {
    const limit = 0.5 * 10 ** -decimals;
    const x = Math.abs(v) < limit ? 0 : v;
    return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  // A value in a catalog format (integer, decimal, percent, currency, duration_minutes,
  // duration_hours), as the answer text writes it; null is a dash.
  function formatValue(v, format) {
    if (v === null || v === undefined) return '—';
    if (typeof v !== 'number') return String(v);
    switch (format) {
      case 'integer':
        return Number.isInteger(v) ? fixed(v, 0) : fixed(v, 1);
      case 'decimal':
        return fixed(v, 2);
      case 'percent':
        return `${fixed(v * 100, 1)}%`;
      case 'currency': {
        const digits = Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : 2;
        return `${v < 0 ? '-' : ''}$${fixed(Math.abs(v), digits)}`;
      }
      case 'duration_minutes':
        return `${fixed(v, 1)} min`;
      case 'duration_hours':
        return `${fixed(v, 1)} h`;
      default:
        return Number.isInteger(v) ? fixed(v, 0) : fixed(v, 2);
    }
  }

  function pct(fraction) {
    return fraction === null || fraction === undefined ? '—' : `${fixed(fraction * 100, 1)}%`;
  }

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // "2026-11-09" → "9 Nov 2026" (other strings unchanged).
  function formatDate(text, withYear = true) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(text));
    if (!m) return String(text);
    const day = `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]}`;
    return withYear ? `${day} ${m[1]}` : day;
  }

  function dimensionsLabel(dimensions) {
    if (!dimensions) return 'All';
    return Object.values(dimensions).map((v) => (v === null ? '(none)' : v)).join(' · ') || 'All';
  }

  function resultView(r) {
    const d = r.data;
    const kind = r.executed_dsl && r.executed_dsl.kind;
    if (kind === 'list' || (Array.isArray(d.rows) && d.rows.length)) return listTable(r);
    if (kind === 'overview' && Array.isArray(d.summary) && d.summary.length) return kpiCards(r);
    if (kind === 'funnel' && Array.isArray(d.funnel) && d.funnel.length) return funnelBars(r);
    if (kind === 'retention' && d.retention && Array.isArray(d.retention.cohorts) && d.retention.cohorts.length) {
      return retentionHeatmap(r);
    }
    if (kind === 'anomalies' && d.anomalies && Array.isArray(d.anomalies.anomalies) && d.anomalies.anomalies.length) {
      return anomalyTable(r);
    }
    if (kind === 'define' && d.define) return definitionCard(r);
    return null;
  }

  // A definition: each metric and dimension with its catalog description and how it is read,
  // then the docs' passages as quotations with their file and heading. Passage text is set as
  // text (never as HTML): it is data, whatever it says.
  function definitionCard(r) {
    const def = r.data.define;
    const facts = (m) => {
      const parts = [`type ${m.type.replace(/_/g, ' ')}`];
      if (m.table) parts.push(`table ${m.table}`);
      if (m.time) parts.push(`dated by ${m.time}`);
      if (m.snapshot) parts.push(`at the ${m.snapshot.at} of the period`);
      if (m.window) parts.push(`per ${m.window}`);
      if (m.numerator) parts.push(`${metricLabel(m.numerator)} / ${metricLabel(m.denominator)}`);
      if (m.expression) parts.push(m.expression);
      parts.push(`format ${m.format.replace(/_/g, ' ')}`);
      if (m.lower_is_better) parts.push('lower is better');
      return parts.join(' · ');
    };
    const entries = [
      ...def.metrics.map((m) =>
        el('div', { class: 'entry' }, el('dt', {}, m.label), el('dd', {}, m.description), el('dd', { class: 'note' }, facts(m))),
      ),
      ...def.dimensions.map((x) =>
        el(
          'div',
          { class: 'entry' },
          el('dt', {}, humanize(x.name)),
          el('dd', {}, x.description),
          Array.isArray(x.values) ? el('dd', { class: 'note' }, `values: ${x.values.join(', ')}`) : null,
        ),
      ),
    ];
    const quotes = def.passages.map((p) =>
      el('figure', { class: 'passage' }, el('blockquote', {}, p.text), el('figcaption', { class: 'note' }, `${p.file} › ${p.heading}`)),
    );
    return el(
      'section',
      { class: 'result definition', 'data-testid': 'definition' },
      entries.length ? el('dl', {}, entries) : null,
      quotes.length ? el('div', { class: 'passages' }, el('h3', {}, 'From the docs'), quotes) : null,
    );
  }

  // One row per anomaly, most severe first: the day's value against its expected range.
  function anomalyTable(r) {
    const scan = r.data.anomalies;
    const head = el(
      'tr',
      {},
      ['Metric', 'Segment', 'Day'].map((h) => el('th', { scope: 'col' }, h)),
      ['Value', 'Usual (median)', 'Expected range', 'Change', 'p'].map((h) => el('th', { scope: 'col', class: 'num' }, h)),
    );
    const rows = scan.anomalies.map((a) => {
      const format = state.formats.get(a.metric);
      return el(
        'tr',
        { class: a.direction === 'down' ? 'down' : 'up' },
        el('th', { scope: 'row' }, metricLabel(a.metric)),
        el('td', {}, dimensionsLabel(Object.keys(a.dimensions || {}).length ? a.dimensions : null)),
        el('td', {}, formatDate(a.day)),
        el('td', { class: 'num' }, formatValue(a.value, format)),
        el('td', { class: 'num', title: `same weekday: ${a.same_weekday.map((v) => formatValue(v, format)).join(', ')}` }, formatValue(a.baseline, format)),
        el('td', { class: 'num' }, `${formatValue(a.expected[0], format)} – ${formatValue(a.expected[1], format)}`),
        el('td', { class: 'num' }, pct(a.delta_pct)),
        el('td', { class: 'num' }, a.p_value < 0.001 ? '< 0.001' : fixed(a.p_value, 3)),
      );
    });
    return el(
      'figure',
      { class: 'result anomalies', 'data-testid': 'anomalies' },
      el(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'anomalies' },
        el('table', {}, el('thead', {}, head), el('tbody', {}, rows)),
      ),
      el('figcaption', { class: 'note' }, `${scan.flagged} of ${scan.tested} segment-days flagged. ${scan.method}`),
    );
  }

  // The list's columns: the DSL's fields in their order, then any other key the rows carry.
  function listColumns(r) {
    const rows = r.data.rows || [];
    const asked = (r.executed_dsl && Array.isArray(r.executed_dsl.fields) && r.executed_dsl.fields) || [];
    const columns = [...asked];
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    return columns;
  }

  function listTable(r) {
    const rows = r.data.rows || [];
    const dsl = r.executed_dsl || {};
    const fields = state.fields.get(dsl.entity) || new Map();
    const columns = listColumns(r);
    const formatCell = (column, v) => {
      const field = fields.get(column);
      if (v === null || v === undefined) return '—';
      if (field && field.type === 'date') return formatDate(v);
      if (typeof v === 'number') return formatValue(v, field && field.format);
      if (typeof v === 'boolean') return v ? 'yes' : 'no';
      return String(v);
    };
    const numericColumns = new Set(columns.filter((c) => rows.some((row) => typeof row[c] === 'number')));
    const numeric = (column) => numericColumns.has(column);
    const body = el('tbody', {});
    const fill = (order) => {
      body.replaceChildren(
        ...order.map((row) =>
          el(
            'tr',
            {},
            columns.map((c) =>
              el('td', { class: numeric(c) ? 'num' : null, 'data-value': JSON.stringify(row[c] === undefined ? null : row[c]) }, formatCell(c, row[c])),
            ),
          ),
        ),
      );
    };
    const headers = columns.map((c) => {
      const label = state.labels.has(c) ? metricLabel(c) : humanize(c);
      const button = el('button', { type: 'button', class: 'sort', 'data-column': c }, label);
      const th = el('th', { scope: 'col', class: numeric(c) ? 'num' : null, 'aria-sort': 'none' }, button);
      button.addEventListener('click', () => {
        const ascending = th.getAttribute('aria-sort') !== 'ascending';
        for (const other of head.querySelectorAll('th')) other.setAttribute('aria-sort', 'none');
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        fill(sortRows(rows, c, ascending));
      });
      return th;
    });
    const head = el('tr', {}, headers);
    if (dsl.sort && columns.includes(dsl.sort.field)) {
      headers[columns.indexOf(dsl.sort.field)].setAttribute('aria-sort', dsl.sort.order === 'asc' ? 'ascending' : 'descending');
    }
    fill(rows);
    const noun = dsl.entity ? `${humanize(dsl.entity).toLowerCase()}${rows.length === 1 ? '' : 's'}` : 'rows';
    let note = `${rows.length} ${noun}`;
    if (r.data.truncated) note += ', cut at the row limit: there are more';
    else if (typeof dsl.limit === 'number' && rows.length >= dsl.limit) note += ` (the first ${dsl.limit}; there may be more)`;
    return el(
      'figure',
      { class: 'result list', 'data-testid': 'list' },
      el(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'the rows of the answer' },
        el('table', { class: 'rows', 'data-testid': 'rows' }, el('thead', {}, head), body),
      ),
      el('figcaption', { class: 'note', 'data-testid': 'list-note' }, note, '. Click a column header to sort.'),
    );
  }

  // Rows ordered by one column; nulls last either way, ties in their original order.
  function sortRows(rows, column, ascending) {
    const sign = ascending ? 1 : -1;
    return rows
      .map((row, i) => [row, i])
      .sort(([a, i], [b, j]) => {
        const x = a[column];
        const y = b[column];
        const xNull = x === null || x === undefined;
        const yNull = y === null || y === undefined;
        if (xNull || yNull) return xNull && yNull ? i - j : xNull ? 1 : -1;
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return c === 0 ? i - j : sign * c;
      })
      .map(([row]) => row);
  }

  // ▲/▼ and the size of a change: percentage points for percent metrics, else percent.
  function change(row, format) {
    if (row.previous === undefined || row.previous === null || row.delta === undefined || row.delta === null) return null;
    if (row.delta === 0) return { direction: 'flat', text: 'unchanged' };
    // Up is good news unless the catalog says a fall is (churn, tickets, resolution time).
    const up = row.delta > 0;
    const good = up !== state.lowerIsBetter.has(row.metric);
    const direction = `${up ? 'up' : 'down'} ${good ? 'good' : 'bad'}`;
    const arrow = up ? '▲' : '▼';
    if (format === 'percent') return { direction, text: `${arrow} ${fixed(Math.abs(row.delta) * 100, 1)} pts` };
    if (row.delta_pct === undefined || row.delta_pct === null) return { direction, text: `${arrow} ${formatValue(Math.abs(row.delta), format)}` };
    return { direction, text: `${arrow} ${fixed(Math.abs(row.delta_pct) * 100, 1)}%` };
  }

  function kpiCards(r) {
    const summary = r.data.summary;
    const cards = summary.map((row) => {
      const format = state.formats.get(row.metric);
      const delta = change(row, format);
      const value = row.suppressed ? 'withheld' : formatValue(row.value, format);
      return el(
        'li',
        { class: 'kpi', 'data-testid': 'kpi', 'data-metric': row.metric },
        el('span', { class: 'kpi-label' }, metricLabel(row.metric)),
        el('span', { class: 'kpi-value', 'data-value': JSON.stringify(row.value === undefined ? null : row.value) }, value),
        delta
          ? el(
              'span',
              { class: `kpi-delta ${delta.direction}` },
              delta.text,
              el('span', { class: 'kpi-previous' }, ` from ${formatValue(row.previous, format)}`),
            )
          : null,
        sparkline((r.data.timeseries || []).filter((t) => t.metric === row.metric && !t.dimensions)),
      );
    });
    const p = r.data.previous_period;
    return el(
      'figure',
      { class: 'result overview', 'data-testid': 'overview' },
      el('ul', { class: 'kpis', 'aria-label': 'key metrics' }, cards),
      p ? el('figcaption', { class: 'note' }, `Changes are against ${formatDate(p.start)} – ${formatDate(p.end)}.`) : null,
    );
  }

  const SVG = 'http://www.w3.org/2000/svg';

  // A horizontal bar filling `fraction` of its track: SVG attributes, not styles (the CSP
  // allows no inline style).
  function bar(fraction, cls) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', `bar ${cls || ''}`);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const track = document.createElementNS(SVG, 'rect');
    track.setAttribute('class', 'track');
    track.setAttribute('width', '100%');
    track.setAttribute('height', '100%');
    const fill = document.createElementNS(SVG, 'rect');
    fill.setAttribute('class', 'fill');
    fill.setAttribute('width', `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`);
    fill.setAttribute('height', '100%');
    svg.append(track, fill);
    return svg;
  }

  // The KPI's series over the period as a small line (withheld or missing points are gaps);
  // none for fewer than two points. Decorative: the card's number says the value.
  function sparkline(points) {
    const values = points.map((p) => (typeof p.value === 'number' && !p.suppressed ? p.value : null));
    const known = values.filter((v) => v !== null);
    if (known.length < 2) return null;
    const [w, h] = [120, 28];
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    const x = (i) => (values.length === 1 ? 0 : (i / (values.length - 1)) * w);
    const y = (v) => (hi === lo ? h / 2 : h - 2 - ((v - lo) / (hi - lo)) * (h - 4));
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'sparkline');
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('data-points', String(known.length));
    // One polyline per run of known points.
    let run = [];
    const flush = () => {
      if (run.length > 1) {
        const line = document.createElementNS(SVG, 'polyline');
        line.setAttribute('points', run.join(' '));
        svg.append(line);
      }
      run = [];
    };
    values.forEach((v, i) => {
      if (v === null) flush();
      else run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
    return svg;
  }

  function funnelBars(r) {
    const steps = r.data.funnel;
    const groups = new Map();
    for (const s of steps) {
      const key = s.dimensions ? JSON.stringify(s.dimensions) : '';
      if (!groups.has(key)) groups.set(key, { dimensions: s.dimensions, steps: [] });
      groups.get(key).steps.push(s);
    }
    const compared = steps.some((s) => s.previous !== undefined);
    const p = r.data.previous_period;
    const before = p ? `${formatDate(p.start, false)} – ${formatDate(p.end)}` : 'before';
    const blocks = [...groups.values()].map(({ dimensions, steps: own }) =>
      el(
        'div',
        { class: 'funnel-group' },
        dimensions ? el('h4', {}, dimensionsLabel(dimensions)) : null,
        el(
          'ol',
          { class: 'funnel-steps' },
          own.map((s) => {
            const users = s.suppressed ? 'withheld' : `${formatValue(s.value, 'integer')} users`;
            const rates =
              s.step === 1
                ? 'start'
                : `${pct(s.step_conversion)} of the step before · ${pct(s.overall_conversion)} overall`;
            return el(
              'li',
              { class: 'funnel-step', 'data-testid': 'funnel-step', 'data-step': s.step },
              el('span', { class: 'step-label' }, `${s.step}. ${humanize(s.event)}`),
              bar(s.overall_conversion, 'now'),
              el('span', { class: 'step-figures' }, el('strong', {}, users), ' · ', el('span', { 'data-testid': 'step-rates' }, rates)),
              compared && s.previous !== undefined
                ? [
                    bar(s.previous_overall_conversion, 'before'),
                    el(
                      'span',
                      { class: 'step-figures before' },
                      `${before}: ${formatValue(s.previous, 'integer')} users`,
                      s.step === 1 ? '' : ` · ${pct(s.previous_step_conversion)} of the step before · ${pct(s.previous_overall_conversion)} overall`,
                    ),
                  ]
                : null,
            );
          }),
        ),
      ),
    );
    return el('figure', { class: 'result funnel', 'data-testid': 'funnel', role: 'group', 'aria-label': r.answer || 'funnel' }, blocks);
  }

  function retentionHeatmap(r) {
    const ret = r.data.retention;
    const unit = ret.granularity || 'period';
    const offsets = Math.max(0, ...ret.cohorts.map((c) => c.cells.length));
    const grouped = ret.cohorts.some((c) => c.dimensions);
    const cohortName = (c) =>
      unit === 'week' ? `Week of ${formatDate(c.cohort, false)}` : unit === 'month' ? formatDate(c.cohort).replace(/^\d+ /, '') : formatDate(c.cohort, false);
    // Shades scale to the highest rate after offset 0 (offset 0 is everyone, the darkest).
    const highest = Math.max(
      0.0001,
      ...ret.cohorts.flatMap((c) => c.cells.filter((x) => x.offset > 0 && typeof x.rate === 'number').map((x) => x.rate)),
    );
    const head = el(
      'tr',
      {},
      grouped ? el('th', { scope: 'col' }, 'Group') : null,
      el('th', { scope: 'col' }, 'Cohort'),
      el('th', { scope: 'col', class: 'num' }, 'Size'),
      Array.from({ length: offsets }, (_, k) => el('th', { scope: 'col', class: 'num' }, `${humanize(unit)} ${k}`)),
    );
    const rows = ret.cohorts.map((c) =>
      el(
        'tr',
        {},
        grouped ? el('th', { scope: 'row' }, dimensionsLabel(c.dimensions)) : null,
        el('th', { scope: 'row' }, cohortName(c)),
        el('td', { class: 'num' }, c.suppressed ? 'withheld' : formatValue(c.size, 'integer')),
        Array.from({ length: offsets }, (_, k) => {
          const cell = c.cells[k];
          if (!cell) return el('td', { class: 'heat none' }, '');
          if (cell.suppressed || cell.rate === null) return el('td', { class: 'heat withheld', title: 'withheld: too few' }, '—');
          const level = cell.offset === 0 ? 9 : Math.min(8, Math.floor((cell.rate / highest) * 8));
          return el(
            'td',
            { class: `heat h${level}`, 'data-value': cell.rate, title: `${formatValue(cell.returning, 'integer')} of ${formatValue(c.size, 'integer')}` },
            pct(cell.rate),
          );
        }),
      ),
    );
    return el(
      'figure',
      { class: 'result retention', 'data-testid': 'retention' },
      el(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'retention by cohort' },
        el('table', { class: 'heatmap' }, el('thead', {}, head), el('tbody', {}, rows)),
      ),
      el('figcaption', { class: 'note' }, `Share of each cohort active again ${unit === 'day' ? 'each day' : `in each ${unit}`} after it joined; blank cells have not ended yet.`),
    );
  }

  // ---- export: CSV, DSL, curl ---------------------------------------------------------------

  // The result as a table of raw values (not formatted): the list's rows, else the funnel's
  // steps, the retention cells, the breakdown, the time series or the summary.
  function resultTable(r) {
    const d = r.data || {};
    const dims = (list) => {
      const names = [];
      for (const x of list) for (const k of Object.keys(x.dimensions || {})) if (!names.includes(k)) names.push(k);
      return names;
    };
    const pick = (list, before, after) => {
      const dn = dims(list);
      return {
        header: [...before, ...dn, ...after],
        rows: list.map((x) => [...before.map((k) => x[k]), ...dn.map((k) => (x.dimensions || {})[k]), ...after.map((k) => x[k])]),
      };
    };
    if (Array.isArray(d.rows) && d.rows.length) {
      const columns = listColumns(r);
      return { header: columns, rows: d.rows.map((row) => columns.map((c) => row[c])) };
    }
    if (Array.isArray(d.funnel) && d.funnel.length) {
      return pick(d.funnel, ['step', 'event'], ['value', 'step_conversion', 'overall_conversion', 'previous', 'previous_step_conversion', 'previous_overall_conversion']);
    }
    if (d.retention && Array.isArray(d.retention.cohorts) && d.retention.cohorts.length) {
      const cohorts = d.retention.cohorts;
      const dn = dims(cohorts);
      const rows = [];
      for (const c of cohorts) {
        for (const cell of c.cells) {
          rows.push([c.cohort, ...dn.map((k) => (c.dimensions || {})[k]), c.size, cell.offset, cell.start, cell.returning, cell.rate]);
        }
      }
      return { header: ['cohort', ...dn, 'size', 'offset', 'start', 'returning', 'rate'], rows };
    }
    if (d.anomalies && Array.isArray(d.anomalies.anomalies) && d.anomalies.anomalies.length) {
      const list = d.anomalies.anomalies.map((a) => ({ ...a, expected_low: a.expected[0], expected_high: a.expected[1] }));
      return pick(list, ['metric', 'day'], ['value', 'baseline', 'expected_low', 'expected_high', 'delta_pct', 'p_value']);
    }
    if (Array.isArray(d.breakdown) && d.breakdown.length) {
      return pick(d.breakdown, [], ['metric', 'value', 'previous', 'delta', 'delta_pct']);
    }
    if (Array.isArray(d.timeseries) && d.timeseries.length) return pick(d.timeseries, ['date'], ['metric', 'value']);
    if (Array.isArray(d.summary) && d.summary.length) {
      return pick(d.summary, ['metric'], ['value', 'previous', 'delta', 'delta_pct']);
    }
    return null;
  }

  function csvCell(v) {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function toCsv(table) {
    return [table.header, ...table.rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  async function copy(text, status) {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = 'Copied.';
    } catch (_) {
      // No clipboard permission: the text in a field, selected, for the user to copy.
      const field = el('textarea', { class: 'copy-fallback', readonly: true, rows: 4, 'aria-label': 'text to copy' });
      field.value = text;
      status.replaceChildren('Copy it from here: ', field);
      field.select();
    }
  }

  function shellQuote(text) {
    return `'${text.replace(/'/g, `'\\''`)}'`;
  }

  function actions(r) {
    const status = el('span', { class: 'meta', role: 'status', 'data-testid': 'action-status' });
    const buttons = [];
    const table = resultTable(r);
    if (table && table.rows.length) {
      const name = `tally-${(r.executed_dsl && r.executed_dsl.kind) || 'result'}-${r.query_id || 'answer'}.csv`;
      buttons.push(
        el('button', { type: 'button', class: 'action', 'data-testid': 'download-csv', onclick: () => download(name, toCsv(table)) }, 'Download CSV'),
      );
    }
    if (r.executed_dsl) {
      const dsl = JSON.stringify(r.executed_dsl, null, 2);
      const curl =
        `curl -s ${location.origin}/v1/query -H "Authorization: Bearer $TALLY_TOKEN" ` +
        `-H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify({ dsl: r.executed_dsl }))}`;
      buttons.push(
        el('button', { type: 'button', class: 'action', 'data-testid': 'copy-dsl', onclick: () => copy(dsl, status) }, 'Copy DSL'),
        el('button', { type: 'button', class: 'action', 'data-testid': 'copy-curl', onclick: () => copy(curl, status) }, 'Copy curl'),
      );
    }
    if (r.query_id) {
      // Opens this answer again for whoever asked it (the server checks the token's subject).
      const link = `${location.origin}/q/${encodeURIComponent(r.query_id)}`;
      buttons.push(
        el('button', { type: 'button', class: 'action', 'data-testid': 'copy-link', 'data-link': link, onclick: () => copy(link, status) }, 'Copy link'),
      );
    }
    return buttons.length ? el('div', { class: 'actions' }, buttons, status) : null;
  }

  // ---- reading flow ---------------------------------------------------------------------------

  // Brings a finished answer into the scrolling column: all of it when it fits (its bottom just
  // above the input), else its top, so reading starts at the answer sentence. Only the newest
  // answer moves the view.
  function reveal(turn) {
    if (turn !== $('log').lastElementChild) return;
    const main = $('main') || document.documentElement;
    const box = turn.getBoundingClientRect();
    const view = main.getBoundingClientRect();
    turn.scrollIntoView({ block: box.height <= view.height ? 'end' : 'start', behavior: 'auto' });
  }

  // ---- charts ---------------------------------------------------------------------------

  const charts = new WeakMap();

  function chartBox(spec, alt) {
    // The answer sentence is the chart's text alternative: its label and its caption (the
    // drawing itself is hidden from screen readers).
    const canvas = el('div', { class: 'chart-canvas', 'aria-hidden': 'true' });
    const box = el(
      'figure',
      { class: 'chart', 'data-testid': 'chart', 'data-chart': 'pending', role: 'img', 'aria-label': alt || 'chart of the answer' },
      canvas,
      el('figcaption', { class: 'visually-hidden' }, alt || 'chart of the answer'),
    );
    charts.set(box, spec);
    return box;
  }

  function drawChart(box) {
    const spec = charts.get(box);
    if (typeof window.vegaEmbed !== 'function') {
      box.setAttribute('data-chart', 'failed');
      box.textContent = 'The chart renderer did not load.';
      return;
    }
    // The plot area, leaving room for axis labels: narrower on a phone, never wider than the box.
    const width = Math.max(160, Math.min(640, box.clientWidth - (box.clientWidth < 480 ? 90 : 140)));
    window
      .vegaEmbed(box.querySelector('.chart-canvas'), spec, {
        renderer: 'svg',
        actions: false,
        // Vega expressions through the bundled interpreter, never `new Function`: the CSP has
        // no 'unsafe-eval'.
        ast: true,
        // vega-embed and vega-tooltip would inject <style> elements, which the CSP forbids;
        // their few rules live in app.css.
        defaultStyle: false,
        tooltip: false,
        width,
        config: {
          font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
          background: null,
          view: { stroke: null },
          axis: { labelColor: '#44505c', titleColor: '#44505c', gridColor: '#e6eaee', domainColor: '#c9d1d9', tickColor: '#c9d1d9' },
          legend: { labelColor: '#44505c', titleColor: '#44505c', orient: 'bottom' },
          range: { category: ['#1f6fb2', '#e07b39', '#3a9d5d', '#b54a8a', '#7a6cc4', '#c2a531', '#4aa3b5', '#8a8a8a'] },
          bar: { color: '#1f6fb2' },
          line: { color: '#1f6fb2', strokeWidth: 2 },
          point: { color: '#1f6fb2', filled: true, size: 36 },
        },
      })
      .then(() => {
        box.setAttribute('data-chart', 'rendered');
        const turn = box.closest('li.turn');
        if (turn) reveal(turn);
      })
      .catch((e) => {
        box.setAttribute('data-chart', 'failed');
        box.replaceChildren(el('p', { class: 'note' }, `The chart could not be drawn: ${e.message}`));
      });
  }

  // ---- wiring ---------------------------------------------------------------------------

  function setUpComposer() {
    const input = $('question');
    $('ask-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value;
      input.value = '';
      resize();
      ask(text);
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $('ask-form').requestSubmit();
      }
    });
    const resize = () => {
      input.rows = Math.min(6, Math.max(1, input.value.split('\n').length));
    };
    input.addEventListener('input', resize);
    $('new-conversation').addEventListener('click', () => newConversation(''));
  }

  setUpComposer();
  setUpGlossary();
  setUpIdentity();
})();
