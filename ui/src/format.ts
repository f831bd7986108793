// How times are shown in the document list.

export interface FormatOptions {
  locale?: string;
  timeZone?: string;
}

function dayKey(d: Date, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat('en-CA', {
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
    return new Intl.DateTimeFormat(locale, { timeZone, hour: 'numeric', minute: '2-digit' }).format(d);
  }
  const sameYear = dayKey(d, timeZone).slice(0, 4) === dayKey(now, timeZone).slice(0, 4);
  return new Intl.DateTimeFormat(locale, {
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
  return new Intl.DateTimeFormat(opts.locale, {
    timeZone: opts.timeZone,
    dateStyle: 'full',
    timeStyle: 'short',
  }).format(d);
}
