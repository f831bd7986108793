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

export type NewKind = DocKind | 'folder';

export const KIND_NAMES: Record<NewKind, string> = { note: 'note', record: 'record', folder: 'folder' };

/** A new note, record or folder being named, and the folder it goes into. */
export interface Creating {
  kind: NewKind;
  folder: string[];
}

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
  /** Keys of the folded folders. */
  readonly collapsed: Set<string>;
  /** The rows shown, in order. */
  rows: Row[];
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

/** The rows' elements, in the order of `rows`: the input row of a new item and the
 *  empty note are not tree rows. */
export function rowElements(c: SidebarCtx): HTMLElement[] {
  return [...c.list.querySelectorAll<HTMLElement>('[data-testid="tree-row"]')];
}

export function selectedRow(c: SidebarCtx): Row | undefined {
  return c.rows.find((r) => rowKey(r) === c.selected);
}

export function focusSelected(c: SidebarCtx): void {
  c.list.querySelector<HTMLElement>('[aria-selected="true"]')?.focus();
}

/** Unfolds the folder at `path` and the folders it is in. */
export function unfold(c: SidebarCtx, path: readonly string[]): void {
  for (let i = 1; i <= path.length; i++) c.collapsed.delete(folderKey(path.slice(0, i)));
}
