// The identity graph, drawn: GRAPH's nodes and edges, laid out (rings
// around the most connected identifier, settled by a small force
// simulation unless the graph is a tree) and drawn into one SVG.

const SVG = 'http://www.w3.org/2000/svg';

// CLUSTER_AT: more identifiers than this of one type inside the profile
// (cookies, typically), or of one type outside it, are drawn as one
// cluster node until expanded, so a profile of a few hundred identifiers
// stays readable.
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

// clusterKey is the cluster an identifier would be drawn in: its type,
// inside the profile or outside it.
function clusterKey(n) { return (n.inside ? 'cluster:' : 'cluster-outside:') + n.type; }

// graphView turns a GRAPH reply into what is drawn: nodes with their
// degree, moved identifiers marked, the identifiers of a type (inside the
// profile, or outside it) collapsed into one cluster node when there are
// more than CLUSTER_AT of them, unless its key is in expanded, and the
// edges between clusters merged (counts added, sources and rules joined,
// the pairs kept for WHY).
export function graphView(g, expanded = new Set()) {
  const degree = new Map();
  const bump = (id) => degree.set(id, (degree.get(id) || 0) + 1);
  for (const e of g.edges) { bump(e.from); bump(e.to); }
  const perCluster = new Map();
  for (const n of g.nodes) perCluster.set(clusterKey(n), (perCluster.get(clusterKey(n)) || 0) + 1);
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
    const ck = clusterKey(n);
    const clustered = perCluster.get(ck) > CLUSTER_AT && !expanded.has(ck);
    const key = clustered ? ck : n.id;
    keyOf.set(n.id, key);
    let v = byKey.get(key);
    if (!v) {
      v = clustered
        ? { key, id: key, type: n.type, cluster: true, members: [], inside: n.inside, profile: n.inside ? n.profile : 0, degree: 0 }
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
  return { nodes, edges };
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

// radial places the nodes in rings around the most connected identifier
// of the profile, ring n holding those n links away (breadth first), each
// ring ordered by the angle of its nodes' parents and wide enough for its
// nodes. It is cheap and already readable, so the force layout after it
// only has to settle.
function radial(view) {
  const byKey = new Map(view.nodes.map((d) => [d.key, d]));
  const adj = new Map(view.nodes.map((d) => [d.key, []]));
  for (const e of view.edges) {
    adj.get(e.source).push(e.target);
    adj.get(e.target).push(e.source);
  }
  let root = view.nodes[0];
  for (const d of view.nodes) if (d.inside && d.degree > root.degree) root = d;
  const rings = [];
  const seen = new Map(); // key → [ring, parent angle]
  const visit = (start) => {
    let ring = [start];
    seen.set(start.key, 0);
    while (ring.length) {
      rings.push(ring);
      const next = [];
      for (const d of ring) {
        for (const k of adj.get(d.key)) {
          if (seen.has(k)) continue;
          seen.set(k, d);
          next.push(byKey.get(k));
        }
      }
      ring = next;
    }
  };
  visit(root);
  for (const d of view.nodes) if (!seen.has(d.key)) visit(d); // not connected to the root
  let radius = 0;
  rings.forEach((ring, depth) => {
    if (depth === 0 && ring.length === 1) {
      ring[0].x = 0; ring[0].y = 0;
      return;
    }
    ring.sort((a, b) => (seen.get(a.key).angle || 0) - (seen.get(b.key).angle || 0));
    const need = ring.reduce((s, d) => s + 2 * d.r + 30, 0) / (2 * Math.PI);
    radius = Math.max(radius + 110, need);
    ring.forEach((d, i) => {
      d.angle = (2 * Math.PI * i) / ring.length - Math.PI / 2;
      const r = radius + (ring.length > 16 ? (i % 2) * 40 : 0); // stagger a crowded ring
      d.x = r * Math.cos(d.angle);
      d.y = r * Math.sin(d.angle);
    });
  });
}

// layout places the nodes: the radial start, then, unless the graph is a
// tree, a small force simulation to settle it (springs along edges,
// weighted as d3-force's links; repulsion between every pair; no
// overlap), run to rest before anything is drawn, so the picture appears
// at once and never moves; then leaves go into free space. A tree (a
// forest) is not simulated: its radial drawing, each ring ordered by its
// parents' angles, has no crossing already.
function layout(view) {
  radial(view);
  const ns = view.nodes;
  const n = ns.length;
  const byKey = new Map(ns.map((d) => [d.key, d]));
  for (const e of view.edges) {
    if (typeof e.source === 'string') e.source = byKey.get(e.source);
    if (typeof e.target === 'string') e.target = byKey.get(e.target);
  }
  const spread = n > 150 ? 0.45 : n > 40 ? 0.75 : 1;
  if (!isForest(view)) settle(view, spread);
  placeLeaves(view, 90 * spread);
}

// isForest: no cycle among the drawn edges (parallel edges count as one).
function isForest(view) {
  const n = view.nodes.length;
  const index = new Map(view.nodes.map((d, i) => [d, i]));
  const up = view.nodes.map((_, i) => i);
  const find = (i) => { while (up[i] !== i) { up[i] = up[up[i]]; i = up[i]; } return i; };
  const pairs = new Set();
  for (const e of view.edges) {
    const a = index.get(e.source), b = index.get(e.target);
    const k = a < b ? a * n + b : b * n + a;
    if (pairs.has(k)) continue;
    pairs.add(k);
    const ra = find(a), rb = find(b);
    if (ra === rb) return false;
    up[ra] = rb;
  }
  return true;
}

// settle runs the force simulation from the radial start. Repulsion is
// computed for every pair: clustering keeps the drawing to a few hundred
// nodes, where that beats a quadtree. It works on typed arrays (no
// allocation, so no collection, and loops that V8 compiles early: a
// page's scripts start cold on every load) and stops once no node moves
// by a tenth of a pixel. (d3-force, vendored at first, took 48-82 ms for
// 80 steps of the 50-identifier test profile on the loaded 2-core test
// machine.)
function settle(view, spread) {
  const ns = view.nodes;
  const n = ns.length;
  const index = new Map(ns.map((d, i) => [d, i]));
  const x = new Float64Array(n), y = new Float64Array(n), vx = new Float64Array(n), vy = new Float64Array(n), r = new Float64Array(n);
  const links = new Float64Array(n);
  ns.forEach((d, i) => { x[i] = d.x; y[i] = d.y; r[i] = d.r; });
  const m = view.edges.length;
  const src = new Int32Array(m), dst = new Int32Array(m);
  view.edges.forEach((e, k) => {
    src[k] = index.get(e.source); dst[k] = index.get(e.target);
    links[src[k]]++; links[dst[k]]++;
  });
  const rest = new Float64Array(m), weight = new Float64Array(m), bias = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const a = src[k], b = dst[k];
    rest[k] = 90 * spread + r[a] + r[b];
    weight[k] = 1 / Math.min(links[a], links[b]);
    bias[k] = links[a] / (links[a] + links[b]);
  }
  const charge = 1400 * spread * spread;
  const gap = 70 * spread;
  const ticks = n > 300 ? 40 : n > 100 ? 80 : n > 30 ? 120 : 200;
  let alpha = 1;
  const decay = 1 - Math.pow(0.005, 1 / ticks); // alpha falls to 0.005 at the last step
  for (let step = 0; step < ticks; step++) {
    alpha *= 1 - decay;
    for (let k = 0; k < m; k++) { // springs, weighted as d3-force's links so that a hub does not overshoot
      const a = src[k], b = dst[k];
      const dx = x[b] + vx[b] - x[a] - vx[a] || 0.01, dy = y[b] + vy[b] - y[a] - vy[a] || 0.01;
      const l = Math.sqrt(dx * dx + dy * dy);
      const f = ((l - rest[k]) / l) * alpha * weight[k];
      vx[b] -= dx * f * bias[k]; vy[b] -= dy * f * bias[k];
      vx[a] += dx * f * (1 - bias[k]); vy[a] += dy * f * (1 - bias[k]);
    }
    for (let i = 0; i < n; i++) { // repulsion and collision
      for (let j = i + 1; j < n; j++) {
        let dx = x[j] - x[i], dy = y[j] - y[i];
        if (dx === 0 && dy === 0) { dx = (j - i) * 0.01; dy = 0.01; }
        const d2 = dx * dx + dy * dy;
        if (d2 < 160000) {
          const f = (charge * alpha) / d2;
          vx[i] -= dx * f; vy[i] -= dy * f;
          vx[j] += dx * f; vy[j] += dy * f;
        }
        const min = Math.max(r[i] + r[j] + 16, gap);
        if (d2 < min * min) {
          const d = Math.sqrt(d2);
          const push = ((min - d) / d) * 0.5;
          x[i] -= dx * push; y[i] -= dy * push;
          x[j] += dx * push; y[j] += dy * push;
        }
      }
    }
    let fastest = 0;
    for (let i = 0; i < n; i++) {
      vx[i] -= x[i] * 0.02 * alpha; vy[i] -= y[i] * 0.02 * alpha; // keep it centred
      vx[i] *= 0.6; vy[i] *= 0.6;
      const v = Math.sqrt(vx[i] * vx[i] + vy[i] * vy[i]);
      if (v > 60) { vx[i] *= 60 / v; vy[i] *= 60 / v; } // no step flings a node away
      x[i] += vx[i]; y[i] += vy[i];
      if (v > fastest) fastest = v;
    }
    if (fastest < 0.1 && step > 10) break;
  }
  ns.forEach((d, i) => { d.x = x[i]; d.y = y[i]; });
}

// placeLeaves moves the identifiers with one link (leaves) of a node that
// also has other links into the widest free angle around that node: the
// forces can trap a leaf inside a cycle, across its edges.
function placeLeaves(view, length) {
  const around = new Map();
  for (const e of view.edges) {
    for (const [a, b] of [[e.source, e.target], [e.target, e.source]]) {
      if (!around.has(a)) around.set(a, []);
      around.get(a).push(b);
    }
  }
  for (const [p, ns] of around) {
    const leaves = ns.filter((d) => around.get(d).length === 1);
    const others = ns.filter((d) => around.get(d).length > 1);
    if (leaves.length === 0 || others.length === 0) continue;
    const angles = others.map((d) => Math.atan2(d.y - p.y, d.x - p.x)).sort((a, b) => a - b);
    let gap = 0, from = 0;
    angles.forEach((a, i) => {
      const next = i + 1 < angles.length ? angles[i + 1] : angles[0] + 2 * Math.PI;
      if (next - a > gap) { gap = next - a; from = a; }
    });
    leaves.forEach((d, i) => {
      const a = from + (gap * (i + 1)) / (leaves.length + 1);
      const l = length + p.r + d.r;
      d.x = p.x + l * Math.cos(a);
      d.y = p.y + l * Math.sin(a);
    });
  }
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
  performance.mark('idgraph:layout');
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
    let label = d.cluster ? `${d.type} ×${d.members.length}${d.inside ? '' : ' outside'}` : short(d.id);
    if (d.hub) label += ` · hub, ${d.degree} links`;
    if (d.moved) label += ` ↗ moved to profile ${d.moved.to}`;
    if (!d.inside && !d.moved && !d.cluster) label += ` (profile ${d.profile})`;
    const t = el('text', { y: d.r + 13, class: 'node-label' }, g);
    t.textContent = label;
    if (d.cluster) {
      const c = el('text', { y: 4, class: 'cluster-count' }, g);
      c.textContent = String(d.members.length);
    }
    el('title', {}, g).textContent = d.cluster
      ? `${d.members.length} ${d.type} identifiers${d.inside ? '' : ' of other profiles'}: click to expand`
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
