// The sidebar's state, and what its parts ask of each other. sidebar.ts makes one
// `SidebarCtx` and wires the parts into its `act`:
//   sidebar-rows.ts    drawing the tree and its rows
//   sidebar-keys.ts    selection, folding and the keyboard
//   sidebar-naming.ts  naming a new note, record or folder, and renaming
//   sidebar-actions.ts the context menu, cut and paste, moves and the trash
//   sidebar-dnd.ts     drag and drop
import type { DocKind } from '../api';
import type { MoveItem } from '../dnd';
import { folderKey, rowKey, type Row } from '../tree';
import type { App } from './app';
import type { VirtualList } from './virtual-list';

export type NewKind = DocKind | 'folder';

export const KIND_NAMES: Record<NewKind, string> = { note: 'note', record: 'record', folder: 'folder' };

/** A new note, record or folder being named, and the folder it goes into. */
export interface Creating {
  kind: NewKind;
  folder: string[];
}

/** What the tree's list shows: a row of the tree, or the name field of a new item. The
 *  rows themselves, not wrappers: with 100,000 documents the list is `rows` as it is. */
export type Item = Row | { type: 'create'; create: Creating; depth: number };

export interface Point {
  x: number;
  y: number;
}

/** The sidebar's operations, for its parts to call one another through. */
export interface SidebarActions {
  /** Redraws now. */
  draw(): void;
  /** Redraws, or later while a name is typed or something is dragged (not to cut them off). */
  render(): void;
  select(key: string | null, focus?: boolean): void;
  /** A click on a row, or Enter: opens a document, folds or unfolds a folder. */
  activate(row: Row): void;
  toggle(key: string): void;
  startCreate(kind: NewKind, folder?: string[]): void;
  startRename(row: Row): void;
  /** The name field of the new item in `c`, and of the row being renamed. */
  newNameInput(c: Creating): HTMLInputElement;
  renameInput(row: Row): HTMLInputElement;
  showMenu(row: Row, at: Point): void;
  cutRow(row: Row): void;
  paste(target: string[]): Promise<void>;
  move(item: MoveItem, target: string[]): Promise<void>;
  trash(row: Row): Promise<void>;
  startDrag(row: Row, li: HTMLElement, ev: DragEvent): void;
  endDrag(redraw?: boolean): void;
}

export interface SidebarCtx {
  readonly app: App;
  readonly act: SidebarActions;
  /** The whole sidebar, the tree's list, the box around it (the drop area). */
  readonly el: HTMLElement;
  readonly list: HTMLUListElement;
  readonly box: HTMLElement;
  readonly trashButton: HTMLButtonElement;
  /** The list's drawn window (virtual-list.ts): only the rows in reach are elements. */
  readonly view: VirtualList<Item>;
  /** Keys of the folded folders. */
  readonly collapsed: Set<string>;
  /** The rows shown, in order. */
  rows: readonly Row[];
  /** Row key → index in `rows`, made on first use after a redraw. */
  keys: Map<string, number> | null;
  /** The index in the list of the new item's name field; -1 when there is none. */
  createAt: number;
  /** The selected row's key. */
  selected: string | null;
  /** The key of the row being renamed. */
  renaming: string | null;
  creating: Creating | null;
  dragging: MoveItem | null;
  cut: MoveItem | null;
  /** A redraw was put off (render) while a name was typed or something dragged. */
  deferred: boolean;
  /** The folder marked as where a drop would go. */
  dropKey: string | null;
}

export function pathText(path: readonly string[]): string {
  return path.join('/');
}

export function sameItem(a: MoveItem, b: MoveItem): boolean {
  if (a.type === 'doc' && b.type === 'doc') return a.id === b.id;
  if (a.type === 'folder' && b.type === 'folder') return folderKey(a.path) === folderKey(b.path);
  return false;
}

/** The index in `rows` of the row with `key`; -1 if it is not shown. */
export function indexOfKey(c: SidebarCtx, key: string | null): number {
  if (key === null) return -1;
  if (!c.keys) {
    c.keys = new Map();
    c.rows.forEach((r, i) => c.keys!.set(rowKey(r), i));
  }
  return c.keys.get(key) ?? -1;
}

/** The index in the list of `rows[index]` (the new item's field may come before it). */
export function itemIndex(c: SidebarCtx, index: number): number {
  return c.createAt >= 0 && index >= c.createAt ? index + 1 : index;
}

/** The tree row that `el` is or is in, if it is drawn. */
export function rowOf(c: SidebarCtx, el: Element | null): Row | undefined {
  const item = c.view.items[c.view.indexOf(el)];
  return item?.type === 'create' ? undefined : item;
}

/** The drawn tree rows' elements with their rows. */
export function* drawnRows(c: SidebarCtx): Generator<[Row, HTMLElement]> {
  for (const [i, el] of c.view.drawn()) {
    const item = c.view.items[i];
    if (item && item.type !== 'create') yield [item, el];
  }
}

/** Scrolls the row with `key` into view, drawing it if it was not, and returns it. */
export function revealKey(c: SidebarCtx, key: string | null): HTMLElement | undefined {
  const index = indexOfKey(c, key);
  return index < 0 ? undefined : c.view.reveal(itemIndex(c, index));
}

export function selectedRow(c: SidebarCtx): Row | undefined {
  return c.rows[indexOfKey(c, c.selected)];
}

export function focusSelected(c: SidebarCtx): void {
  revealKey(c, c.selected)?.focus({ preventScroll: true });
}

/** Unfolds the folder at `path` and the folders it is in. */
export function unfold(c: SidebarCtx, path: readonly string[]): void {
  for (let i = 1; i <= path.length; i++) c.collapsed.delete(folderKey(path.slice(0, i)));
}
