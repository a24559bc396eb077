/* The push browser: plain JavaScript, no framework, nothing loaded from elsewhere. Every value
 * from the API reaches the page as text (textContent), never as markup. Routes live in the
 * location hash so that a reload keeps them: #/?q=&outcome= (the list), #/push/ID (one push). */
'use strict';

const state = { csrf: null, cursor: null, filters: { q: '', outcome: '' }, window: '24h', pushId: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function showError(msg) {
  const p = $('error');
  p.textContent = msg || '';
  p.hidden = !msg;
}

async function api(path, opts) {
  const init = Object.assign({ credentials: 'same-origin', headers: {} }, opts || {});
  if (init.method === 'POST') init.headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, init);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
  return body;
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function badge(outcome) {
  return el('span', { class: 'badge ' + outcome, text: outcome });
}

/* ---- the list ---- */

function readHash() {
  const h = location.hash || '#/';
  const m = /^#\/push\/(.+)$/.exec(h);
  if (m) return { push: decodeURIComponent(m[1]) };
  const qs = new URLSearchParams(h.indexOf('?') >= 0 ? h.slice(h.indexOf('?') + 1) : '');
  return { q: qs.get('q') || '', outcome: qs.get('outcome') || '' };
}

async function loadPage(reset) {
  const params = new URLSearchParams();
  if (state.filters.q) params.set('q', state.filters.q);
  if (state.filters.outcome) params.set('outcome', state.filters.outcome);
  if (!reset && state.cursor) params.set('cursor', state.cursor);
  const body = $('pushes').tBodies[0];
  if (reset) body.replaceChildren();
  const page = await api('/api/pushes?' + params.toString());
  for (const p of page.pushes) {
    const tr = el('tr', { 'data-push-id': p.push_id },
      el('td', { text: when(p.received_at) }),
      el('td', { text: p.application_id == null ? '' : String(p.application_id) }),
      el('td', { text: p.name || '' }),
      el('td', {}, badge(p.outcome)),
      el('td', { class: 'msg', text: p.message || '' }));
    tr.addEventListener('click', () => { location.hash = '#/push/' + encodeURIComponent(p.push_id); });
    body.append(tr);
  }
  state.cursor = page.next_cursor;
  $('more').hidden = !page.next_cursor;
  $('empty').hidden = body.rows.length > 0;
}

async function loadChart() {
  const stats = await api('/api/stats?window=' + state.window);
  const outcomes = [['stored', '#2f9e55'], ['rejected', '#d64545'], ['failed', '#e0a020']];
  const n = stats.buckets.length;
  const max = Math.max(1, ...stats.buckets.map((b) => b.stored + b.rejected + b.failed));
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + (n * 10) + ' 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  stats.buckets.forEach((b, i) => {
    let y = 100;
    for (const [o, color] of outcomes) {
      const h = (b[o] / max) * 96;
      if (!h) continue;
      y -= h;
      const r = document.createElementNS(NS, 'rect');
      r.setAttribute('x', String(i * 10 + 1));
      r.setAttribute('y', String(y));
      r.setAttribute('width', '8');
      r.setAttribute('height', String(h));
      r.setAttribute('fill', color);
      r.setAttribute('class', 'bar-' + o);
      const t = document.createElementNS(NS, 'title');
      t.textContent = new Date(b.start_ms).toLocaleString() + ': ' + b[o] + ' ' + o;
      r.append(t);
      svg.append(r);
    }
  });
  const total = (o) => stats.buckets.reduce((s, b) => s + b[o], 0);
  const legend = el('div', { class: 'legend', text: outcomes.map(([o]) => total(o) + ' ' + o).join(' · ') });
  $('chart').replaceChildren(svg, legend);
  $('w24h').classList.toggle('active', state.window === '24h');
  $('w7d').classList.toggle('active', state.window === '7d');
}

