// The identity graph, drawn: GRAPH's nodes and edges laid out with
// d3-force (vendored, run to rest before anything is drawn, so the picture
// appears at once and does not move) into one SVG.

const SVG = 'http://www.w3.org/2000/svg';

// CLUSTER_AT: a type with more identifiers than this inside the profile
// (cookies, typically) is drawn as one cluster node until expanded, so a
// profile of a few hundred identifiers stays readable.
export const CLUSTER_AT = 12;

// HUB_DEGREE: a node with at least this many edges is drawn as a hub.
export const HUB_DEGREE = 8;

// LABEL_EDGES_UP_TO: above this many drawn edges, edge labels show on
// hover only.
const LABEL_EDGES_UP_TO = 40;

const TYPE_CLASSES = new Set(['user', 'email', 'phone', 'device', 'push', 'webpush', 'app', 'cookie', 'idfa', 'aaid', 'telegram', 'serial']);

// typeClass is the CSS class that colours a type; declared types get one
// of eight hues by a hash of their name.
export function typeClass(type) {
  if (TYPE_CLASSES.has(type)) return 'type-' + type;
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 'hue-' + (h % 8);
}

// graphView turns a GRAPH reply into what is drawn: nodes with their
// degree, moved identifiers marked, types over CLUSTER_AT collapsed into
// one node unless in expanded, and the edges between clusters merged
// (counts added, sources and rules joined, the pairs kept for WHY).
export function graphView(g, expanded = new Set()) {
  const degree = new Map();
  const bump = (id) => degree.set(id, (degree.get(id) || 0) + 1);
  for (const e of g.edges) { bump(e.from); bump(e.to); }
  const insideByType = new Map();
  for (const n of g.nodes) if (n.inside) insideByType.set(n.type, (insideByType.get(n.type) || 0) + 1);
  const moved = new Map();
  const profileOf = new Map(g.nodes.map((n) => [n.id, n.profile]));
  for (const e of g.edges) {
    if (e.status !== 'moved') continue;
    const who = profileOf.get(e.to) === e.moved_to ? e.to : e.from;
    moved.set(who, { to: e.moved_to, at: e.moved_at });
  }

  const nodes = [];
  const byKey = new Map();
  const keyOf = new Map();
  for (const n of g.nodes) {
    const clustered = n.inside && insideByType.get(n.type) > CLUSTER_AT && !expanded.has(n.type);
    const key = clustered ? 'cluster:' + n.type : n.id;
    keyOf.set(n.id, key);
    let v = byKey.get(key);
    if (!v) {
      v = clustered
        ? { key, id: key, type: n.type, cluster: true, members: [], inside: true, profile: n.profile, degree: 0 }
        : { key, id: n.id, type: n.type, inside: n.inside, profile: n.profile, degree: degree.get(n.id) || 0, moved: moved.get(n.id) };
      byKey.set(key, v);
      nodes.push(v);
    }
    if (clustered) v.members.push(n.id);
  }

  const edges = [];
  const edgeByKey = new Map();
  for (const e of g.edges) {
    const a = keyOf.get(e.from), b = keyOf.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    const merge = byKey.get(a).cluster || byKey.get(b).cluster;
    const k = merge ? [a, b].sort().join('\u0000') + '\u0000' + e.status : e.from + '\u0000' + e.to;
    let v = edgeByKey.get(k);
    if (!v) {
      v = { key: k, source: a, target: b, status: e.status, count: 0, sources: new Set(), rules: new Set(), pairs: [] };
      edgeByKey.set(k, v);
      edges.push(v);
    }
    v.count += e.count;
    for (const s of e.sources || [e.source]) if (s) v.sources.add(s);
    if (e.rule) v.rules.add(e.rule);
    v.pairs.push(e);
  }
  for (const v of edges) {
    byKey.get(v.source).cluster && (byKey.get(v.source).degree += 1);
    byKey.get(v.target).cluster && (byKey.get(v.target).degree += 1);
  }
  for (const v of nodes) {
    v.hub = v.degree >= HUB_DEGREE;
    v.r = v.cluster ? 14 + Math.min(16, Math.sqrt(v.members.length) * 2) : Math.min(28, 7 + 2.2 * Math.sqrt(v.degree));
  }
  const clusters = [...insideByType].filter(([, k]) => k > CLUSTER_AT).map(([t]) => t);
  return { nodes, edges, clusters };
}

// edgeLabel is what an edge says: its count and sources; a refused one its
// rule; a moved one where the identifier went.
export function edgeLabel(e) {
  const src = [...e.sources].sort().join(', ');
  switch (e.status) {
    case 'refused': return 'refused · ' + [...e.rules].join(', ');
    case 'moved': return 'moved → profile ' + e.pairs[0].moved_to;
    case 'unlinked': return 'unlinked';
  }
  return e.count + '× ' + src;
}

