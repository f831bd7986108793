// How times are shown in the document list.

export interface FormatOptions {
  locale?: string;
  timeZone?: string;
}

// Making an Intl.DateTimeFormat is the costly part (JavaScriptCore loads ICU's pattern
// data for each one, about a millisecond), and a list of a thousand documents formats
// several times per row: formatters are made once per locale, zone and shape.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify([locale ?? null, options]);
  let f = formatters.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}

function dayKey(d: Date, timeZone: string | undefined): string {
  return formatter('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d);
}

/**
 * A short "last changed" label: the time for today, the day and month for this year,
 * the full date otherwise. An unparsable value is shown as it is rather than as
 * "Invalid Date".
 */
export function formatUpdated(iso: string, now: Date, opts: FormatOptions = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const { locale, timeZone } = opts;
  if (dayKey(d, timeZone) === dayKey(now, timeZone)) {
    return formatter(locale, { timeZone, hour: 'numeric', minute: '2-digit' }).format(d);
  }
  const sameYear = dayKey(d, timeZone).slice(0, 4) === dayKey(now, timeZone).slice(0, 4);
  return formatter(locale, {
    timeZone,
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  }).format(d);
}

/** The full date and time, for a tooltip. */
export function formatFull(iso: string, opts: FormatOptions = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(opts.locale, {
    timeZone: opts.timeZone,
    dateStyle: 'full',
    timeStyle: 'short',
  }).format(d);
}

/**
 * "just now", "2 min ago", "3 h ago", "yesterday", "4 days ago", then the date. A time
 * slightly in the future (another device's clock) reads as "just now".
 */
export function formatAgo(ms: number | null, now: number, opts: FormatOptions = {}): string {
  if (ms === null || !Number.isFinite(ms)) return 'never';
  const s = Math.floor((now - ms) / 1000);
  if (s < 45) return 'just now';
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const hours = Math.floor(s / 3600);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(s / 86400);
  if (days < 2) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  return formatUpdated(new Date(ms).toISOString(), new Date(now), opts);
}

/** A version's time in the timeline: "Today 14:05", "3 Nov, 09:30", "3 Nov 2025, 09:30". */
export function formatWhen(iso: string, now: Date, opts: FormatOptions = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const { locale, timeZone } = opts;
  const time = formatter(locale, { timeZone, hour: 'numeric', minute: '2-digit' }).format(d);
  if (dayKey(d, timeZone) === dayKey(now, timeZone)) return `Today ${time}`;
  return `${formatUpdated(iso, now, opts)}, ${time}`;
}
