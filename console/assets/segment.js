// The segment editor: a live SEGMENT COUNT as you type, errors marked at
// their word, the members' first page with the fields you pick, CSV
// export, and SEGMENT SAVE.

import { run, statement, get, ApiError } from './api.js';
import { splitWords } from './words.js';
import { h } from './dom.js';

const COUNT_DELAY_MS = 150;
const MEMBERS_PAGE = 50;
const EXPORT_PAGE = 1000;

// The statement the editor counts with: the expression's word N is the
// statement's word N + PREFIX_WORDS.
const PREFIX = 'SEGMENT COUNT ';
const PREFIX_WORDS = 2;

let seq = 0;
let timer = 0;
let types = null; // identifier types, from TYPES, for the fields
let exportSupported = true; // until the server says SEGMENT EXPORT is unknown

// init wires the editor once, on its first showing. ctx: { canWrite,
// status, navigate, replaceURL }. The read-only user's page has no save
// form by then.
export function init(ctx) {
  const expr = document.getElementById('expr');
  expr.addEventListener('input', () => {
    ctx.replaceURL('/segment' + (expr.value ? '?expr=' + encodeURIComponent(expr.value) : ''));
    schedule();
  });
  document.getElementById('examples').addEventListener('click', (ev) => {
    const code = ev.target.closest('code');
    if (!code) return;
    setExpr(code.textContent, ctx);
  });
  document.getElementById('members-show').addEventListener('click', () => showMembers(ctx));
  document.getElementById('export-csv').addEventListener('click', () => exportCSV(ctx));
  const save = document.getElementById('save-form');
  if (save) save.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = document.getElementById('save-name').value.trim();
    if (!name) { ctx.status('Give the segment a name.', true); return; }
    try {
      await run('SEGMENT', 'SAVE', name, ...words(expr.value));
      ctx.status(`Saved as ${name}.`);
      hints(ctx);
    } catch (e) {
      ctx.status(e.message, true);
    }
  });
}

function words(expr) { return splitWords(expr).words.map((w) => w.text); }

function setExpr(text, ctx) {
  const expr = document.getElementById('expr');
  expr.value = text;
  ctx.replaceURL('/segment?expr=' + encodeURIComponent(text));
  count();
}

// show opens the editor with the expression of the URL.
export function show(params, ctx) {
  const expr = document.getElementById('expr');
  const e = params.get('expr');
  if (e !== null) expr.value = e;
  document.getElementById('members').replaceChildren();
  hints(ctx);
  count();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(count, COUNT_DELAY_MS);
}

// count runs SEGMENT COUNT on the expression; only the newest answer is
// shown.
async function count() {
  clearTimeout(timer);
  const mine = ++seq;
  const text = document.getElementById('expr').value;
  const out = document.getElementById('count');
  const label = document.getElementById('count-label');
  if (text.trim() === '') {
    out.textContent = '–';
    label.textContent = 'profiles';
    mark(text, null);
    document.body.dataset.count = '';
    return;
  }
  out.classList.add('stale');
  try {
    const n = await statement(PREFIX + text);
    if (mine !== seq) return;
    out.textContent = n.toLocaleString('en');
    out.dataset.value = String(n);
    label.textContent = n === 1 ? 'profile' : 'profiles';
    mark(text, null);
  } catch (e) {
    if (mine !== seq) return;
    out.textContent = '–';
    delete out.dataset.value;
    label.textContent = 'profiles';
    mark(text, e);
  } finally {
    if (mine === seq) {
      out.classList.remove('stale');
      document.body.dataset.count = String(mine);
    }
  }
}

