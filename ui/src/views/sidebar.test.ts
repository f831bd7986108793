// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const api = vi.hoisted(() => ({
  createFolder: vi.fn(),
  createNote: vi.fn(),
  createRecord: vi.fn(),
  moveDoc: vi.fn(),
  moveFolder: vi.fn(),
  renameDoc: vi.fn(),
  renameFolder: vi.fn(),
  restoreDoc: vi.fn(),
  trashDoc: vi.fn(),
}));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { createSidebar, type Sidebar } from './sidebar';
import { TREE_ROW_PX } from './sidebar-rows';
import { docSummary, fakeApp, key, settle, type FakeApp } from './testing';

let app: FakeApp;

function mount(): HTMLElement {
  const sidebar = createSidebar(app);
  document.body.replaceChildren(sidebar.el);
  sidebar.render();
  app.refresh = async () => sidebar.render();
  return sidebar.el;
}

const rowsOf = (el: HTMLElement): string[] =>
  [...el.querySelectorAll<HTMLElement>('[data-testid="tree-row"]')].map((r) => `${r.dataset.kind}:${r.dataset.path}`);
const rowAt = (el: HTMLElement, path: string): HTMLElement =>
  el.querySelector<HTMLElement>(`[data-testid="tree-row"][data-path="${path}"]`)!;

beforeEach(() => {
  app = fakeApp(
    [docSummary('Plan', ['Work', 'Q4'], 'note', 'plan'), docSummary('Hello', ['Inbox'], 'note', 'hello'), docSummary('Books', [], 'record', 'books')],
    [['Archive']],
  );
  for (const f of Object.values(api)) f.mockResolvedValue(undefined);
});
afterEach(() => vi.clearAllMocks());

