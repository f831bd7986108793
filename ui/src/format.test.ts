import { describe, expect, it } from 'vitest';
import { formatUpdated } from './format';

const opts = { locale: 'en-GB', timeZone: 'UTC' };
const now = new Date('2026-11-03T15:00:00Z');

describe('formatUpdated', () => {
  it('shows only the time for something changed today', () => {
    expect(formatUpdated('2026-11-03T09:05:00.000Z', now, opts)).toBe('9:05');
  });

  it('shows day and month for earlier this year, and the year before that', () => {
    expect(formatUpdated('2026-11-02T23:59:00.000Z', now, opts)).toBe('2 Nov');
    expect(formatUpdated('2025-12-31T12:00:00.000Z', now, opts)).toBe('31 Dec 2025');
  });

  it('decides "today" in the given time zone, not in UTC', () => {
    // 23:30 UTC on the 2nd is already the 3rd in Berlin.
    const berlin = { locale: 'en-GB', timeZone: 'Europe/Berlin' };
    expect(formatUpdated('2026-11-02T23:30:00.000Z', now, berlin)).toBe('0:30');
  });

  it('shows a value it cannot parse as it is', () => {
    expect(formatUpdated('', now, opts)).toBe('');
    expect(formatUpdated('yesterday-ish', now, opts)).toBe('yesterday-ish');
  });
});
