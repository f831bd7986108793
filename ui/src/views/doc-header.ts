// Above a note or record: its title (editable), its folder, which devices hold its
// latest changes, and the History button.
import { docHolders, renameDoc, unreadableChanges, type DocSummary } from '../api';
import { button, h } from '../dom';
import { formatAgo } from '../format';
import { deviceName, holdersText } from '../sync';
import type { App } from './app';
import { kindLabel } from './brand';
import { alertBox } from './toast';

export interface DocHeader {
  el: HTMLElement;
  /** The document's summary changed (renamed here or elsewhere). */
  update(doc: DocSummary): void;
  /** Fetches the holders again (after an edit or a sync event). */
  refreshHolders(): Promise<void>;
  destroy(): void;
}

export function docHeader(app: App, initial: DocSummary, onHistory: () => void): DocHeader {
  let doc = initial;
  const title = h('input', {
    class: 'doc-title-input',
    'data-testid': 'doc-title',
    'aria-label': `Title of this ${doc.kind}`,
    value: doc.title,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const folder = h('span', { class: 'doc-folder muted', 'data-testid': 'doc-folder' });
  const holders = h('p', { class: 'holders muted', 'data-testid': 'holders' });
  // Changes that arrived but this version cannot read (a newer Weft made them, or
  // they are damaged): the rest of the document is shown, and this says what is not.
  const unreadable = h('p', { class: 'unreadable', 'data-testid': 'unreadable', role: 'status', hidden: true });
  const historyButton = button(
    { 'data-testid': 'history-button', 'aria-expanded': 'false', 'aria-controls': 'history-panel' },
    onHistory,
    'History',
  );

  const showFolder = (): void => {
    folder.replaceChildren(
      h('span', { class: `kind ${doc.kind}` }, kindLabel(doc.kind)),
      doc.folder.length > 0 ? ` in ${doc.folder.join(' / ')}` : '',
    );
  };
  showFolder();

  // Enter or leaving the field saves; Escape puts the stored title back.
  let saving = false;
  const commit = async (): Promise<void> => {
    const next = title.value.trim();
    if (saving || next === doc.title) return;
    if (next === '') {
      title.value = doc.title;
      return;
    }
    saving = true;
    try {
      await renameDoc(doc.id, next);
      await app.refresh();
    } catch (e) {
      title.value = doc.title;
      app.fail(e, `Could not rename “${doc.title}”`);
    } finally {
      saving = false;
    }
  };
  title.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      void commit();
    } else if (ev.key === 'Escape') {
      title.value = doc.title;
      title.blur();
    }
  });
  title.addEventListener('change', () => void commit());

  let alive = true;
  const refreshHolders = async (): Promise<void> => {
    try {
      const list = await docHolders(doc.id);
      if (!alive) return;
      const text = holdersText(list);
      holders.replaceChildren(text);
      holders.title = list
        .filter((x) => !x.this_device)
        .map((x) => `${deviceName(x)}: last in sync ${formatAgo(x.last_sync_ms, Date.now())}`)
        .join('\n');
    } catch (e) {
      if (alive) holders.replaceChildren(alertBox(e));
    }
    try {
      const list = await unreadableChanges(doc.id);
      if (!alive) return;
      unreadable.replaceChildren(list.map((u) => u.message).join('\n'));
      unreadable.hidden = list.length === 0;
    } catch {
      // The holders line above already shows why the shell did not answer.
    }
  };
  void refreshHolders();
  const unsubscribe = app.sync.subscribe(() => void refreshHolders());

  const el = h(
    'div',
    { class: 'doc-head' },
    h('div', { class: 'doc-head-row' }, title, historyButton),
    h('div', { class: 'doc-meta' }, folder, holders),
    unreadable,
  );
  return {
    el,
    update(next) {
      doc = next;
      if (document.activeElement !== title) title.value = doc.title;
      showFolder();
    },
    refreshHolders,
    destroy() {
      alive = false;
      unsubscribe();
    },
  };
}

/** Marks the History button as showing its panel or not. */
export function setHistoryOpen(header: DocHeader, open: boolean): void {
  header.el.querySelector('[data-testid="history-button"]')?.setAttribute('aria-expanded', String(open));
}