async function showList(route) {
  state.filters = { q: route.q, outcome: route.outcome };
  $('q').value = route.q;
  $('outcome').value = route.outcome;
  $('push-view').hidden = true;
  $('list-view').hidden = false;
  document.title = 'ehrbridge pushes';
  state.cursor = null;
  await Promise.all([loadPage(true), loadChart()]);
}

/* ---- one push ---- */

function label(key) {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function scalarList(obj) {
  const dl = el('dl', { class: 'grid' });
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || typeof v === 'object' || v === '') continue;
    dl.append(el('dt', { text: label(k) }), el('dd', { text: String(v) }));
  }
  return dl.children.length ? dl : null;
}

function section(title, value) {
  const s = el('section', { class: 'card' }, el('h3', { text: title }));
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const box = el('div', { class: 'item' });
      if (item && typeof item === 'object') {
        box.append(scalarList(item) || el('p', { class: 'muted', text: '(empty)' }));
        for (const [k, v] of Object.entries(item)) if (v && typeof v === 'object') box.append(section(label(k), v));
      } else {
        box.append(el('p', { text: (i + 1) + '. ' + String(item) }));
      }
      s.append(box);
    });
    if (!value.length) s.append(el('p', { class: 'muted', text: 'none' }));
  } else {
    s.append(scalarList(value) || el('p', { class: 'muted', text: '(empty)' }));
    for (const [k, v] of Object.entries(value)) if (v && typeof v === 'object') s.append(section(label(k), v));
  }
  return s;
}

function renderCandidate(c, purged) {
  const box = $('candidate');
  box.replaceChildren();
  if (!c || typeof c !== 'object') {
    box.append(el('p', { class: 'note', id: 'purged', text: purged
      ? 'The payload of this push was purged (--retention): only its outcome row is kept.'
      : 'The payload of this push carries no candidate.' }));
    return;
  }
  const person = scalarList(c);
  box.append(el('section', { class: 'card' }, el('h3', { text: 'Person' }), person || el('p', { class: 'muted', text: '(empty)' })));
  const order = (k) => (/custom/i.test(k) ? 2 : 1);
  const keys = Object.keys(c).filter((k) => c[k] && typeof c[k] === 'object').sort((a, b) => order(a) - order(b));
  for (const k of keys) box.append(section(label(k), c[k]));
}

