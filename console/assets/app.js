// The console's entry point: who is logged in, which view the path asks
// for, and the links between views (every view has a URL of its own).

import { get, password, setPassword, ApiError, SESSION, startEarly, dropEarly } from './api.js';
import * as profile from './profile.js';
import { profileURL, idFromPath, requests } from './profile.js';

const body = document.body;
let user = null; // "read-write" or "read-only" once known

const ctx = {
  painted: markPainted,
  canWrite: () => user === 'read-write',
  status,
  navigate,
  replaceURL: (url) => history.replaceState(null, '', url),
};

// status shows a message under the header (an error in red).
function status(msg, isError = false) {
  const box = document.getElementById('status');
  box.textContent = msg;
  box.classList.toggle('error', isError);
  box.hidden = !msg;
}

function navigate(url) {
  history.pushState(null, '', url);
  route();
}

// idFromBox reads the lookup box: an identifier, or a bare profile id.
function idFromBox(v) {
  v = v.trim();
  return /^\d+$/.test(v) ? 'profile:' + v : v;
}

// The segment views' scripts load on their first use, so that a
// profile's first paint does not wait for them to be compiled.
let segmentView = null, segmentsView = null;
function segmentModule() {
  segmentView ||= import('./segment.js').then((m) => { m.init(ctx); return m; });
  return loaded(segmentView, () => { segmentView = null; });
}
function segmentsModule() {
  segmentsView ||= import('./segments.js');
  return loaded(segmentsView, () => { segmentsView = null; });
}

// loaded is a view's module, or null when it could not be loaded (the
// status line says why, and the next visit tries again).
async function loaded(module, forget) {
  try {
    return await module;
  } catch (e) {
    forget();
    status('This view could not be loaded: ' + e.message, true);
    return null;
  }
}

function showView(name) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
  body.dataset.view = name;
  if (name !== 'segments' && segmentsView) segmentsView.then((m) => m.hide());
}

// route shows the view of the current URL.
async function route() {
  const path = location.pathname;
  status('');
  delete body.dataset.ready;
  if (path.startsWith('/profile/')) {
    const id = idFromPath(path);
    document.getElementById('lookup-id').value = id;
    document.title = id + ' · idgraph';
    showView('profile');
    await profile.show(id, ctx);
  } else if (path === '/segment') {
    document.title = 'Segment · idgraph';
    showView('segment');
    const view = await segmentModule();
    if (!view || location.pathname !== path) return; // or navigated away meanwhile
    view.show(new URLSearchParams(location.search), ctx);
    body.dataset.ready = 'segment';
  } else if (path === '/segments') {
    document.title = 'Saved segments · idgraph';
    showView('segments');
    const view = await segmentsModule();
    if (!view || location.pathname !== path) return;
    await view.show(ctx);
    body.dataset.ready = 'segments';
  } else {
    document.title = 'idgraph console';
    showView('home');
    document.getElementById('lookup-id').focus();
    body.dataset.ready = 'home';
  }
}

// markPainted records, once per page load, when the first profile's card
// and graph were on screen (the browser test reads these marks), and when
// its timeline followed.
let painted = false;
function markPainted(what) {
  if (painted) return;
  performance.mark('idgraph:profile-' + what);
  if (what === 'timeline') painted = true;
}

// removeWriteControls takes every write control out of the page for the
// read-only user (the server refuses its writes anyway).
function removeWriteControls() {
  for (const e of document.querySelectorAll('.write')) e.remove();
}

// login asks for the password until the server takes one.
function askPassword(message) {
  const box = document.getElementById('login');
  const err = document.getElementById('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  box.hidden = false;
  document.querySelector('main').hidden = true;
  body.dataset.ready = 'login';
  document.getElementById('login-password').focus();
}

async function session() {
  try {
    performance.mark('idgraph:start');
    const s = await get(SESSION);
    performance.mark('idgraph:session');
    user = s.user;
    body.dataset.user = user;
    document.getElementById('user').textContent = user === 'read-only' ? 'read-only user' : (s.password ? 'read-write user' : '');
    document.getElementById('logout').hidden = !s.password;
    if (user !== 'read-write') removeWriteControls();
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      askPassword(password() ? 'That password was refused.' : '');
      return false;
    }
    status(e.message, true);
    return false;
  }
}

async function start() {
  document.getElementById('lookup').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = idFromBox(document.getElementById('lookup-id').value);
    if (id) navigate(profileURL(id));
  });
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-nav]');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setPassword(document.getElementById('login-password').value);
    document.getElementById('login-password').value = '';
    if (await session()) {
      document.getElementById('login').hidden = true;
      document.querySelector('main').hidden = false;
      route();
    }
  });
  document.getElementById('logout').addEventListener('click', () => {
    setPassword('');
    location.reload();
  });
  // What the first view needs is asked for now, beside the session.
  startEarly(SESSION);
  const id = idFromPath(location.pathname);
  if (id) for (const path of requests(id)) startEarly(path);
  if (await session()) await route();
  else dropEarly();
}

start();
