// splitWords splits a line into words exactly as the server does
// (query.SplitLine, Redis-style): blanks separate words; "double quotes"
// keep blanks and take \n \r \t \b \a \\ \" and \xHH escapes; 'single
// quotes' keep blanks and take \'; a closing quote must end the word. Each
// word comes with its span in the line (start, end), so that an error "at
// word N" can be marked where it is. error is set, as the server would
// refuse the line, for an unbalanced quote or a quote not followed by a
// blank.
export function splitWords(line) {
  const words = [];
  const n = line.length;
  const blank = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  const hex = (c) => /^[0-9a-fA-F]$/.test(c || '');
  let i = 0;
  for (;;) {
    while (i < n && blank(line[i])) i++;
    if (i >= n) return { words };
    const start = i;
    let text = '';
    let dq = false, sq = false;
    for (;;) {
      if (dq) {
        if (i >= n) return { words: [...words, { text, start, end: n }], error: 'unbalanced double quote' };
        const c = line[i];
        if (c === '\\' && i + 3 < n && line[i + 1] === 'x' && hex(line[i + 2]) && hex(line[i + 3])) {
          text += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else if (c === '\\' && i + 1 < n) {
          text += unescape(line[i + 1]);
          i += 2;
        } else if (c === '"') {
          if (i + 1 < n && !blank(line[i + 1])) {
            return { words: [...words, { text, start, end: i + 1 }], error: 'a closing quote must be followed by a space' };
          }
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      } else if (sq) {
        if (i >= n) return { words: [...words, { text, start, end: n }], error: 'unbalanced single quote' };
        const c = line[i];
        if (c === '\\' && i + 1 < n && line[i + 1] === "'") {
          text += "'";
          i += 2;
        } else if (c === "'") {
          if (i + 1 < n && !blank(line[i + 1])) {
            return { words: [...words, { text, start, end: i + 1 }], error: 'a closing quote must be followed by a space' };
          }
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      } else {
        if (i >= n || blank(line[i])) break;
        if (line[i] === '"') dq = true;
        else if (line[i] === "'") sq = true;
        else text += line[i];
        i++;
      }
    }
    words.push({ text, start, end: i });
  }
}

function unescape(c) {
  switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\x07';
  }
  return c;
}

// quoteWord writes a word so that splitWords (and the server) read it back
// unchanged.
export function quoteWord(w) {
  if (w !== '' && !/[\s"'\\]/.test(w)) return w;
  return '"' + w.replace(/[\\"]/g, (c) => '\\' + c).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') + '"';
}