describe('the sidebar tree', () => {
  it('shows folders (empty ones too), notes and records with their paths', () => {
    const el = mount();
    expect(rowsOf(el)).toEqual(['folder:Archive', 'folder:Inbox', 'note:Inbox/Hello', 'folder:Work', 'folder:Work/Q4', 'note:Work/Q4/Plan', 'record:Books']);
    expect(rowAt(el, 'Work').getAttribute('aria-expanded')).toBe('true');
  });

  it('opens a document on click and moves with the arrow keys', () => {
    const el = mount();
    rowAt(el, 'Inbox/Hello').click();
    expect(app.opened).toEqual(['hello']);
    const tree = el.querySelector('[data-testid="tree"]')!;
    key(rowAt(el, 'Inbox/Hello'), 'ArrowDown');
    expect(document.activeElement).toBe(rowAt(el, 'Work'));
    key(rowAt(el, 'Work'), 'ArrowLeft');
    expect(rowsOf(el)).toEqual(['folder:Archive', 'folder:Inbox', 'note:Inbox/Hello', 'folder:Work', 'record:Books']);
    expect(tree.querySelectorAll('[aria-selected="true"]').length).toBe(1);
  });

  it('renames with F2: Enter commits the new title, Escape changes nothing', async () => {
    const el = mount();
    rowAt(el, 'Inbox/Hello').click();
    key(rowAt(el, 'Inbox/Hello'), 'F2');
    let input = el.querySelector<HTMLInputElement>('[data-testid="rename-input"]')!;
    expect(input.value).toBe('Hello');
    input.value = 'Goodbye';
    key(input, 'Escape');
    await settle();
    expect(api.renameDoc).not.toHaveBeenCalled();
    expect(el.querySelector('[data-testid="rename-input"]')).toBeNull();

    rowAt(el, 'Inbox/Hello').dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    input = el.querySelector<HTMLInputElement>('[data-testid="rename-input"]')!;
    input.value = '  Goodbye ';
    key(input, 'Enter');
    await settle();
    expect(api.renameDoc).toHaveBeenCalledExactlyOnceWith('hello', 'Goodbye');
  });

  it('renames a folder with F2, keeping it selected and folded as it was', async () => {
    const el = mount();
    rowAt(el, 'Work/Q4').click(); // selects and folds Q4
    rowAt(el, 'Work').click(); // selects and folds Work
    key(rowAt(el, 'Work'), 'F2');
    const input = el.querySelector<HTMLInputElement>('[data-testid="rename-input"]')!;
    expect(input.value).toBe('Work');
    input.value = 'Job';
    // The engine renames the folder; the next listing shows the new paths.
    api.renameFolder.mockImplementation(async () => {
      app.setDocs(
        [docSummary('Plan', ['Job', 'Q4'], 'note', 'plan'), docSummary('Hello', ['Inbox'], 'note', 'hello'), docSummary('Books', [], 'record', 'books')],
        [['Archive']],
      );
    });
    key(input, 'Enter');
    await settle();
    expect(api.renameFolder).toHaveBeenCalledExactlyOnceWith(['Work'], 'Job');
    expect(rowsOf(el)).toEqual(['folder:Archive', 'folder:Inbox', 'note:Inbox/Hello', 'folder:Job', 'record:Books']);
    expect(rowAt(el, 'Job').getAttribute('aria-selected')).toBe('true');
    expect(rowAt(el, 'Job').getAttribute('aria-expanded')).toBe('false');
    // Unfolded, its subfolder is still folded.
    key(rowAt(el, 'Job'), 'ArrowRight');
    expect(rowAt(el, 'Job/Q4').getAttribute('aria-expanded')).toBe('false');
  });

  it('creates a note in the selected folder', async () => {
    api.createNote.mockResolvedValue(docSummary('Ideas', ['Work', 'Q4'], 'note', 'ideas'));
    const el = mount();
    rowAt(el, 'Work/Q4').click(); // selects (and folds) Q4
    el.querySelector<HTMLButtonElement>('[data-testid="new-note"]')!.click();
    const input = el.querySelector<HTMLInputElement>('[data-testid="new-name"]')!;
    expect(input.getAttribute('aria-label')).toBe('Name of the new note in Work / Q4');
    input.value = 'Ideas';
    key(input, 'Enter');
    await settle();
    expect(api.createNote).toHaveBeenCalledExactlyOnceWith('Ideas', ['Work', 'Q4']);
    expect(app.opened).toEqual(['ideas']);
  });

  it('moves a document to the trash with the Delete key', async () => {
    const el = mount();
    rowAt(el, 'Books').click();
    app.opened.length = 0;
    key(rowAt(el, 'Books'), 'Delete');
    await settle();
    expect(api.trashDoc).toHaveBeenCalledExactlyOnceWith('books');
    // It was open: the pane goes back to the overview.
    expect(app.opened).toEqual([null]);
    expect(document.querySelector('[data-testid="toasts"]')?.textContent).toContain('Moved “Books” to the trash.');
  });

  function drag(el: HTMLElement, from: string, to: HTMLElement): boolean {
    const src = rowAt(el, from);
    src.dispatchEvent(new Event('dragstart', { bubbles: true }));
    const over = new Event('dragover', { bubbles: true, cancelable: true });
    to.dispatchEvent(over);
    to.dispatchEvent(new Event('drop', { bubbles: true, cancelable: true }));
    src.dispatchEvent(new Event('dragend', { bubbles: true }));
    return over.defaultPrevented;
  }

  it('drops a document onto a folder, and onto the root area to the top level', async () => {
    const el = mount();
    expect(drag(el, 'Inbox/Hello', rowAt(el, 'Archive'))).toBe(true);
    await settle();
    expect(api.moveDoc).toHaveBeenCalledExactlyOnceWith('hello', ['Archive']);
    expect(drag(el, 'Work/Q4/Plan', el.querySelector<HTMLElement>('[data-testid="tree-root"]')!)).toBe(true);
    await settle();
    expect(api.moveDoc).toHaveBeenLastCalledWith('plan', []);
  });

  it('refuses to drop a folder into itself or a folder inside it', async () => {
    const el = mount();
    expect(drag(el, 'Work', rowAt(el, 'Work/Q4'))).toBe(false);
    expect(drag(el, 'Work', rowAt(el, 'Work'))).toBe(false);
    await settle();
    expect(api.moveFolder).not.toHaveBeenCalled();
    expect(drag(el, 'Work/Q4', rowAt(el, 'Archive'))).toBe(true);
    await settle();
    expect(api.moveFolder).toHaveBeenCalledExactlyOnceWith(['Work', 'Q4'], ['Archive']);
  });

  it('moves with cut and paste from the keyboard', async () => {
    const el = mount();
    rowAt(el, 'Inbox/Hello').click();
    key(rowAt(el, 'Inbox/Hello'), 'x', { ctrlKey: true });
    rowAt(el, 'Archive').click();
    key(rowAt(el, 'Archive'), 'v', { ctrlKey: true });
    await settle();
    expect(api.moveDoc).toHaveBeenCalledExactlyOnceWith('hello', ['Archive']);
  });

  it('reports a refused move with the shell’s message', async () => {
    api.moveDoc.mockRejectedValue({ code: 'exists', message: 'a document named Hello is already there' });
    const el = mount();
    drag(el, 'Inbox/Hello', rowAt(el, 'Archive'));
    await settle();
    expect(app.failures).toHaveLength(1);
    expect(String((app.failures[0]!.error as Error).message)).toBe('a document named Hello is already there');
    expect(app.failures[0]!.context).toBe('Could not move “Hello” to “Archive”');
  });
});

