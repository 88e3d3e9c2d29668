// The profile view: the card (WHO), the identity graph (GRAPH, with WHY
// on a click), the timeline (TIMELINE, paged by cursor) and FORGET.

import { get, run, profilePath, idPath, ApiError } from './api.js';
import { graphView, draw, legend, typeClass } from './graph.js';
import { h, time } from './dom.js';

const PAGE = 25;

// profileURL is the console's own link to an identifier's card.
export function profileURL(id) {
  return '/profile/' + idPath(id).replace(/%3A/gi, ':');
}

// idFromPath is the identifier a /profile/ path names (null for another
// path): the console's links encode it as a path segment.
export function idFromPath(path) {
  if (!path.startsWith('/profile/')) return null;
  const raw = path.slice('/profile/'.length);
  try { return decodeURIComponent(raw); } catch { return raw; }
}

// requests are the JSON API paths the view shows an identifier's profile
// from: WHO, GRAPH and the first page of TIMELINE, asked for at once.
export function requests(id) {
  const p = profilePath(id);
  return [p, p + '/graph', p + '/timeline?limit=' + PAGE];
}

// state of the view now shown; a newer load replaces it.
let current = null;

// show loads and draws the profile of id. ctx: { canWrite, status(msg,
// isError), navigate(url), painted(what) }. It resolves once the card,
// the graph and the timeline's first page are drawn.
export async function show(id, ctx) {
  const token = {};
  current = { token, id };
  const card = document.getElementById('card');
  const svg = document.getElementById('graph');
  document.getElementById('evidence').replaceChildren(h('p', { class: 'hint', text: 'Click an edge, or one identifier and then another, to see the evidence that links them (WHY).' }));
  card.replaceChildren(h('p', { class: 'muted', text: 'Loading ' + id + ' …' }));
  svg.replaceChildren();
  document.querySelector('#timeline tbody').replaceChildren();
  document.getElementById('timeline-more').hidden = true;

  let who, graph, events;
  try {
    [who, graph, events] = await Promise.all(requests(id).map((path) => get(path)));
  } catch (e) {
    if (current.token !== token) return;
    card.replaceChildren(h('p', { class: 'error', 'data-error': e.code || '', text: e.status === 404 ? `No profile holds ${id}.` : e.message }));
    document.body.dataset.ready = 'profile';
    if (!(e instanceof ApiError)) throw e;
    return;
  }
  if (current.token !== token) return;
  performance.mark('idgraph:profile-data');
  current.who = who;
  current.graph = graph;
  current.expanded = new Set();
  renderCard(card, id, who, ctx);
  performance.mark('idgraph:profile-card');
  renderGraph(ctx);
  performance.mark('idgraph:profile-graph');
  // The card and the graph go on screen first; the timeline, below them,
  // is laid out in the next task, after that frame.
  await afterFrame();
  if (current.token !== token) return;
  ctx.painted('painted');
  appendEvents(events, id, ctx);
  await afterFrame();
  if (current.token !== token) return;
  ctx.painted('timeline');
  document.body.dataset.ready = 'profile';
}

// afterFrame resolves after the next frame has been drawn.
function afterFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

