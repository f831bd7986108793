// What may be dropped where in the sidebar tree (drag and drop, and cut and paste,
// which share these rules). Pure: dnd.test.ts.
import type { Row } from './tree';

/** What is being moved. */
export type MoveItem =
  | { type: 'doc'; id: string; title: string; folder: string[] }
  | { type: 'folder'; path: string[] };

export type Verdict =
  | { ok: true }
  | { ok: false; reason: 'same-place' | 'into-itself' };

/** `prefix` is `path` or one of its ancestors. */
export function isWithin(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && isWithin(a, b);
}

/**
 * Whether `item` may move into the folder `target` ([] is the top level). A folder
 * cannot go into itself or a folder inside it (the tree would lose it); a move to
 * where the item already is would be a change that does nothing, so it is refused too.
 */
export function canMove(item: MoveItem, target: readonly string[]): Verdict {
  if (item.type === 'doc') {
    return same(item.folder, target) ? { ok: false, reason: 'same-place' } : { ok: true };
  }
  if (isWithin(target, item.path)) return { ok: false, reason: 'into-itself' };
  if (same(item.path.slice(0, -1), target)) return { ok: false, reason: 'same-place' };
  return { ok: true };
}

/**
 * The folder a drop on `row` puts things into: a folder row is the folder itself, a
 * document row stands for the folder it is in (dropping next to a document puts the
 * dragged item beside it), and no row (the empty space, the root area) is the top level.
 */
export function dropTarget(row: Row | undefined): string[] {
  if (!row) return [];
  return row.type === 'folder' ? row.node.path : row.doc.folder;
}

export function itemOf(row: Row): MoveItem {
  return row.type === 'folder'
    ? { type: 'folder', path: row.node.path }
    : { type: 'doc', id: row.doc.id, title: row.doc.title, folder: row.doc.folder };
}

export function describeTarget(target: readonly string[]): string {
  return target.length === 0 ? 'the top level' : `“${target.join(' / ')}”`;
}