// mark shows the expression with the word an error points at marked, and
// the error's message.
function mark(text, err) {
  const box = document.getElementById('expr-mirror');
  if (!err) { box.replaceChildren(); box.removeAttribute('data-word'); return; }
  const msg = h('div', { class: 'error', id: 'expr-error', text: err.message });
  const at = err.word - PREFIX_WORDS; // 1-based word of the expression
  if (!(err instanceof ApiError) || err.word === 0 || at < 1) {
    box.replaceChildren(msg);
    box.removeAttribute('data-word');
    return;
  }
  const ws = splitWords(text).words;
  const line = h('div', { class: 'mirror-line' });
  if (at <= ws.length) {
    const w = ws[at - 1];
    line.append(text.slice(0, w.start), h('mark', { id: 'expr-mark', text: text.slice(w.start, w.end) }), text.slice(w.end));
  } else {
    line.append(text, h('mark', { id: 'expr-mark', class: 'at-end', text: ' ' }));
  }
  box.dataset.word = String(at);
  box.replaceChildren(line, msg);
}

// fields reads the field list: identifier types, trait:<name>,
// consent:<purpose>, computed:<name>, tags.
function fields() {
  return document.getElementById('fields').value.split(',').map((f) => f.trim()).filter(Boolean);
}

async function loadTypes() {
  if (!types) types = new Set((await run('TYPES')).map((t) => t.type));
  return types;
}

// pick is one member's row from its WHO reply, in SEGMENT EXPORT's shape:
// profile, then each field (an identifier type gives the list of that
// type's values).
export function pick(p, fs, known) {
  const row = { profile: p.profile };
  for (const f of fs) {
    const i = f.indexOf(':');
    const kind = i < 0 ? '' : f.slice(0, i), what = f.slice(i + 1);
    if (f === 'tags') row[f] = p.tags || [];
    else if (kind === 'trait') row[f] = (p.traits || {})[what] ?? null;
    else if (kind === 'consent') row[f] = (p.consent || {})[what] ?? null;
    else if (kind === 'computed') row[f] = (p.computed || {})[what] ?? null;
    else if (i < 0 && known.has(f)) row[f] = p.ids.filter((x) => x.startsWith(f + ':')).map((x) => x.slice(f.length + 1));
    else throw new Error(`unknown field "${f}": give an identifier type (email, phone …), trait:<name>, consent:<purpose>, computed:<name> or tags`);
  }
  return row;
}

// fetchMembers is the one place the console reads a segment's members: a
// page of rows, ascending by profile id, each the profile and the fields
// asked for. It asks SEGMENT EXPORT; a server without it (the statement is
// refused at its second word) is asked SEGMENT IDS and then WHO of each
// member, which gives the same rows.
export async function fetchMembers(expr, fs, limit, after) {
  const ws = words(expr);
  const page = ['LIMIT', String(limit), ...(after ? ['AFTER', String(after)] : [])];
  if (exportSupported) {
    try {
      return await run('SEGMENT', 'EXPORT', ...ws, ...(fs.length ? ['FIELDS', ...fs] : []), ...page);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'SYNTAX' && e.word === 2)) throw e;
      exportSupported = false;
    }
  }
  const known = await loadTypes();
  fs.forEach((f) => pick({ profile: 0, ids: [] }, [f], known)); // check the fields first
  const ids = await run('SEGMENT', 'IDS', ...ws, ...page);
  const profiles = await Promise.all(ids.map((id) =>
    get('/v1/profiles/profile:' + id).catch((e) => (e.status === 404 ? null : Promise.reject(e)))));
  return profiles.filter(Boolean).map((p) => pick(p, fs, known));
}

function cell(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.join('; ');
  return String(v);
}

async function showMembers(ctx, after = 0) {
  const box = document.getElementById('members');
  const expr = document.getElementById('expr').value;
  const fs = fields();
  box.replaceChildren(h('p', { class: 'muted', text: 'Loading members …' }));
  let rows;
  try {
    rows = await fetchMembers(expr, fs, MEMBERS_PAGE, after);
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', text: e.message }));
    return;
  }
  const cols = ['profile', ...fs];
  const table = h('table', { id: 'members-table' }, h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { text: c })))));
  const body = h('tbody');
  for (const r of rows) {
    const tr = h('tr');
    const link = h('a', { href: '/profile/profile:' + r.profile, text: String(r.profile), 'data-nav': '' });
    tr.append(h('td', {}, link), ...fs.map((f) => h('td', { text: cell(r[f]) })));
    body.append(tr);
  }
  table.append(body);
  const parts = [table];
  if (rows.length === 0) parts.push(h('p', { class: 'muted', text: after ? 'No more members.' : 'No members.' }));
  if (rows.length === MEMBERS_PAGE) {
    const next = h('button', { type: 'button', text: 'Next page' });
    next.addEventListener('click', () => showMembers(ctx, rows[rows.length - 1].profile));
    parts.push(next);
  }
  box.replaceChildren(...parts);
}