// layout places the nodes with d3-force, run to rest.
function layout(view) {
  const d3 = window.d3;
  const n = view.nodes.length;
  const sim = d3.forceSimulation(view.nodes)
    .force('link', d3.forceLink(view.edges).id((d) => d.key).distance((e) => 40 + e.source.r + e.target.r).strength(0.6))
    .force('charge', d3.forceManyBody().strength(n > 150 ? -60 : -260))
    .force('collide', d3.forceCollide((d) => d.r + 6))
    .force('x', d3.forceX(0).strength(0.04))
    .force('y', d3.forceY(0).strength(0.06))
    .stop();
  const ticks = n > 300 ? 120 : 300;
  for (let i = 0; i < ticks; i++) sim.tick();
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function short(id, max = 28) {
  return id.length > max ? id.slice(0, max - 1) + '…' : id;
}

// draw renders the view into svg. onEdge(edge) and onNode(node) are
// called on clicks.
export function draw(svg, view, { onEdge, onNode, selected } = {}) {
  svg.replaceChildren();
  if (view.nodes.length === 0) return;
  layout(view);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const d of view.nodes) {
    x0 = Math.min(x0, d.x - d.r); x1 = Math.max(x1, d.x + d.r);
    y0 = Math.min(y0, d.y - d.r); y1 = Math.max(y1, d.y + d.r);
  }
  const pad = 90;
  const w = Math.max(x1 - x0 + 2 * pad, 400), h = Math.max(y1 - y0 + 2 * pad, 260);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  svg.setAttribute('viewBox', `${cx - w / 2} ${cy - h / 2} ${w} ${h}`);
  svg.setAttribute('data-nodes', String(view.nodes.length));
  svg.setAttribute('data-edges', String(view.edges.length));

  const labels = view.edges.length <= LABEL_EDGES_UP_TO;
  const ge = el('g', { class: 'edges' }, svg);
  for (const e of view.edges) {
    const g = el('g', { class: `edge ${e.status}`, 'data-from': e.source.id, 'data-to': e.target.id, 'data-status': e.status }, ge);
    const line = { x1: e.source.x, y1: e.source.y, x2: e.target.x, y2: e.target.y };
    el('line', { ...line, class: 'stroke', 'stroke-width': String(Math.min(6, 1 + Math.log2(e.count))) }, g);
    el('line', { ...line, class: 'hit' }, g);
    const text = edgeLabel(e);
    el('title', {}, g).textContent = `${e.source.id} — ${e.target.id}\n${text}`;
    if (labels) {
      const t = el('text', { x: (e.source.x + e.target.x) / 2, y: (e.source.y + e.target.y) / 2 - 3, class: 'edge-label' }, g);
      t.textContent = text;
    }
    g.addEventListener('click', () => onEdge && onEdge(e));
  }
  const gn = el('g', { class: 'nodes' }, svg);
  for (const d of view.nodes) {
    const cls = ['node', typeClass(d.type)];
    if (!d.inside) cls.push('outside');
    if (d.hub) cls.push('hub');
    if (d.cluster) cls.push('cluster');
    if (d.moved) cls.push('moved');
    if (selected === d.id) cls.push('selected');
    const g = el('g', { class: cls.join(' '), 'data-id': d.id, transform: `translate(${d.x},${d.y})` }, gn);
    if (d.hub) el('circle', { r: d.r + 5, class: 'hub-ring' }, g);
    el('circle', { r: d.r, class: 'dot' }, g);
    let label = d.cluster ? `${d.type} ×${d.members.length}` : short(d.id);
    if (d.hub) label += ` · hub, ${d.degree} links`;
    if (d.moved) label += ` ↗ moved to profile ${d.moved.to}`;
    if (!d.inside && !d.moved) label += ` (profile ${d.profile})`;
    const t = el('text', { y: d.r + 13, class: 'node-label' }, g);
    t.textContent = label;
    if (d.cluster) {
      const c = el('text', { y: 4, class: 'cluster-count' }, g);
      c.textContent = String(d.members.length);
    }
    el('title', {}, g).textContent = d.cluster
      ? `${d.members.length} ${d.type} identifiers: click to expand`
      : `${d.id}\ntype ${d.type}, profile ${d.profile}${d.inside ? '' : ' (outside this profile)'}, ${d.degree} links`;
    g.addEventListener('click', () => onNode && onNode(d));
  }
}

// legend lists the types drawn, with their colours, and what the strokes
// mean.
export function legend(box, view) {
  box.replaceChildren();
  const types = [...new Set(view.nodes.map((n) => n.type))].sort();
  for (const t of types) {
    const s = document.createElement('span');
    s.className = 'legend-item ' + typeClass(t);
    const dot = document.createElement('i');
    s.append(dot, t);
    box.append(s);
  }
  for (const [cls, text] of [['linked', 'linked'], ['refused', 'refused (dashed)'], ['moved', 'moved']]) {
    const s = document.createElement('span');
    s.className = 'legend-item legend-' + cls;
    const dash = document.createElement('b');
    s.append(dash, text);
    box.append(s);
  }
}
