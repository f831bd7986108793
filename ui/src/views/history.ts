// The History panel of the open document: its versions newest first, a read-only
// preview of one, and "Restore this version" (a new change that makes the document
// look as it did then; nothing is lost).
import { history, previewVersion, restoreVersion, type DocSummary, type Preview, type Version } from '../api';
import { button, h } from '../dom';
import { displayValue, fieldsOf } from '../fields';
import { formatFull, formatWhen } from '../format';
import { deviceName } from '../sync';
import { busy } from './form';
import { alertBox } from './toast';

export interface HistoryPanel {
  el: HTMLElement;
  refresh(): Promise<void>;
}

function who(v: Version): string {
  if (v.this_device) return 'this device';
  return deviceName({ name: v.device_name, id: v.device });
}

/** A preview as text and elements: never HTML from the document. */
export function previewElement(p: Preview): HTMLElement {
  if (p.kind === 'note') {
    return p.markdown.trim() === ''
      ? h('p', { class: 'muted' }, 'The note was empty.')
      : h('pre', { class: 'preview-md', 'data-testid': 'preview-text' }, p.markdown);
  }
  const fields = fieldsOf(p.json, p.conflicts);
  if (fields.length === 0) return h('p', { class: 'muted' }, 'The record had no fields.');
  return h(
    'dl',
    { class: 'preview-fields', 'data-testid': 'preview-fields' },
    ...fields.flatMap((f) => [
      h('dt', {}, f.name),
      h('dd', {}, f.value === undefined ? '(no value)' : displayValue(f.value), f.conflicts.length ? h('span', { class: 'badge conflict' }, 'conflict') : null),
    ]),
  );
}

/**
 * `beforeRestore` runs first (the note editor saves what was typed, so the restore
 * comes after it and is what the document then shows).
 */
export function historyPanel(
  doc: DocSummary,
  onRestored: () => Promise<void>,
  onClose: () => void,
  beforeRestore: () => Promise<void> = async () => {},
): HistoryPanel {
  const list = h('ol', { class: 'timeline', 'aria-label': 'Versions, newest first' });
  const status = h('div', { class: 'history-status' });
  const preview = h('div', { class: 'history-preview', 'data-testid': 'history-preview', 'aria-live': 'polite' });
  const close = button({ class: 'icon-button', 'aria-label': 'Close history' }, onClose, '×');
  const el = h(
    'aside',
    { class: 'history', id: 'history-panel', 'data-testid': 'history', 'aria-label': `History of ${doc.title}` },
    h('div', { class: 'panel-head' }, h('h2', {}, 'History'), close),
    status,
    list,
    preview,
  );
  let versions: Version[] = [];
  let chosen: number | null = null;

  const show = async (v: Version, newest: boolean): Promise<void> => {
    chosen = v.number;
    for (const b of list.querySelectorAll<HTMLElement>('[data-testid="history-item"]')) {
      b.setAttribute('aria-pressed', String(b.dataset.number === String(v.number)));
    }
    preview.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    let p: Preview;
    try {
      p = await previewVersion(doc.id, v.number);
    } catch (e) {
      if (chosen === v.number) preview.replaceChildren(alertBox(e));
      return;
    }
    if (chosen !== v.number) return;
    const slot = h('div', {});
    const restore = button(
      { class: 'primary', 'data-testid': 'restore-version', disabled: newest },
      () =>
        busy(
          restore,
          () => beforeRestore().then(() => restoreVersion(doc.id, v.number)).then(onRestored),
          (e) => slot.replaceChildren(alertBox(e)),
        ),
      'Restore this version',
    );
    preview.replaceChildren(
      h('h3', {}, `Version ${v.number}`, h('span', { class: 'muted' }, ` · ${formatFull(v.time)}`)),
      previewElement(p),
      slot,
      h('div', { class: 'actions' }, newest ? h('span', { class: 'muted' }, 'This is the current version. ') : null, restore),
    );
  };

  const refresh = async (): Promise<void> => {
    status.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading history…'));
    try {
      versions = await history(doc.id);
    } catch (e) {
      status.replaceChildren(alertBox(e));
      return;
    }
    status.replaceChildren();
    const now = new Date();
    const newestFirst = [...versions].sort((a, b) => b.number - a.number);
    const top = newestFirst[0]?.number;
    if (newestFirst.length === 0) status.replaceChildren(h('p', { class: 'muted' }, 'No versions yet.'));
    list.replaceChildren(
      ...newestFirst.map((v) => {
        const b = button(
          {
            class: 'version',
            'data-testid': 'history-item',
            'data-number': String(v.number),
            'aria-pressed': String(v.number === chosen),
            title: formatFull(v.time),
          },
          () => void show(v, v.number === top),
          h('time', { datetime: v.time }, formatWhen(v.time, now)),
          h('span', { class: 'who' }, who(v)),
          h('span', { class: 'summary' }, v.summary || 'Edit'),
        );
        return h('li', {}, b);
      }),
    );
  };
  void refresh();
  return { el, refresh };
}
