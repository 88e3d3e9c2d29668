// Small DOM helpers. Everything shown is data, so it is set as text,
// never parsed as HTML.

// h makes an element: props set its class, text, data- attributes and
// other properties; children are appended (strings as text).
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// time shows an RFC 3339 time of a reply for people.
export function time(t) { return t ? t.replace('T', ' ').replace(/\.000Z$|Z$/, ' UTC') : '—'; }
