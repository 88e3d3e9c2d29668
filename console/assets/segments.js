// Saved segments (SEGMENT LIST, COUNT, DROP) and the change feed
// (GET /v1/changes, long-polled: entries appear as they arrive).

import { get, run, ApiError } from './api.js';
import { h, time } from './dom.js';

const BLOCK_MS = 20000; // how long one poll of the feed waits for entries
const KEEP = 200; // entries kept on the page
const RETRY_MS = 5000; // wait after a failed poll

let feed = null; // the running feed: { stop, cursor }

// show lists the saved segments and starts the feed.
export async function show(ctx) {
  await list(ctx);
  startFeed();
}

// hide stops the feed (the view is left).
export function hide() {
  if (feed) feed.stop();
  feed = null;
}

async function list(ctx) {
  const tbody = document.querySelector('#saved tbody');
  let saved;
  try {
    saved = await run('SEGMENT', 'LIST');
  } catch (e) {
    ctx.status(e.message, true);
    return;
  }
  const names = Object.keys(saved).sort();
  tbody.replaceChildren(...names.map((name) => {
    const expr = saved[name];
    const members = h('td', { class: 'num', text: '…' });
    run('SEGMENT', 'COUNT', 'IN', name).then(
      (n) => { members.textContent = n.toLocaleString('en'); },
      (e) => { members.textContent = e.code || 'error'; members.title = e.message; });
    const actions = h('td', { class: 'actions' },
      h('a', { href: '/segment?expr=' + encodeURIComponent(expr), text: 'open', 'data-nav': '' }));
    if (ctx.canWrite()) {
      const drop = h('button', { type: 'button', class: 'danger write', text: 'Drop' });
      drop.addEventListener('click', async () => {
        if (drop.dataset.armed !== '1') {
          drop.dataset.armed = '1';
          drop.textContent = 'Really drop?';
          return;
        }
        try {
          const n = await run('SEGMENT', 'DROP', name);
          ctx.status(n ? `Dropped ${name}.` : `${name} was already gone.`);
        } catch (e) {
          ctx.status(e.message, true);
        }
        list(ctx);
      });
      actions.append(' ', drop);
    }
    return h('tr', { 'data-name': name }, h('td', { text: name }), h('td', {}, h('code', { text: expr })), members, actions);
  }));
  if (names.length === 0) tbody.replaceChildren(h('tr', {}, h('td', { colSpan: 4, class: 'muted', text: 'No saved segments yet: save one from the editor.' })));
}

function startFeed() {
  hide();
  const state = document.getElementById('feed-state');
  const tbody = document.querySelector('#feed tbody');
  const ctl = new AbortController();
  const me = { stop: () => ctl.abort(), cursor: null, first: true };
  feed = me;
  state.textContent = 'Listening for changes …';
  state.dataset.feed = 'connecting';
  (async () => {
    while (feed === me) {
      const q = new URLSearchParams();
      if (me.cursor !== null) q.set('after', String(me.cursor));
      q.set('block', String(me.first ? 0 : BLOCK_MS));
      let entries;
      try {
        entries = await get('/v1/changes?' + q, ctl.signal);
      } catch (e) {
        if (e.name === 'AbortError' || feed !== me) return;
        if (e instanceof ApiError && e.status === 404) {
          state.textContent = 'Change feed not available: this server has no GET /v1/changes yet.';
          state.dataset.feed = 'unavailable';
          return;
        }
        state.textContent = 'Change feed: ' + e.message + ' (retrying)';
        state.dataset.feed = 'error';
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      state.textContent = 'Live: new entries appear at the top.';
      state.dataset.feed = 'live';
      for (const c of entries || []) {
        me.cursor = c.cursor;
        const profile = h('a', { href: '/profile/profile:' + c.profile, text: String(c.profile), 'data-nav': '' });
        tbody.prepend(h('tr', { class: 'kind-' + String(c.kind).replace(/\W/g, '-') },
          h('td', { class: 'num', text: String(c.cursor) }),
          h('td', { class: 'nowrap', text: time(c.time) }),
          h('td', { text: c.kind }),
          h('td', {}, profile),
          h('td', { text: c.segment || '' }),
          h('td', { text: c.reason || '' })));
      }
      while (tbody.children.length > KEEP) tbody.lastElementChild.remove();
      me.first = false;
    }
  })();
}
