// Splits a search snippet into plain and matching parts, so the view can wrap the
// matches in <mark> elements (text nodes, never HTML: a snippet is document text).

export interface Segment {
  text: string;
  match: boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Case-insensitive matches of the whole query, or, if it does not occur as a whole,
 * of each of its words. A regular expression with the `iu` flags finds them in the
 * original text: lower-casing first would shift the offsets where a character changes
 * length ("İ" becomes two code units).
 */
export function highlight(text: string, query: string): Segment[] {
  const q = query.trim();
  if (q === '' || text === '') return text === '' ? [] : [{ text, match: false }];
  const whole = new RegExp(escapeRegExp(q), 'giu');
  const words = q
    .split(/\s+/)
    .filter((w) => w !== '')
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp);
  const re = whole.test(text) ? new RegExp(escapeRegExp(q), 'giu') : new RegExp(words.join('|'), 'giu');
  const out: Segment[] = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index;
    if (m[0] === '') continue;
    if (start > at) out.push({ text: text.slice(at, start), match: false });
    out.push({ text: m[0], match: true });
    at = start + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}
