// The console's one way to the server: the JSON API, with the password
// of this tab (sessionStorage) as a Bearer token, never a cookie.

const KEY = 'idgraph.password';

export function password() { return sessionStorage.getItem(KEY) || ''; }

export function setPassword(p) {
  if (p) sessionStorage.setItem(KEY, p);
  else sessionStorage.removeItem(KEY);
}

// ApiError is a refused request: the HTTP status, the code of the JSON
// API's error ("SYNTAX", "NOTFOUND", ...), its message, and the 1-based
// word the message points at ("ERR SYNTAX at word 5: ..."), or 0.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.word = wordOf(message);
  }
}

// wordOf reads the position out of an error message, or 0.
export function wordOf(msg) {
  const m = /\bat word (\d+)\b/.exec(msg || '');
  return m ? Number(m[1]) : 0;
}

async function call(method, path, body, signal) {
  const headers = { Accept: 'application/json' };
  const p = password();
  if (p) headers.Authorization = 'Bearer ' + p;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'the server could not be reached (' + e.message + ')');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const msg = (data && data.error) || text || res.statusText;
    throw new ApiError(res.status, (data && data.code) || String(res.status), msg);
  }
  return data;
}

// SESSION is the path that tells the page who its credentials are.
export const SESSION = '/console/session';

// Requests started when the page starts (the session's and its first
// view's, at once), each kept for the first get of its path.
const early = new Map();

// startEarly starts a GET now; the first get of the same path takes its
// reply.
export function startEarly(path) {
  if (early.has(path)) return;
  const reply = call('GET', path);
  reply.catch(() => {}); // its taker reports a failure
  early.set(path, reply);
}

// dropEarly forgets the requests started early: their credentials were
// refused.
export function dropEarly() { early.clear(); }

// get reads a JSON API path.
export function get(path, signal) {
  const reply = early.get(path);
  if (reply) {
    early.delete(path);
    return reply;
  }
  return call('GET', path, undefined, signal);
}

// run sends one statement, as its words, to POST /v1/query.
export function run(...args) { return call('POST', '/v1/query', { args }); }

// statement sends one statement as a line, split by the server.
export function statement(line) { return call('POST', '/v1/query', { statement: line }); }

// idPath is an identifier as a path segment.
export function idPath(id) { return encodeURIComponent(id); }

// profilePath is the JSON API path of an identifier's profile.
export function profilePath(id) { return '/v1/profiles/' + idPath(id); }
