import { describe, expect, it } from 'vitest';
import { highlight } from './highlight';

const marked = (text: string, q: string): string =>
  highlight(text, q)
    .map((s) => (s.match ? `[${s.text}]` : s.text))
    .join('');

describe('search highlight', () => {
  it('marks every match of the query, ignoring case, keeping the original letters', () => {
    expect(marked('Plan the plan. PLAN!', 'plan')).toBe('[Plan] the [plan]. [PLAN]!');
  });

  it('marks the words of the query when the whole does not occur', () => {
    expect(marked('buy milk and bread', 'bread milk')).toBe('buy [milk] and [bread]');
    expect(marked('ice cream', 'ice cream')).toBe('[ice cream]');
  });

  it('treats regular-expression characters as text', () => {
    expect(marked('costs $5 (or more)', '$5 (or')).toBe('costs [$5 (or] more)');
    expect(marked('a.b', '.')).toBe('a[.]b');
  });

  it('keeps offsets right where lower-casing changes the length', () => {
    expect(marked('İstanbul trip', 'trip')).toBe('İstanbul [trip]');
  });

  it('returns the text unmarked for an empty query, and nothing for an empty text', () => {
    expect(highlight('abc', '  ')).toEqual([{ text: 'abc', match: false }]);
    expect(highlight('', 'x')).toEqual([]);
    expect(marked('abc', 'zzz')).toBe('abc');
  });
});