function prettyXml(xml) {
  const parts = xml.replace(/>\s*</g, '><').split(/(?=<)/);
  let depth = 0;
  const out = [];
  for (const p of parts) {
    if (/^<\//.test(p)) depth = Math.max(0, depth - 1);
    out.push('  '.repeat(depth) + p);
    if (/^<[^!?/][^>]*[^/]>$/.test(p) || /^<[^!?/]>$/.test(p)) depth++;
    if (/^<[^!?/][^>]*>[^<]+$/.test(p)) depth++; // an element and its text: the close comes next
  }
  return out.join('\n');
}

/* The push's archived documents: a download link for each one stored and kept. */
function renderAttachments(list) {
  const tb = $('attachment-list').tBodies[0];
  tb.replaceChildren();
  for (const a of list) {
    const name = a.file_name || a.url || ('attachment ' + a.id);
    const file = a.download
      ? el('a', { href: a.download, download: a.file_name || '', class: 'download', text: name })
      : el('span', { text: name });
    let status = a.status;
    if (a.purged) status += ' (purged by retention)';
    else if (a.error) status += ': ' + a.error;
    tb.append(el('tr', { 'data-attachment-id': String(a.id) },
      el('td', { text: a.field || '' }), el('td', {}, file),
      el('td', { class: a.purged ? 'purged' : '', text: status + (a.attempts > 1 ? ' (' + a.attempts + ' attempts)' : '') }),
      el('td', { text: a.size == null ? '' : a.size + ' B' }),
      el('td', { class: 'sha', text: a.sha256 || '' })));
  }
  $('attachment-list').hidden = !list.length;
  $('attachments').textContent = list.length ? '' : 'none';
  $('attachments').hidden = !!list.length;
}

async function showPush(id) {
  state.pushId = id;
  $('list-view').hidden = true;
  $('push-view').hidden = false;
  $('confirm').hidden = true;
  $('replay-result').hidden = true;
  const p = await api('/api/pushes/' + encodeURIComponent(id));
  document.title = 'push ' + p.push_id;
  $('push-title').replaceChildren('Push ' + p.push_id + ' ', badge(p.outcome));
  const env = $('envelope');
  env.replaceChildren();
  const rows = [['push id', p.push_id], ['event', p.event], ['triggered at', p.triggered_at],
    ['received', when(p.received_at)], ['applicationId', p.application_id], ['candidateId', p.candidate_id],
    ['outcome', p.outcome], ['message', p.message]];
  for (const [k, v] of rows) if (v !== null && v !== undefined && v !== '') env.append(el('dt', { text: k }), el('dd', { text: String(v) }));
  const rep = $('replaced');
  rep.replaceChildren();
  rep.hidden = !p.replaced_by;
  if (p.replaced_by) {
    rep.append('A later push has replaced this candidate: ',
      el('a', { href: '#/push/' + encodeURIComponent(p.replaced_by), text: p.replaced_by }));
  }
  renderCandidate(p.candidate, p.payload_purged);
  const wb = $('warnings').tBodies[0];
  wb.replaceChildren();
  for (const w of p.warnings || []) {
    wb.append(el('tr', {}, el('td', { text: w.field }),
      el('td', { text: w.value == null ? '(purged)' : w.value }), el('td', { text: w.reason })));
  }
  $('warnings-box').hidden = !wb.rows.length;
  renderAttachments(p.attachments || []);
  $('payload').textContent = p.payload ? prettyXml(p.payload) : (p.raw || '(not kept)');
  $('replay').disabled = !p.payload_kept;
}

async function replay() {
  $('confirm').hidden = true;
  const out = $('replay-result');
  out.hidden = false;
  out.textContent = 'Replaying…';
  const r = await api('/api/pushes/' + encodeURIComponent(state.pushId) + '/replay', { method: 'POST' });
  const id = state.pushId;
  await showPush(id);
  out.hidden = false;
  out.textContent = 'Replayed: ' + r.outcome + (r.superseded ? ' (a later push holds the candidate: unchanged)' : '') +
    (r.message ? ' — ' + r.message : '') + (r.skipped ? ' — ' + r.result : '');
}

/* ---- wiring ---- */

async function route() {
  showError('');
  const r = readHash();
  try {
    if (r.push) await showPush(r.push); else await showList(r);
  } catch (e) {
    showError(e.message);
  }
}

function guard(fn) {
  return () => fn().catch((e) => showError(e.message));
}

async function start() {
  const s = await api('/api/session');
  state.csrf = s.csrf_token;
  $('who').textContent = s.user && s.user !== '-' ? s.user : '';
  if (!s.name_search) $('q').placeholder = 'push id or applicationId';
  $('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const qs = new URLSearchParams();
    if ($('q').value.trim()) qs.set('q', $('q').value.trim());
    if ($('outcome').value) qs.set('outcome', $('outcome').value);
    const h = '#/' + (qs.toString() ? '?' + qs.toString() : '');
    if (location.hash === h) route(); else location.hash = h;
  });
  $('outcome').addEventListener('change', () => $('search').requestSubmit());
  $('more').addEventListener('click', guard(() => loadPage(false)));
  $('w24h').addEventListener('click', guard(() => { state.window = '24h'; return loadChart(); }));
  $('w7d').addEventListener('click', guard(() => { state.window = '7d'; return loadChart(); }));
  $('replay').addEventListener('click', () => { $('confirm').hidden = false; });
  $('replay-no').addEventListener('click', () => { $('confirm').hidden = true; });
  $('replay-yes').addEventListener('click', guard(replay));
  window.addEventListener('hashchange', route);
  await route();
}

document.addEventListener('DOMContentLoaded', () => { start().catch((e) => showError(e.message)); });
