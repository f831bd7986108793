import { describe, expect, it } from 'vitest';
import { formatAgo, formatUpdated, formatWhen } from './format';

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

  it('keeps each locale, zone and shape apart when formatting many in a row', () => {
    // Formatters are reused (a list formats thousands of dates): one made for another
    // shape, zone or locale must not be used for these.
    const berlin = { locale: 'en-GB', timeZone: 'Europe/Berlin' };
    const us = { locale: 'en-US', timeZone: 'UTC' };
    for (let i = 0; i < 3; i++) {
      expect(formatUpdated('2026-11-02T23:59:00.000Z', now, opts)).toBe('2 Nov');
      expect(formatUpdated('2025-12-31T12:00:00.000Z', now, opts)).toBe('31 Dec 2025');
      expect(formatUpdated('2026-11-02T23:30:00.000Z', now, berlin)).toBe('0:30');
      expect(formatUpdated('2026-11-02T23:59:00.000Z', now, us)).toBe('Nov 2');
      expect(formatUpdated('2026-11-03T09:05:00.000Z', now, opts)).toBe('9:05');
    }
  });

  it('shows a value it cannot parse as it is', () => {
    expect(formatUpdated('', now, opts)).toBe('');
    expect(formatUpdated('yesterday-ish', now, opts)).toBe('yesterday-ish');
  });
});

describe('formatAgo', () => {
  const t = Date.parse('2026-11-03T15:00:00Z');
  const ago = (s: number): string => formatAgo(t - s * 1000, t, opts);

  it('says how long ago in words a person reads at a glance', () => {
    expect(ago(5)).toBe('just now');
    expect(ago(90)).toBe('2 min ago');
    expect(ago(59 * 60)).toBe('59 min ago');
    expect(ago(3 * 3600 + 100)).toBe('3 h ago');
    expect(ago(30 * 3600)).toBe('yesterday');
    expect(ago(4 * 86400)).toBe('4 days ago');
    expect(ago(40 * 86400)).toBe('24 Sept');
  });

  it('says never for a device never in sync, and just now for a clock ahead of ours', () => {
    expect(formatAgo(null, t)).toBe('never');
    expect(ago(-120)).toBe('just now');
  });
});

describe('formatWhen', () => {
  const t = Date.parse('2026-11-03T15:00:00Z');
  it('shows a version time with the day when it is not today', () => {
    expect(formatWhen('2026-11-03T09:05:00Z', new Date(t), opts)).toBe('Today 9:05');
    expect(formatWhen('2026-11-01T09:05:00Z', new Date(t), opts)).toBe('1 Nov, 9:05');
    expect(formatWhen('garbage', new Date(t), opts)).toBe('garbage');
  });
});