function renderCard(card, id, p, ctx) {
  const byType = new Map();
  for (const x of p.ids) {
    const i = x.indexOf(':');
    const t = x.slice(0, i);
    if (!byType.has(t)) byType.set(t, []);
    byType.get(t).push(x.slice(i + 1));
  }
  const ids = h('dl', { class: 'ids' });
  for (const [t, vals] of byType) {
    ids.append(h('dt', { class: typeClass(t) }, h('i'), `${t} (${vals.length})`));
    const dd = h('dd');
    for (const v of vals) dd.append(h('span', { class: 'chip', 'data-id': t + ':' + v, text: v }));
    ids.append(dd);
  }
  const kv = (obj, fmt) => {
    const entries = Object.entries(obj || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return h('p', { class: 'muted', text: 'none' });
    const dl = h('dl', { class: 'kv' });
    for (const [k, v] of entries) dl.append(h('dt', { text: k }), fmt(k, v));
    return dl;
  };
  const chips = (list, make) => {
    if (!list || list.length === 0) return h('p', { class: 'muted', text: 'none' });
    const ul = h('ul', { class: 'chips' });
    for (const x of list) ul.append(h('li', {}, make(x)));
    return ul;
  };
  const head = h('div', { class: 'card-head' },
    h('h1', {}, 'Profile ', h('span', { id: 'card-profile', text: String(p.profile) })),
    h('p', { class: 'seen' },
      'first seen ', h('span', { id: 'card-first', text: time(p.first_seen) }),
      ' · last seen ', h('span', { id: 'card-last', text: time(p.last_seen) }),
      ' · ', h('span', { id: 'card-events', text: String(p.events) }), ' events'));
  if (ctx.canWrite()) {
    const forget = h('button', { class: 'danger write', type: 'button', id: 'forget', text: 'Forget…' });
    forget.addEventListener('click', () => askForget(id, ctx));
    head.append(forget);
  }
  const sec = (title, idAttr, body) => h('section', { class: 'card-sec', id: idAttr }, h('h2', { text: title }), body);
  const parts = [
    head,
    sec('Identifiers', 'card-ids', ids),
    sec('Traits', 'card-traits', kv(p.traits, (_, v) => h('dd', { text: String(v) }))),
    sec('Consent', 'card-consent', kv(p.consent, (_, v) => h('dd', { class: 'consent-' + v, text: v === 'grant' ? '✓ granted' : '✗ denied' }))),
    sec('Tags', 'card-tags', chips(p.tags, (t) => h('span', { class: 'chip', text: t }))),
  ];
  if (p.computed) parts.push(sec('Computed traits', 'card-computed', kv(p.computed, (_, v) => h('dd', { text: String(v) }))));
  parts.push(sec('Segments', 'card-segments', chips(p.segments, (s) => {
    const a = h('a', { href: '/segment?expr=' + encodeURIComponent('IN ' + s), text: s, 'data-nav': '' });
    return a;
  })));
  card.replaceChildren(...parts);
}

function renderGraph(ctx) {
  const { graph } = current;
  const view = graphView(graph, current.expanded);
  current.view = view;
  const svg = document.getElementById('graph');
  draw(svg, view, {
    selected: current.selected,
    onEdge: (e) => showEdge(e, ctx),
    onNode: (n) => clickNode(n, ctx),
  });
  legend(document.getElementById('graph-legend'), view);
  if (graph.truncated) {
    document.getElementById('graph-legend').append(h('span', { class: 'warn', text: 'graph cut at 2,000 identifiers' }));
  }
}

function clickNode(n, ctx) {
  if (n.cluster) {
    current.expanded.add(n.key);
    current.selected = null;
    renderGraph(ctx);
    return;
  }
  const prev = current.selected;
  if (prev && prev !== n.id) {
    current.selected = null;
    renderGraph(ctx);
    showWhy(prev, n.id);
    return;
  }
  current.selected = n.id;
  renderGraph(ctx);
  const box = document.getElementById('evidence');
  const open = h('a', { href: profileURL(n.id), text: n.inside ? 'look it up' : `open profile ${n.profile}`, 'data-nav': '' });
  box.replaceChildren(
    h('h3', { text: n.id }),
    h('p', { text: `type ${n.type} · profile ${n.profile}${n.inside ? '' : ' (outside)'} · ${n.degree} links${n.hub ? ' · a hub' : ''}` }),
    n.moved ? h('p', { class: 'warn', text: `moved to profile ${n.moved.to} at ${time(n.moved.at)}` }) : null,
    h('p', {}, open),
    h('p', { class: 'hint', text: 'Now click another identifier to see why the two are linked.' }));
}

function showEdge(e, ctx) {
  if (e.pairs.length === 1) {
    showWhy(e.pairs[0].from, e.pairs[0].to);
    return;
  }
  const box = document.getElementById('evidence');
  const ul = h('ul', { class: 'pairs' });
  for (const p of e.pairs) {
    const b = h('button', { class: 'link', type: 'button', text: `${p.from} — ${p.to} (${p.count}×)` });
    b.addEventListener('click', () => showWhy(p.from, p.to));
    ul.append(h('li', {}, b));
  }
  box.replaceChildren(h('h3', { text: `${e.pairs.length} pairs` }), ul);
}

// showWhy asks WHY for a pair and shows the evidence.
export async function showWhy(a, b) {
  const box = document.getElementById('evidence');
  box.replaceChildren(h('p', { class: 'muted', text: `WHY ${a} ${b} …` }));
  let why;
  try {
    why = await get(profilePath(a) + '/why/' + idPath(b));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', text: e.message }));
    return;
  }
  const steps = h('ol', { class: 'why-path' });
  for (const p of why.path || []) {
    let status = p.status;
    if (p.rule) status += ' (' + p.rule + ')';
    if (p.status === 'moved') status += ` → profile ${p.moved_to} at ${time(p.moved_at)}`;
    const seen = p.first_seen === p.last_seen ? time(p.first_seen) : `${time(p.first_seen)} … ${time(p.last_seen)}`;
    steps.append(h('li', { class: 'why-' + p.status },
      h('div', { class: 'why-pair', text: `${p.from} — ${p.to}` }),
      h('div', { class: 'why-status', text: status }),
      h('div', { class: 'why-meta', text: `${p.count}× · last from ${p.source} · ${seen}` })));
  }
  box.replaceChildren(
    h('h3', { id: 'why-title', text: `WHY ${a} ${b}` }),
    h('p', { class: why.linked ? 'linked' : 'not-linked', id: 'why-reason', 'data-linked': String(why.linked), text: why.reason }),
    steps);
}

function appendEvents(events, id, ctx) {
  const tbody = document.querySelector('#timeline tbody');
  for (const ev of events) {
    let props = ev.props;
    try { props = JSON.stringify(JSON.parse(ev.props), null, 1); } catch { /* keep the text */ }
    tbody.append(h('tr', { 'data-cursor': ev.cursor },
      h('td', { class: 'nowrap', text: time(ev.time) }),
      h('td', { text: ev.event }),
      h('td', { text: ev.source }),
      h('td', { class: 'ids-cell', text: ev.ids.join(' ') }),
      h('td', {}, props === '{}' ? '' : h('pre', { text: props }))));
  }
  const more = document.getElementById('timeline-more');
  more.hidden = events.length < PAGE;
  more.onclick = async () => {
    const last = tbody.lastElementChild && tbody.lastElementChild.dataset.cursor;
    more.disabled = true;
    try {
      const next = await run('TIMELINE', id, 'LIMIT', String(PAGE), 'AFTER', last);
      if (current.id === id) appendEvents(next, id, ctx);
    } catch (e) {
      ctx.status(e.message, true);
    } finally {
      more.disabled = false;
    }
  };
}

// askForget opens the FORGET dialog: the identifier must be typed again.
function askForget(id, ctx) {
  const dlg = document.getElementById('forget-dialog');
  const again = document.getElementById('forget-again');
  const confirm = document.getElementById('forget-confirm');
  const suppress = document.getElementById('forget-suppress');
  document.getElementById('forget-id').textContent = id;
  again.value = '';
  suppress.checked = false;
  confirm.disabled = true;
  again.oninput = () => { confirm.disabled = again.value !== id; };
  document.getElementById('forget-cancel').onclick = () => dlg.close();
  document.getElementById('forget-form').onsubmit = async (ev) => {
    ev.preventDefault();
    if (again.value !== id) return;
    dlg.close();
    try {
      const args = ['FORGET', id];
      if (suppress.checked) args.push('SUPPRESS');
      const r = await run(...args);
      ctx.navigate('/');
      ctx.status(`Forgotten: profile ${r.profile}, ${r.ids} identifiers, ${r.events} events erased.`);
    } catch (e) {
      ctx.status(e.message, true);
    }
  };
  dlg.showModal();
  again.focus();
}
