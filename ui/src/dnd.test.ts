import { describe, expect, it } from 'vitest';
import type { DocSummary } from './api';
import { canMove, describeTarget, dropTarget, isWithin, type MoveItem } from './dnd';
import { buildTree, flatten } from './tree';

const folder = (...path: string[]): MoveItem => ({ type: 'folder', path });
const docIn = (...f: string[]): MoveItem => ({ type: 'doc', id: '1', title: 'x', folder: f });

describe('moving in the tree', () => {
  it('refuses to move a folder into itself or anything inside it', () => {
    expect(canMove(folder('Work'), ['Work'])).toEqual({ ok: false, reason: 'into-itself' });
    expect(canMove(folder('Work'), ['Work', 'Q4'])).toEqual({ ok: false, reason: 'into-itself' });
    expect(canMove(folder('Work', 'Q4'), ['Work', 'Q4', 'a', 'b'])).toEqual({ ok: false, reason: 'into-itself' });
  });

  it('lets a folder move beside, up, and into a sibling whose name merely starts the same', () => {
    expect(canMove(folder('Work', 'Q4'), [])).toEqual({ ok: true });
    expect(canMove(folder('Work'), ['Home'])).toEqual({ ok: true });
    expect(canMove(folder('Work'), ['Workshop'])).toEqual({ ok: true });
  });

  it('refuses a move to where the item already is', () => {
    expect(canMove(folder('Work', 'Q4'), ['Work'])).toEqual({ ok: false, reason: 'same-place' });
    expect(canMove(folder('Top'), [])).toEqual({ ok: false, reason: 'same-place' });
    expect(canMove(docIn('Inbox'), ['Inbox'])).toEqual({ ok: false, reason: 'same-place' });
    expect(canMove(docIn(), [])).toEqual({ ok: false, reason: 'same-place' });
    expect(canMove(docIn('Inbox'), [])).toEqual({ ok: true });
    expect(canMove(docIn(), ['Inbox', 'Sub'])).toEqual({ ok: true });
  });

  it('compares whole folder names, not string prefixes', () => {
    expect(isWithin(['ab', 'c'], ['a'])).toBe(false);
    expect(isWithin(['a', 'c'], ['a'])).toBe(true);
    expect(isWithin(['a'], ['a', 'c'])).toBe(false);
  });

  it('drops onto a folder row into that folder, onto a document into its folder, elsewhere at the top', () => {
    const t = '2026-11-01T10:00:00.000Z';
    const d: DocSummary = {
      id: 'd', kind: 'note', title: 'Plan', folder: ['Work'], path: 'Work/Plan',
      deleted: false, updated: t, updated_ms: Date.parse(t),
    };
    const rows = flatten(buildTree([d]), new Set());
    expect(dropTarget(rows[0])).toEqual(['Work']);
    expect(dropTarget(rows[1])).toEqual(['Work']);
    expect(dropTarget(undefined)).toEqual([]);
    expect(describeTarget([])).toBe('the top level');
    expect(describeTarget(['Work', 'Q4'])).toBe('“Work / Q4”');
  });
});