describe('a long tree (drawn as a window: only the rows in view are elements)', () => {
  const N = 10_000;
  const title = (i: number) => `Doc ${String(i).padStart(5, '0')}`;
  const many = (n: number) => Array.from({ length: n }, (_, i) => docSummary(title(i), [], 'note', `d${i}`));
  let sidebar: Sidebar;

  function mountLong(): { el: HTMLElement; box: HTMLElement; list: HTMLElement } {
    sidebar = createSidebar(app);
    document.body.replaceChildren(sidebar.el);
    sidebar.render();
    app.refresh = async () => sidebar.render();
    const box = sidebar.el.querySelector<HTMLElement>('.tree-box')!;
    return { el: sidebar.el, box, list: box.querySelector<HTMLElement>('[data-testid="tree"]')! };
  }
  function scrollTo(box: HTMLElement, top: number): void {
    box.scrollTop = top;
    box.dispatchEvent(new Event('scroll'));
  }
  const px = (v: string) => Number(v.replace('px', '') || 0);

  beforeEach(() => {
    app = fakeApp(many(N));
  });

  it('draws only the rows in view, in a list as tall as every row', () => {
    const { el, list } = mountLong();
    const drawn = rowsOf(el).length;
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(100);
    expect(rowsOf(el)[0]).toBe(`note:${title(0)}`);
    // The padding stands for the rows not drawn: the scrollbar is the whole list's.
    expect(px(list.style.paddingTop) + drawn * TREE_ROW_PX + px(list.style.paddingBottom)).toBe(N * TREE_ROW_PX);
  });

  it('draws the rows scrolled to, and drops those scrolled away', () => {
    const { el, box, list } = mountLong();
    scrollTo(box, 5000 * TREE_ROW_PX);
    expect(rowAt(el, title(5000))).not.toBeNull();
    expect(rowAt(el, title(0))).toBeNull();
    expect(rowsOf(el).length).toBeLessThan(100);
    expect(px(list.style.paddingTop)).toBeGreaterThan(4900 * TREE_ROW_PX);
  });

  it('moves with the keys to a row that was not drawn: End draws, selects and focuses the last', () => {
    const { el, box } = mountLong();
    rowAt(el, title(0)).click();
    key(rowAt(el, title(0)), 'End');
    const last = rowAt(el, title(N - 1));
    expect(last).not.toBeNull();
    expect(document.activeElement).toBe(last);
    expect(last.getAttribute('aria-selected')).toBe('true');
    // Scrolled so that the row is in view.
    expect(box.scrollTop).toBeGreaterThan((N - 100) * TREE_ROW_PX);
    key(last, 'ArrowUp');
    expect(document.activeElement).toBe(rowAt(el, title(N - 2)));
  });

  it('keeps the keys working when the focused row scrolls away', () => {
    const { el, box } = mountLong();
    rowAt(el, title(3)).click();
    rowAt(el, title(3)).focus();
    scrollTo(box, 5000 * TREE_ROW_PX);
    expect(rowAt(el, title(3))).toBeNull();
    // The list holds the focus; the next arrow goes on from the selected row.
    key(document.activeElement!, 'ArrowDown');
    expect(document.activeElement).toBe(rowAt(el, title(4)));
    expect(box.scrollTop).toBeLessThan(10 * TREE_ROW_PX);
  });

  it('marks the open document when its row is drawn after it was opened', async () => {
    const { el, box } = mountLong();
    await app.open('d9000');
    sidebar.setOpen('d9000');
    scrollTo(box, 8990 * TREE_ROW_PX);
    expect(rowAt(el, title(9000)).classList.contains('open')).toBe(true);
    expect(el.querySelectorAll('.open').length).toBe(1);
  });

  it('keeps the scroll position and the rows in view through a redraw (a change from another device)', async () => {
    const { el, box } = mountLong();
    scrollTo(box, 5000 * TREE_ROW_PX);
    app.setDocs(many(N + 1));
    await app.refresh();
    expect(box.scrollTop).toBe(5000 * TREE_ROW_PX);
    expect(rowAt(el, title(5000))).not.toBeNull();
    expect(rowAt(el, title(0))).toBeNull();
  });

  it('shows the name field of a new note focused, however far down its folder is', () => {
    app.setDocs([...many(N), docSummary('Deep', ['zz'], 'note', 'deep')]);
    const { el } = mountLong();
    // Folders come first: the last row is the document after all the top-level ones.
    rowAt(el, title(0)).click();
    key(rowAt(el, title(0)), 'End');
    el.querySelector<HTMLButtonElement>('[data-testid="new-folder"]')!.click();
    const input = el.querySelector<HTMLInputElement>('[data-testid="new-name"]');
    expect(input).not.toBeNull();
    expect(document.activeElement).toBe(input);
  });

  it('keeps a dragged row on the page while it is scrolled away, so the drag can end', () => {
    const { el, box } = mountLong();
    const src = rowAt(el, title(2));
    src.dispatchEvent(new Event('dragstart', { bubbles: true }));
    scrollTo(box, 5000 * TREE_ROW_PX);
    expect(src.isConnected).toBe(true);
    expect(src.hidden).toBe(true);
    src.dispatchEvent(new Event('dragend', { bubbles: true }));
    // The drag is over: a redraw is no longer put off.
    app.setDocs(many(N + 1));
    void app.refresh();
    expect(px(box.querySelector<HTMLElement>('[data-testid="tree"]')!.style.paddingBottom)).toBeGreaterThan(0);
    expect(src.isConnected).toBe(false);
  });
});
