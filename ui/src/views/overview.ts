// The main pane when no document is open: every document in its folders with its kind
// and last change (the list the window showed before it had a sidebar; the e2e smoke
// test reads it), and the Trash view. Both lists are drawn as a window (virtual-list.ts):
// with 100,000 documents only the rows in view are elements.
import { restoreDoc, type DocSummary } from '../api';
import { button, h } from '../dom';
import { formatFull, formatUpdated } from '../format';
import { flatten, trashed, treeOf, type Row } from '../tree';
import type { App } from './app';
import { indented, kindLabel } from './brand';
import { busy } from './form';
import type { Pane } from './pane';
import { virtualList, type VirtualList } from './virtual-list';

/** Every row of the overview's and the trash's lists is this tall (style.css reads it). */
export const LIST_ROW_PX = 34;

/** A list of the main pane, scrolled by the pane's host. */
function paneList<T>(list: HTMLElement, make: (item: T) => HTMLElement): VirtualList<T> {
  return virtualList<T>({ list, scroller: () => list.closest<HTMLElement>('.pane-host'), rowHeight: LIST_ROW_PX, make });
}

const collapsed = new Set<string>();

function rowElement(app: App, row: Row, now: Date, rerender: () => void): HTMLElement {
  if (row.type === 'folder') {
    const toggle = indented(
      button(
        { class: 'folder', 'aria-expanded': String(row.expanded) },
        () => {
          if (collapsed.has(row.node.key)) collapsed.delete(row.node.key);
          else collapsed.add(row.node.key);
          rerender();
        },
        h('span', { class: 'chevron', 'aria-hidden': 'true' }),
        h('span', { class: 'name' }, row.node.name),
        h('span', { class: 'count' }, String(row.count)),
      ),
      row.depth,
    );
    return h('li', { class: 'row folder-row', 'data-testid': 'folder-row' }, toggle);
  }
  const { doc } = row;
  const open = button(
    { class: 'title link-like' },
    () => void app.open(doc.id),
    h('span', { class: `icon ${doc.kind}`, 'aria-hidden': 'true' }),
    h('span', { class: 'doc-title' }, doc.title),
  );
  return h(
    'li',
    { class: 'row doc-row', 'data-testid': 'doc-row', 'data-doc-id': doc.id, title: doc.path },
    indented(open, row.depth),
    h('span', { class: `kind ${doc.kind}` }, kindLabel(doc.kind)),
    h('time', { datetime: doc.updated, title: formatFull(doc.updated) }, formatUpdated(doc.updated, now)),
  );
}

export function overviewPane(app: App, onCreate: (kind: 'note' | 'record') => void): Pane {
  const el = h('section', { class: 'overview', 'data-testid': 'overview' });
  // One list for the pane's life: a redraw (a change from another device) replaces its
  // rows in place, so the scroll position stays.
  const list = h('ul', { class: 'doc-list', 'data-testid': 'doc-list', 'aria-label': 'All documents' });
  const rows = paneList<Row>(list, (r) => rowElement(app, r, new Date(), render));
  const render = (): void => rows.set(flatten(treeOf(app.docs(), app.folders()), collapsed));
  const draw = (): void => {
    const docs = app.docs();
    if (docs.length === 0) {
      const note = button({ class: 'primary' }, () => onCreate('note'), 'New note');
      const record = button({}, () => onCreate('record'), 'New record');
      el.replaceChildren(
        h(
          'div',
          { class: 'empty', 'data-testid': 'empty' },
          h('h2', {}, 'No documents yet'),
          h('p', { class: 'muted' }, 'Start with a note or a record, or create one from a terminal: ', h('code', {}, 'weft new note "Title"')),
          h('div', { class: 'actions center' }, note, record),
        ),
      );
      return;
    }
    render();
    const count = `${docs.length} ${docs.length === 1 ? 'document' : 'documents'}`;
    el.replaceChildren(
      h('div', { class: 'pane-title' }, h('h1', {}, 'All documents'), h('span', { class: 'muted' }, count)),
      h(
        'div',
        { class: 'docs' },
        h('div', { class: 'row head', 'aria-hidden': 'true' }, h('span', {}, 'Title'), h('span', {}, 'Kind'), h('span', {}, 'Updated')),
        list,
      ),
    );
  };
  draw();
  return { el, docId: null, docsUpdated: draw, destroy: async () => rows.dispose() };
}

export function trashPane(app: App): Pane {
  const el = h('section', { class: 'overview trash', 'data-testid': 'trash' });
  const list = h('ul', { class: 'doc-list trash-list', 'aria-label': 'Documents in the trash' });
  const rows = paneList<DocSummary>(list, (doc) => trashRow(app, doc, new Date()));
  const draw = (): void => {
    const docs = trashed(app.allDocs());
    el.replaceChildren(
      h('div', { class: 'pane-title' }, h('h1', {}, 'Trash'), h('span', { class: 'muted' }, `${docs.length} ${docs.length === 1 ? 'document' : 'documents'}`)),
      docs.length === 0 ? h('p', { class: 'empty muted', 'data-testid': 'trash-empty' }, 'The trash is empty.') : h('div', { class: 'docs' }, list),
    );
    rows.set(docs);
  };
  draw();
  return { el, docId: null, docsUpdated: draw, destroy: async () => rows.dispose() };
}

function trashRow(app: App, doc: DocSummary, now: Date): HTMLElement {
  const restore = button(
    { 'data-testid': 'restore', 'aria-label': `Restore “${doc.title}”` },
    () =>
      busy(
        restore,
        () => restoreDoc(doc.id).then(() => app.refresh()),
        (e) => app.fail(e, `Could not restore “${doc.title}”`),
      ),
    'Restore',
  );
  return h(
    'li',
    { class: 'row trash-row', 'data-testid': 'trash-row', 'data-id': doc.id, 'data-kind': doc.kind, 'data-path': doc.path },
    h(
      'span',
      { class: 'title' },
      h('span', { class: `icon ${doc.kind}`, 'aria-hidden': 'true' }),
      h('span', { class: 'doc-title' }, doc.title),
      h('span', { class: 'muted path' }, doc.folder.length ? doc.folder.join(' / ') : ''),
    ),
    h('time', { datetime: doc.updated, title: formatFull(doc.updated) }, formatUpdated(doc.updated, now)),
    restore,
  );
}