// csvCell quotes a value for CSV (RFC 4180), and keeps a spreadsheet from
// running it as a formula: a value starting with = @ tab or CR, or with +
// or - and not a plain number (a phone +49 … stays as it is), is prefixed
// with an apostrophe.
export function csvCell(v) {
  let s = cell(v);
  if (/^[=@\t\r]/.test(s) || (/^[+-]/.test(s) && !/^[+-][0-9 ().-]*$/.test(s))) s = "'" + s;
  if (/[",;\r\n]/.test(s) || /^\s|\s$/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

// toCSV is the rows as CSV: a header of the columns, CRLF line ends.
export function toCSV(cols, rows) {
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

let exporting = null;

async function exportCSV(ctx) {
  const progress = document.getElementById('export-progress');
  if (exporting) { exporting.cancel = true; return; }
  const expr = document.getElementById('expr').value;
  const fs = fields();
  const job = { cancel: false };
  exporting = job;
  const button = document.getElementById('export-csv');
  button.textContent = 'Cancel export';
  const rows = [];
  try {
    let after = 0;
    for (;;) {
      const page = await fetchMembers(expr, fs, EXPORT_PAGE, after);
      rows.push(...page);
      progress.textContent = `${rows.length.toLocaleString('en')} rows …`;
      if (job.cancel) { progress.textContent = 'Export cancelled.'; return; }
      if (page.length < EXPORT_PAGE) break;
      after = page[page.length - 1].profile;
    }
    const blob = new Blob([toCSV(['profile', ...fs], rows)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: 'segment-' + new Date().toISOString().slice(0, 10) + '.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    progress.textContent = `${rows.length.toLocaleString('en')} rows exported.`;
  } catch (e) {
    progress.textContent = '';
    ctx.status(e.message, true);
  } finally {
    exporting = null;
    button.textContent = 'Export CSV';
  }
}

// hints fills the lists beside the grammar: saved segments, computed
// traits and identifier types, each a click away from the expression.
async function hints(ctx) {
  const fill = (id, items, make) => {
    const ul = document.getElementById(id);
    ul.replaceChildren(...items.map((x) => {
      const c = h('code', { text: make(x), title: 'add to the expression' });
      c.addEventListener('click', () => {
        const expr = document.getElementById('expr');
        const cur = expr.value.trim();
        setExpr(cur ? cur + ' AND ' + make(x) : make(x), ctx);
      });
      return h('li', {}, c);
    }));
    if (items.length === 0) ul.replaceChildren(h('li', { class: 'muted', text: 'none' }));
  };
  try {
    const [saved, computed, ts] = await Promise.all([run('SEGMENT', 'LIST'), run('COMPUTE', 'LIST'), run('TYPES')]);
    types = new Set(ts.map((t) => t.type));
    fill('hint-segments', Object.keys(saved).sort(), (n) => 'IN ' + quoteIfNeeded(n));
    fill('hint-computed', Object.keys(computed).sort(), (n) => 'TRAIT ' + quoteIfNeeded(n) + ' > 0');
    fill('hint-types', [...types].sort(), (t) => 'HAS ' + t);
  } catch (e) {
    ctx.status(e.message, true);
  }
}

function quoteIfNeeded(n) { return /\s/.test(n) ? '"' + n.replace(/["\\]/g, (c) => '\\' + c) + '"' : n; }
