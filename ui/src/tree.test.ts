import { describe, expect, it } from 'vitest';
import type { DocSummary } from './api';
import { buildTree, flatten, folderForNew, folderKey, navigate, renameFolderKeys, trashed, treeOf, type Row } from './tree';

let n = 0;
function doc(
  title: string,
  folder: string[] = [],
  kind: DocSummary['kind'] = 'note',
  extra: Partial<DocSummary> = {},
): DocSummary {
  n += 1;
  const id = n.toString(16).padStart(32, '0');
  const path = [...folder, title].join('/');
  const t = '2026-11-01T10:00:00.000Z';
  return {
    id, kind, title, folder, path, deleted: false, updated: t, updated_ms: Date.parse(t), ...extra,
  };
}

function labels(rows: readonly Row[]): string[] {
  return rows.map((r) =>
    r.type === 'folder'
      ? `${'  '.repeat(r.depth)}[${r.node.name}] ${r.count}${r.expanded ? '' : ' +'}`
      : `${'  '.repeat(r.depth)}${r.doc.title}`,
  );
}

describe('document tree', () => {
  const docs = [
    doc('Reading list', [], 'record'),
    doc('Hello world', ['Inbox']),
    doc('idea 10', ['Inbox']),
    doc('idea 9', ['Inbox']),
    doc('Plan', ['Work', 'Q4']),
    doc('apple', []),
    doc('Standup', ['Work']),
  ];

  it('shows folders before documents, each sorted as a person sorts them', () => {
    expect(labels(flatten(buildTree(docs), new Set()))).toEqual([
      '[Inbox] 3',
      '  Hello world',
      '  idea 9',
      '  idea 10',
      '[Work] 2',
      '  [Q4] 1',
      '    Plan',
      '  Standup',
      'apple',
      'Reading list',
    ]);
  });

  it('hides the contents of a collapsed folder but still counts them', () => {
    const rows = flatten(buildTree(docs), new Set([folderKey(['Work'])]));
    expect(labels(rows)).toEqual([
      '[Inbox] 3',
      '  Hello world',
      '  idea 9',
      '  idea 10',
      '[Work] 2 +',
      'apple',
      'Reading list',
    ]);
  });

  it('keeps folders apart whose names would collide if joined with a slash', () => {
    const tree = buildTree([doc('x', ['a/b', 'c']), doc('y', ['a', 'b/c'])]);
    expect(labels(flatten(tree, new Set([folderKey(['a', 'b/c'])])))).toEqual([
      '[a] 1',
      '  [b/c] 1 +',
      '[a/b] 1',
      '  [c] 1',
      '    x',
    ]);
  });

  it('lists nothing for an empty workspace', () => {
    expect(flatten(buildTree([]), new Set())).toEqual([]);
  });
});

describe('empty folders and the trash', () => {
  it('shows folders that hold no document, nested ones too', () => {
    const tree = buildTree([doc('Plan', ['Work'])], [['Archive'], ['Work', 'Later', 'Someday'], ['Work']]);
    expect(labels(flatten(tree, new Set()))).toEqual([
      '[Archive] 0',
      '[Work] 1',
      '  [Later] 0',
      '    [Someday] 0',
      '  Plan',
    ]);
  });

  it('leaves deleted documents out of the tree and counts, and lists them in the trash', () => {
    const gone = doc('Old plan', ['Work'], 'note', { deleted: true, updated_ms: Date.parse('2026-11-02T08:00:00.000Z') });
    const older = doc('Older', [], 'record', { deleted: true, updated_ms: Date.parse('2026-10-01T08:00:00.000Z') });
    const all = [doc('Plan', ['Work']), gone, older];
    expect(labels(flatten(buildTree(all), new Set()))).toEqual(['[Work] 1', '  Plan']);
    expect(trashed(all).map((d) => d.title)).toEqual(['Old plan', 'Older']);
  });

  it('keeps a folder whose only document is in the trash when the folder list names it', () => {
    const gone = doc('Only', ['Inbox'], 'note', { deleted: true });
    expect(labels(flatten(buildTree([gone]), new Set()))).toEqual([]);
    expect(labels(flatten(buildTree([gone], [['Inbox']]), new Set()))).toEqual(['[Inbox] 0']);
  });
});

