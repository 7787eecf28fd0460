// The alert queue page. Everything shown is built with createElement and textContent: no data
// ever becomes markup or code (the Content-Security-Policy forbids inline scripts anyway).

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else if (name === 'className') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const state = {
  session: null,
  view: 'unresolved',
  /** alert id → { version, el } */
  cards: new Map(),
  timelineAt: 0,
  timelineTimer: null,
  queueTimer: null,
};

const ACTION_TEXT = {
  page: 'Page now',
  urgent_review: 'Review within hours',
  queue: 'Queue for review within 24 h',
  log: 'Log for the weekly review',
  none: 'No action',
};

// ---------- formatting ----------

const num = (v, digits = 2) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
const signed = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toPrecision(3)}`;
const when = (ms) => (ms === null || ms === undefined ? '–' : new Date(ms).toLocaleString());

function relative(ms, now = Date.now()) {
  const d = Math.round((ms - now) / 60_000);
  const abs = Math.abs(d);
  const text =
    abs < 1
      ? 'now'
      : abs < 90
        ? `${abs} min`
        : abs < 48 * 60
          ? `${Math.round(abs / 60)} h`
          : `${Math.round(abs / 1440)} d`;
  if (text === 'now') return 'now';
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = ms / 1000;
  return s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function deadlineText(a, now = Date.now()) {
  if (a.deadlineAt === null) return `respond ${a.responseLabel}`;
  if (a.state !== 'open') return `respond ${a.responseLabel} · deadline ${when(a.deadlineAt)}`;
  const overdue = a.deadlineAt < now;
  return `respond ${a.responseLabel} · ${overdue ? 'overdue since' : 'due'} ${relative(a.deadlineAt, now)}`;
}

// ---------- server calls ----------

async function api(path, options = {}) {
  const headers = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.method && options.method !== 'GET') headers['x-csrf-token'] = state.session?.csrfToken ?? '';
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: 'same-origin',
  });
  if (res.status === 401) {
    location.assign('/login');
    throw new Error('signed out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

function say(text, kind = 'info') {
  const m = $('message');
  m.textContent = text;
  m.dataset.kind = kind;
  m.hidden = !text;
}

// ---------- the queue ----------

function labelFacts(a) {
  const facts = [
    ['Treatment', a.recordId],
    ['Patient', a.patientId ?? (a.identifiersHidden ? 'hidden (sign in to see)' : '–')],
    ['Field', a.labels.field ?? '–'],
  ];
  for (const [k, v] of Object.entries(a.labels))
    if (k !== 'field') facts.push([k[0].toUpperCase() + k.slice(1), v]);
  facts.push(['Detected', when(a.detectedAt)]);
  if (a.occurredAt !== null) facts.push(['Treated', when(a.occurredAt)]);
  facts.push(['Model', a.model]);
  return h(
    'dl',
    { className: 'facts ids' },
    facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]),
  );
}

function saliency(a) {
  if (!a.saliency.length)
    return h('p', {
      className: 'muted',
      text: a.detailReadable ? 'No feature attribution.' : 'Alert detail unreadable.',
    });
  const max = Math.max(...a.saliency.map((s) => Math.abs(s.contribution)), 1e-9);
  return h(
    'ul',
    { className: 'saliency' },
    a.saliency.map((s) =>
      h(
        'li',
        {},
        h('span', { className: 'feature', text: s.feature }),
        h('span', {
          className: 'value',
          text: `= ${Number.isInteger(s.value) ? s.value : s.value.toPrecision(4)}`,
        }),
        h('meter', { min: 0, max: max, value: Math.abs(s.contribution), title: 'share of the energy' }),
        h('span', { className: 'contribution', text: signed(s.contribution) }),
      ),
    ),
  );
}

function malice(a) {
  if (!a.malicious) return null;
  const m = a.malicious;
  return h(
    'div',
    { className: 'malice', dataset: { suspected: String(m.suspected) } },
    h('strong', {
      text: `Malicious assessment: p = ${num(m.probability)} (${m.level.replaceAll('_', ' ')})`,
    }),
    h('p', { text: m.message }),
    m.indicators.length
      ? h('p', { className: 'indicators', text: `Indicators: ${m.indicators.join(', ')}` })
      : null,
  );
}

function reviewForm(a, action, label, required) {
  const note = h('textarea', {
    name: 'note',
    rows: 2,
    maxlength: 2000,
    required: required,
    placeholder: required ? 'What was found and done (required)' : 'Why (optional)',
  });
  const form = h(
    'form',
    { className: 'review', hidden: true, dataset: { action } },
    h('label', {}, h('span', { text: required ? 'Note (required)' : 'Note' }), note),
    h(
      'div',
      { className: 'buttons' },
      h('button', { type: 'submit', text: label }),
      h('button', { type: 'button', className: 'cancel', text: 'Cancel' }),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    review(a, action, note.value.trim());
  });
  form.querySelector('.cancel').addEventListener('click', () => {
    form.hidden = true;
  });
  return form;
}

function actions(a) {
  const box = h('div', { className: 'actions' });
  if (a.state === 'open') {
    const ack = h('button', { type: 'button', className: 'ack', text: 'Acknowledge' });
    ack.addEventListener('click', () => review(a, 'acknowledge', ''));
    box.append(ack);
  }
  if (a.state === 'open' || a.state === 'acknowledged') {
    const forms = [
      reviewForm(a, 'resolve', 'Resolve', true),
      reviewForm(a, 'false-positive', 'Mark false positive', false),
    ];
    const open = (i) => () => {
      forms.forEach((f, j) => {
        f.hidden = i !== j;
      });
      forms[i].querySelector('textarea').focus();
    };
    const resolve = h('button', { type: 'button', className: 'resolve', text: 'Resolve…' });
    const fp = h('button', { type: 'button', className: 'false-positive', text: 'False positive…' });
    resolve.addEventListener('click', open(0));
    fp.addEventListener('click', open(1));
    box.append(resolve, fp, ...forms);
  }
  return box;
}

function stateLine(a) {
  const text =
    a.state === 'open'
      ? 'open'
      : `${a.state.replace('_', ' ')} by ${a.stateBy ?? '?'} ${relative(a.stateAt)}`;
  return h('span', { className: 'state', dataset: { state: a.state }, text });
}

function card(a) {
  return h(
    'li',
    { className: 'alert', dataset: { id: String(a.id), band: a.band, state: a.state, key: a.key } },
    h(
      'div',
      { className: 'alert-head' },
      h('span', { className: 'band', text: a.band.toUpperCase() }),
      h('span', {
        className: 'severity',
        text: `severity ${num(a.severity)}${a.uncertainty !== null ? ` ± ${num(a.uncertainty)}` : ''}${a.energy !== a.severity ? ` (energy ${num(a.energy, 3)})` : ''}`,
      }),
      h('span', { className: 'deadline', dataset: { deadline: a.deadlineAt ?? '' }, text: deadlineText(a) }),
      stateLine(a),
    ),
    labelFacts(a),
    h('div', { className: 'why' }, h('h3', { text: 'What drove it' }), saliency(a)),
    h(
      'div',
      { className: 'todo' },
      h('h3', {
        text: `Recommended: ${ACTION_TEXT[a.action] ?? a.action}${a.tier ? ` (critical tier ${a.tier})` : ''}`,
      }),
      a.steps.length
        ? h(
            'ol',
            {},
            a.steps.map((s) => h('li', { text: s })),
          )
        : null,
    ),
    malice(a),
    a.stateNote ? h('p', { className: 'note', text: `Note (${a.stateBy ?? '?'}): ${a.stateNote}` }) : null,
    actions(a),
  );
}

const version = (a) => [a.revision, a.state, a.stateAt, a.patientId, a.band].join('|');

function renderQueue(body) {
  const list = $('alerts');
  const seen = new Set();
  const order = [];
  for (const a of body.alerts) {
    seen.add(a.id);
    const v = version(a);
    let entry = state.cards.get(a.id);
    if (!entry || entry.version !== v) {
      const el = card(a);
      if (entry) entry.el.replaceWith(el);
      entry = { version: v, el, alert: a };
      state.cards.set(a.id, entry);
    }
    order.push(entry.el);
  }
  for (const [id, entry] of state.cards) {
    if (!seen.has(id)) {
      entry.el.remove();
      state.cards.delete(id);
    }
  }
  // Re-append only when the order changed: moving a card would take focus from a note being typed.
  const current = [...list.children];
  if (current.length !== order.length || order.some((el, i) => current[i] !== el))
    list.replaceChildren(...order);
  $('empty').hidden = body.alerts.length > 0;
  const open = body.counts.open ?? {};
  const ack = body.counts.acknowledged ?? {};
  const bands = ['critical', 'high', 'medium', 'low'];
  $('counts').textContent =
    `Open: ${bands.map((b) => `${b} ${open[b] ?? 0}`).join(' · ')}` +
    ` — acknowledged: ${bands.reduce((n, b) => n + (ack[b] ?? 0), 0)}`;
}

async function loadQueue() {
  try {
    renderQueue(await api(`/api/queue?view=${encodeURIComponent(state.view)}`));
  } catch (e) {
    say(`Could not load the queue: ${e.message}`, 'error');
  }
}

/** Many events in a burst cost one reload. */
function queueSoon() {
  clearTimeout(state.queueTimer);
  state.queueTimer = setTimeout(loadQueue, 100);
}

async function review(a, action, note) {
  try {
    const body = note ? { note } : {};
    const res = await api(`/api/alerts/${a.id}/${action}`, { method: 'POST', body });
    say(`Treatment ${res.alert.recordId}: ${res.alert.state.replace('_', ' ')}.`);
    await loadQueue();
  } catch (e) {
    say(`Treatment ${a.recordId}: ${e.message}`, 'error');
  }
}

// ---------- health, timeline ----------

function renderHealth(hs) {
  const pill = $('status');
  pill.dataset.status = hs.status;
  pill.textContent = hs.status;
  const s = hs.source;
  const facts = [
    ['Source', `${s.name} (${s.kind})`],
    ['Lag', s.lagMs === null ? 'not caught up yet' : duration(s.lagMs)],
    ['Last poll', s.lastPollAt === null ? 'never' : relative(s.lastPollAt)],
    ['Caught up', s.caughtUp ? 'yes' : 'catching up'],
    ['Watermark', s.watermark ?? '–'],
    ['Model', `${hs.model.name}@${hs.model.version}`],
    [
      'Scored',
      `${hs.totals.scored} records, ${hs.totals.alerts} alerts, ${hs.totals.invalid} invalid (since start)`,
    ],
  ];
  if (s.consecutiveFailures > 0)
    facts.push(['Failures', `${s.consecutiveFailures} in a row: ${s.lastError ?? ''}`]);
  $('source').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
  $('sinks').replaceChildren(
    ...hs.sinks.map((k) =>
      h(
        'li',
        { dataset: { failing: String(k.consecutiveFailures > 0 || k.dead > 0) } },
        h('strong', { text: k.sink }),
        ` backlog ${k.queued + k.pending}`,
        k.dead ? `, ${k.dead} dead` : '',
        k.consecutiveFailures ? `, ${k.consecutiveFailures} failures: ${k.lastError ?? ''}` : '',
        k.lastSuccessAt ? ` · last sent ${relative(k.lastSuccessAt)}` : '',
      ),
    ),
  );
}

function refreshTimeline() {
  const wait = state.timelineAt + 5_000 - Date.now();
  if (wait > 0) {
    if (!state.timelineTimer)
      state.timelineTimer = setTimeout(() => {
        state.timelineTimer = null;
        refreshTimeline();
      }, wait);
    return;
  }
  state.timelineAt = Date.now();
  $('timeline').src = `/timeline.svg?days=${state.session.timelineDays}&v=${state.timelineAt}`;
}

// ---------- live stream ----------

function connect() {
  const live = $('live');
  const events = new EventSource('/api/events');
  let wasOpen = false;
  events.addEventListener('open', () => {
    live.dataset.live = 'on';
    live.textContent = 'live';
    // After a reconnect, catch up on what happened while the stream was down.
    if (wasOpen) queueSoon();
    wasOpen = true;
  });
  events.addEventListener('error', () => {
    live.dataset.live = 'off';
    live.textContent = 'reconnecting…';
  });
  events.addEventListener('queue', queueSoon);
  events.addEventListener('timeline', refreshTimeline);
  events.addEventListener('health', (e) => renderHealth(JSON.parse(e.data)));
}

// ---------- start ----------

async function start() {
  state.session = await api('/api/session');
  const s = state.session;
  $('user').textContent = s.authenticated
    ? `Signed in as ${s.user}`
    : `${s.user} · patient identifiers hidden`;
  $('signout').hidden = s.via !== 'session';
  $('signout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST', body: {} }).catch(() => undefined);
    location.assign('/login');
  });
  const today = new Date();
  $('report-day').value =
    `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  $('view').addEventListener('change', () => {
    state.view = $('view').value;
    loadQueue();
  });
  $('timeline').src = `/timeline.svg?days=${s.timelineDays}`;
  await loadQueue();
  connect();
  // Deadlines count down without a reload.
  setInterval(() => {
    for (const { el, alert } of state.cards.values()) {
      const d = el.querySelector('.deadline');
      if (d) d.textContent = deadlineText(alert);
    }
  }, 30_000);
  document.body.dataset.ready = 'true';
}

start().catch((e) => say(`The dashboard could not start: ${e.message}`, 'error'));
