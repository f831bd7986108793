// Folder tree of a workspace's documents, and its flattening into the rows the list
// shows. Pure, so the ordering rules are unit-tested (tree.test.ts).
import type { DocSummary } from './api';

export interface FolderNode {
  name: string;
  /** Folder path from the root; [] for the root. */
  path: string[];
  /** Stable key for the folder's collapsed state. */
  key: string;
  folders: FolderNode[];
  docs: DocSummary[];
}

export type Row =
  | { type: 'folder'; node: FolderNode; depth: number; expanded: boolean; count: number }
  | { type: 'doc'; doc: DocSummary; depth: number };

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

// "\u0000" cannot appear in a folder name typed by a person, so keys never collide
// the way "a/b" + "c" and "a" + "b/c" would with a "/" join.
export function folderKey(path: readonly string[]): string {
  return path.join('\u0000');
}

/**
 * Rewrites the folder keys in `keys` that are `from` or inside it as if the folder
 * were `to` (a renamed folder keeps which of its folders were folded).
 */
export function renameFolderKeys(keys: Set<string>, from: readonly string[], to: readonly string[]): void {
  const old = folderKey(from);
  const inside = `${old}\u0000`;
  const renamed = folderKey(to);
  for (const k of [...keys]) {
    if (k === old || k.startsWith(inside)) {
      keys.delete(k);
      keys.add(renamed + k.slice(old.length));
    }
  }
}

function newFolder(path: string[]): FolderNode {
  return { name: path[path.length - 1] ?? '', path, key: folderKey(path), folders: [], docs: [] };
}

/**
 * Groups documents into their folders; folders and documents sorted by name.
 * `folders` (from `listTree`) adds folders that hold no document. Deleted documents
 * are left out: they are listed by `trashed`.
 */
export function buildTree(docs: readonly DocSummary[], folders: readonly (readonly string[])[] = []): FolderNode {
  const root = newFolder([]);
  const byKey = new Map<string, FolderNode>([[root.key, root]]);
  // The documents of a folder share its path array (api.ts fromTable): found by the
  // array, a folder's node is looked up once, not once per document.
  const byArray = new Map<readonly string[], FolderNode>();
  const folderAt = (folder: readonly string[]): FolderNode => {
    const known = byArray.get(folder);
    if (known) return known;
    let node = root;
    for (let i = 0; i < folder.length; i++) {
      const path = folder.slice(0, i + 1);
      const key = folderKey(path);
      let child = byKey.get(key);
      if (!child) {
        child = newFolder(path);
        byKey.set(key, child);
        node.folders.push(child);
      }
      node = child;
    }
    byArray.set(folder, node);
    return node;
  };
  for (const path of folders) folderAt(path);
  for (const doc of docs) {
    if (doc.deleted) continue;
    folderAt(doc.folder).docs.push(doc);
  }
  const sort = (node: FolderNode): void => {
    node.folders.sort((a, b) => collator.compare(a.name, b.name));
    node.docs.sort((a, b) => collator.compare(a.title, b.title) || a.id.localeCompare(b.id));
    node.folders.forEach(sort);
  };
  sort(root);
  return root;
}

let built: { docs: readonly DocSummary[]; folders: readonly (readonly string[])[]; root: FolderNode } | null = null;

/**
 * `buildTree`, once per list: the sidebar and the overview show the same documents, and
 * at 100,000 of them sorting is a good part of the window's start. The lists are the
 * window's, replaced (never changed in place) when the documents are fetched again.
 */
export function treeOf(docs: readonly DocSummary[], folders: readonly (readonly string[])[]): FolderNode {
  if (built?.docs !== docs || built.folders !== folders) built = { docs, folders, root: buildTree(docs, folders) };
  return built.root;
}

const counts = new WeakMap<FolderNode, number>();

/** Documents in a folder and all its subfolders (counted once per tree). */
export function countDocs(node: FolderNode): number {
  let n = counts.get(node);
  if (n === undefined) {
    n = node.docs.length + node.folders.reduce((sum, f) => sum + countDocs(f), 0);
    counts.set(node, n);
  }
  return n;
}

let unfolded: { root: FolderNode; rows: readonly Row[] } | null = null;

/**
 * The visible rows: folders first at each level, a collapsed folder's contents hidden.
 * With nothing folded the rows of a tree are made once (the sidebar and the overview
 * both start so, and at 100,000 documents each list is 100,000 rows); callers never
 * change the array.
 */
export function flatten(root: FolderNode, collapsed: ReadonlySet<string>): readonly Row[] {
  if (collapsed.size === 0 && unfolded?.root === root) return unfolded.rows;
  const rows: Row[] = [];
  const walk = (node: FolderNode, depth: number): void => {
    for (const folder of node.folders) {
      const expanded = !collapsed.has(folder.key);
      rows.push({ type: 'folder', node: folder, depth, expanded, count: countDocs(folder) });
      if (expanded) walk(folder, depth + 1);
    }
    for (const doc of node.docs) rows.push({ type: 'doc', doc, depth });
  };
  walk(root, 0);
  if (collapsed.size === 0) unfolded = { root, rows };
  return rows;
}

/** The documents in the trash, most recently changed first. */
export function trashed(docs: readonly DocSummary[]): DocSummary[] {
  return docs
    .filter((d) => d.deleted)
    .sort((a, b) => b.updated_ms - a.updated_ms || collator.compare(a.title, b.title));
}

/** The row's identity across re-renders (selection, focus). */
export function rowKey(row: Row): string {
  return row.type === 'folder' ? `folder:${row.node.key}` : `doc:${row.doc.id}`;
}

/** The folder a new document goes into when `row` is selected: the folder itself, or
 *  the folder of the selected document; the top level when nothing is selected. */
export function folderForNew(row: Row | undefined): string[] {
  if (!row) return [];
  return row.type === 'folder' ? row.node.path : row.doc.folder;
}

/** What a key press in the tree does. */
export type NavAction =
  | { type: 'select'; index: number }
  | { type: 'expand'; key: string }
  | { type: 'collapse'; key: string };

/**
 * Arrow-key navigation as in a file manager (the WAI-ARIA tree pattern): up and down
 * move, right opens a folder or steps into it, left closes it or steps out to its
 * parent, Home and End jump. `index` is the selected row, -1 for none.
 */
export function navigate(rows: readonly Row[], index: number, key: string): NavAction | null {
  if (rows.length === 0) return null;
  const last = rows.length - 1;
  const row = rows[index];
  switch (key) {
    case 'ArrowDown':
      return { type: 'select', index: row ? Math.min(index + 1, last) : 0 };
    case 'ArrowUp':
      return { type: 'select', index: row ? Math.max(index - 1, 0) : last };
    case 'Home':
      return { type: 'select', index: 0 };
    case 'End':
      return { type: 'select', index: last };
    case 'ArrowRight': {
      if (row?.type !== 'folder') return null;
      if (!row.expanded) return { type: 'expand', key: row.node.key };
      // Open already: step onto its first child, if it has one.
      const next = rows[index + 1];
      return next && next.depth > row.depth ? { type: 'select', index: index + 1 } : null;
    }
    case 'ArrowLeft': {
      if (!row) return null;
      if (row.type === 'folder' && row.expanded) return { type: 'collapse', key: row.node.key };
      for (let i = index - 1; i >= 0; i--) {
        const r = rows[i]!;
        if (r.type === 'folder' && r.depth < row.depth) return { type: 'select', index: i };
      }
      return null;
    }
    default:
      return null;
  }
}