describe('keyboard navigation and the folder for new documents', () => {
  const tree = buildTree([doc('a', ['F']), doc('b', ['F', 'G']), doc('top')]);
  const rows = flatten(tree, new Set());
  // [F] 0, [G] 1, b 2, a 3, top 4
  const at = (i: number): string => labels([rows[i]!])[0]!.trim();

  it('moves up and down, stopping at the ends', () => {
    expect(navigate(rows, -1, 'ArrowDown')).toEqual({ type: 'select', index: 0 });
    expect(navigate(rows, 0, 'ArrowDown')).toEqual({ type: 'select', index: 1 });
    expect(navigate(rows, 4, 'ArrowDown')).toEqual({ type: 'select', index: 4 });
    expect(navigate(rows, 0, 'ArrowUp')).toEqual({ type: 'select', index: 0 });
    expect(navigate(rows, 2, 'End')).toEqual({ type: 'select', index: 4 });
    expect(navigate(rows, 2, 'Home')).toEqual({ type: 'select', index: 0 });
  });

  it('steps into an open folder with right and out to the parent with left', () => {
    expect(at(1)).toBe('[G] 1');
    expect(navigate(rows, 1, 'ArrowRight')).toEqual({ type: 'select', index: 2 });
    expect(navigate(rows, 2, 'ArrowLeft')).toEqual({ type: 'select', index: 1 });
    expect(navigate(rows, 3, 'ArrowLeft')).toEqual({ type: 'select', index: 0 });
    expect(navigate(rows, 4, 'ArrowLeft')).toBeNull();
    expect(navigate(rows, 4, 'ArrowRight')).toBeNull();
  });

  it('closes an open folder with left and opens a closed one with right', () => {
    expect(navigate(rows, 0, 'ArrowLeft')).toEqual({ type: 'collapse', key: folderKey(['F']) });
    const closed = flatten(tree, new Set([folderKey(['F'])]));
    expect(navigate(closed, 0, 'ArrowRight')).toEqual({ type: 'expand', key: folderKey(['F']) });
    const empty = flatten(buildTree([], [['E']]), new Set());
    expect(navigate(empty, 0, 'ArrowRight')).toBeNull();
  });

  it('creates inside the selected folder, beside the selected document, else at the top', () => {
    expect(folderForNew(rows[1])).toEqual(['F', 'G']);
    expect(folderForNew(rows[3])).toEqual(['F']);
    expect(folderForNew(rows[4])).toEqual([]);
    expect(folderForNew(undefined)).toEqual([]);
  });
});

describe('renameFolderKeys', () => {
  it('renames the folder and what is inside it, not a folder whose name only starts the same', () => {
    const keys = new Set([['Work'], ['Work', 'Q4'], ['Workshop'], ['Home', 'Work']].map(folderKey));
    renameFolderKeys(keys, ['Work'], ['Job']);
    expect([...keys].map((k) => k.split('\u0000').join('/')).sort()).toEqual(['Home/Work', 'Job', 'Job/Q4', 'Workshop']);
  });
});

describe('treeOf', () => {
  it('builds a list’s tree once, and again for a new list', () => {
    const docs = [doc('b', []), doc('a', [])];
    const folders: string[][] = [];
    const first = treeOf(docs, folders);
    expect(first.docs.map((d) => d.title)).toEqual(['a', 'b']);
    expect(treeOf(docs, folders)).toBe(first);
    const next = treeOf([...docs, doc('c', [])], folders);
    expect(next).not.toBe(first);
    expect(next.docs.map((d) => d.title)).toEqual(['a', 'b', 'c']);
  });
});

describe('flatten of a tree with nothing folded', () => {
  it('is made once per tree, and folding still hides a folder’s rows', () => {
    const root = buildTree([doc('a', ['F']), doc('b', [])]);
    const all = flatten(root, new Set());
    expect(flatten(root, new Set())).toBe(all);
    expect(labels(flatten(root, new Set([folderKey(['F'])])))).toEqual(['[F] 1 +', 'b']);
    expect(labels(flatten(root, new Set()))).toEqual(['[F] 1', '  a', 'b']);
  });
});
