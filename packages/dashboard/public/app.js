/* global document, window */
// The operator dashboard's script (plain browser JavaScript, no build step, no library). It polls
// GET /v1/calls every 2 s and renders what it gets. Every value from the service is put on the
// page as text (textContent / text nodes), never as markup: a CallSid, a reason or an error
// message can hold anything. The Content-Security-Policy (default-src 'self') is the second line.
'use strict';

const POLL_INTERVAL_MS = 2000;
const TOKEN_KEY = 'flex-streams.adminToken';
// Relative to the page: behind a proxy that serves the service under a prefix, so is the API.
const CALLS_URL = 'v1/calls';

const $ = (id) => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
};

/**
 * Builds an element. `attrs` are fixed attribute names chosen here (class, scope, data-*); the
 * children are nodes or strings, and strings become text nodes.
 */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Text of a value that may be missing. */
function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  return String(value);
}

function clock(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h} h ${pad(m)} min ${pad(s)} s` : m > 0 ? `${m} min ${pad(s)} s` : `${s} s`;
}

function list(value) {
  return Array.isArray(value) ? value : [];
}

// --- the admin token (kept for this tab only) ---

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token then lives until the page reloads.
  }
  memoryToken = token;
}

let memoryToken = storedToken();

/** A GET of the API; resolves `{ok, status, body}` or `{ok: false, status: 0, problem}`. */
async function getJson(url) {
  let response;
  try {
    // Inside the try: a header the browser refuses (a token it cannot send) is a failure shown
    // like any other, not an exception that stops the polling.
    const headers = new Headers({ Accept: 'application/json' });
    if (memoryToken !== null) headers.set('Authorization', `Bearer ${memoryToken}`);
    response = await fetch(url, { headers, cache: 'no-store' });
  } catch (error) {
    return { ok: false, status: 0, problem: `the service cannot be reached (${String(error)})` };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { ok: response.ok, status: response.status, body };
}

/** What a failed answer says, in one line: status, our error code, the service's message. */
function describeFailure(answer) {
  if (answer.status === 0) return `Service unreachable: ${answer.problem}`;
  const error = answer.body !== null && typeof answer.body === 'object' ? answer.body.error : null;
  const code = error !== null && typeof error === 'object' ? text(error.code) : 'no error code';
  const message = error !== null && typeof error === 'object' ? text(error.message) : '';
  return `HTTP ${answer.status} ${code}${message === '' ? '' : `: ${message}`}`;
}

function showStatus(node, message, kind) {
  node.textContent = message;
  node.hidden = message === '';
  node.className = `status ${kind}`;
}

// --- rendering ---

function streamsTable(streams) {
  if (streams.length === 0) return el('p', { class: 'none' }, 'No stream run yet.');
  const head = el(
    'tr',
    null,
    ...['Name', 'State', 'Continuation', 'Started', 'Stop reason', 'Deferred reason', 'Error'].map(
      (label) => el('th', { scope: 'col' }, label),
    ),
  );
  const rows = streams.map((stream) =>
    el(
      'tr',
      { class: 'stream', 'data-state': text(stream.state) },
      el('td', null, el('code', null, text(stream.name))),
      el('td', { class: 'stream-state' }, text(stream.state)),
      el('td', null, text(stream.continuation)),
      el('td', null, clock(stream.startedAt)),
      el('td', null, text(stream.stopReason)),
      el('td', null, text(stream.deferredReason)),
      el(
        'td',
        null,
        stream.error !== null && typeof stream.error === 'object'
          ? `${text(stream.error.code)}: ${text(stream.error.message)}`
          : '—',
      ),
    ),
  );
  return el(
    'table',
    { class: 'streams' },
    el('caption', null, 'Stream runs'),
    el('thead', null, head),
    el('tbody', null, ...rows),
  );
}

function pausesList(pauses) {
  if (pauses.length === 0) return el('p', { class: 'none' }, 'No pause.');
  return el(
    'ul',
    { class: 'pauses' },
    ...pauses.map((pause) => {
      const open = pause.state === 'open';
      const when = open
        ? `open since ${clock(pause.startedAt)}`
        : `closed: ${clock(pause.startedAt)}–${clock(pause.endedAt)} (${duration(pause.durationMs)})`;
      return el(
        'li',
        { class: open ? 'pause open' : 'pause closed' },
        `${when}, by ${text(pause.by)}${pause.reason ? `, reason: ${String(pause.reason)}` : ''}`,
      );
    }),
  );
}

function errorsList(errors) {
  if (errors.length === 0) return el('p', { class: 'none' }, 'No error recorded.');
  return el(
    'ul',
    { class: 'errors' },
    ...errors.map((error) =>
      el(
        'li',
        { class: 'error' },
        el('code', null, text(error.code)),
        ` ${text(error.message)}`,
        typeof error.twilioCode === 'number' ? ` (Twilio ${error.twilioCode})` : '',
        ` at ${clock(error.at)}`,
      ),
    ),
  );
}

function segmentRow(segment, now) {
  const started = typeof segment.startedAt === 'number' ? segment.startedAt : null;
  const end = segment.state === 'ended' ? segment.endedAt : now;
  return el(
    'tr',
    { class: 'segment-row', 'data-state': text(segment.state) },
    el('th', { scope: 'row' }, text(segment.index)),
    el('td', null, el('code', null, text(segment.workerSid))),
    el('td', null, text(segment.transferMode)),
    el('td', { class: 'segment-state' }, text(segment.state)),
    el('td', null, clock(started)),
    el('td', null, started === null ? '—' : duration(end - started)),
    el('td', null, text(segment.endReason)),
  );
}

function segmentDetail(segment) {
  const heading = `Segment ${text(segment.index)}: agent ${text(segment.workerSid)}, ${text(segment.state)}`;
  return el(
    'section',
    { class: 'segment', 'data-segment-index': text(segment.index) },
    el('h4', null, heading),
    streamsTable(list(segment.streams)),
    el('h5', null, 'Pauses'),
    pausesList(list(segment.pauses)),
    el('h5', null, 'Errors'),
    errorsList(list(segment.errors)),
  );
}

/** One call: its SID, task(s), a table of its segments, then each segment's runs, pauses, errors. */
function renderCall(call, now) {
  const callSid = text(call.callSid);
  const segments = list(call.segments)
    .slice()
    .sort((a, b) => Number(a.index) - Number(b.index));
  const tasks = [...new Set(segments.map((s) => text(s.taskSid)))];
  const head = el(
    'tr',
    null,
    ...['#', 'Agent (worker)', 'Transfer', 'State', 'Started', 'Duration', 'End reason'].map(
      (label) => el('th', { scope: 'col' }, label),
    ),
  );
  return el(
    'article',
    { class: 'call', 'data-call-sid': callSid },
    el('h3', null, 'Call ', el('code', null, callSid)),
    el('p', { class: 'meta' }, `Task: ${tasks.length === 0 ? '—' : tasks.join(', ')}`),
    el(
      'table',
      { class: 'segments' },
      el('caption', null, `Segments (${segments.length})`),
      el('thead', null, head),
      el('tbody', null, ...segments.map((segment) => segmentRow(segment, now))),
    ),
    ...segments.map((segment) => segmentDetail(segment)),
  );
}

// --- polling ---

const state = { timer: null, searched: null, tokenProblem: null };

function needToken(answer) {
  const form = $('token-form');
  form.hidden = answer.status !== 401;
  if (answer.status === 401) $('token-input').focus({ preventScroll: true });
}

async function refreshLive() {
  const answer = await getJson(CALLS_URL);
  needToken(answer);
  const status = $('status');
  if (!answer.ok || answer.body === null || typeof answer.body !== 'object') {
    const problem = answer.ok ? 'the answer is not JSON' : describeFailure(answer);
    const hint =
      answer.status === 401
        ? state.tokenProblem !== null
          ? ` ${state.tokenProblem}`
          : memoryToken === null
            ? ' Enter the admin token below.'
            : ' The token given was refused; enter the right one below.'
        : '';
    showStatus(status, `${problem}${hint}`, 'problem');
    if (answer.status !== 0) {
      // Whatever is on screen is no longer known to be true.
      $('calls').replaceChildren();
      $('live-count').textContent = '?';
    }
    return;
  }
  const now = Date.now();
  const calls = list(answer.body.calls);
  $('live-count').textContent = text(answer.body.live);
  $('calls').replaceChildren(
    ...(calls.length === 0
      ? [el('p', { class: 'none' }, 'No live call.')]
      : calls.map((call) => renderCall(call, now))),
  );
  showStatus(status, '', 'ok');
  const refreshed = $('refreshed-at');
  refreshed.textContent = clock(now);
  refreshed.setAttribute('datetime', new Date(now).toISOString());
}

async function refreshSearched() {
  const callSid = state.searched;
  if (callSid === null) return;
  const answer = await getJson(`${CALLS_URL}/${encodeURIComponent(callSid)}`);
  if (state.searched !== callSid) return;
  const result = $('search-result');
  const status = $('search-status');
  if (!answer.ok || answer.body === null || typeof answer.body !== 'object') {
    if (answer.status === 401) needToken(answer);
    showStatus(status, `Call ${callSid}: ${describeFailure(answer)}`, 'problem');
    result.replaceChildren();
    return;
  }
  showStatus(status, '', 'ok');
  result.replaceChildren(renderCall(answer.body, Date.now()));
}

async function tick() {
  if (state.timer !== null) window.clearTimeout(state.timer);
  state.timer = null;
  try {
    await Promise.all([refreshLive(), refreshSearched()]);
  } finally {
    // A tick started by hand (token, search) may overlap one from the timer: one timer only.
    if (state.timer !== null) window.clearTimeout(state.timer);
    state.timer = window.setTimeout(() => void tick(), POLL_INTERVAL_MS);
  }
}

function start() {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    if (token === '') return;
    // The service's admin token is visible ASCII (FLEX_STREAMS_ADMIN_TOKEN): anything else can
    // never match, and a browser cannot even send it.
    if (!/^[\x21-\x7e]+$/.test(token)) {
      state.tokenProblem =
        'The token typed has characters an admin token never has (only visible ASCII): check it and try again.';
      void tick();
      return;
    }
    state.tokenProblem = null;
    storeToken(token);
    input.value = '';
    void tick();
  });
  $('token-forget').addEventListener('click', () => {
    storeToken(null);
    void tick();
  });
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const callSid = $('search-input').value.trim();
    if (callSid === '') return;
    state.searched = callSid;
    $('search-close').hidden = false;
    showStatus($('search-status'), `Looking up ${callSid}…`, 'ok');
    $('search-result').replaceChildren();
    void refreshSearched();
  });
  $('search-close').addEventListener('click', () => {
    state.searched = null;
    $('search-close').hidden = true;
    showStatus($('search-status'), '', 'ok');
    $('search-result').replaceChildren();
  });
  void tick();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
