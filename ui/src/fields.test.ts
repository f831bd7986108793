import { describe, expect, it } from 'vitest';
import {
  addFieldPatch,
  displayValue,
  escapePointer,
  fieldsOf,
  inferType,
  inputText,
  isDate,
  otherConflicts,
  parseInput,
  parseOptions,
  parsePointer,
  pointerOf,
  removeFieldPatch,
  saveOps,
  unescapePointer,
} from './fields';

describe('JSON pointer tokens (RFC 6901)', () => {
  it('escapes ~ and / so a field name is one token', () => {
    expect(escapePointer('a/b')).toBe('a~1b');
    expect(escapePointer('~home')).toBe('~0home');
    // "~" goes first: "/" → "~1" must not then become "~01".
    expect(escapePointer('~/')).toBe('~0~1');
    expect(pointerOf('due date', 'a/b')).toBe('/due date/a~1b');
  });

  it('unescapes in the opposite order, so "~01" is "~1" and not "/"', () => {
    expect(unescapePointer('~01')).toBe('~1');
    expect(unescapePointer('a~1b~0')).toBe('a/b~');
    for (const name of ['plain', 'a/b', '~', '~1', '~0/~1', '', 'ünï/cødé~']) {
      expect(unescapePointer(escapePointer(name))).toBe(name);
    }
  });

  it('splits pointers into tokens', () => {
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/$fields/a~1b')).toEqual(['$fields', 'a/b']);
    expect(parsePointer('/')).toEqual(['']);
    expect(() => parsePointer('status')).toThrow();
  });
});

describe('field types', () => {
  it('infers the type of a field from its value when $fields says nothing', () => {
    expect(inferType('x')).toBe('text');
    expect(inferType(3)).toBe('number');
    expect(inferType(false)).toBe('checkbox');
    expect(inferType(['a'])).toBe('list');
    expect(inferType({ a: 1 })).toBe('json');
  });

  it('keeps a date-looking string as text unless $fields says date', () => {
    const [plain] = fieldsOf({ started: '2026-11-03' });
    expect(plain?.type).toBe('text');
    const [typed] = fieldsOf({ started: '2026-11-03', $fields: { started: { type: 'date' } } });
    expect(typed?.type).toBe('date');
  });

  it('lists the fields in key order, hides $fields, and shows declared fields without a value', () => {
    const fields = fieldsOf({
      title: 'Dune',
      $fields: { status: { type: 'select', options: ['todo', 'done'] }, due: { type: 'date' } },
      read: true,
      status: 'todo',
    });
    expect(fields.map((f) => [f.name, f.type])).toEqual([
      ['title', 'text'],
      ['read', 'checkbox'],
      ['status', 'select'],
      ['due', 'date'],
    ]);
    expect(fields[2]?.options).toEqual(['todo', 'done']);
    expect(fields[3]?.value).toBeUndefined();
  });

  it('falls back to the value type, and says so, when the value does not fit $fields', () => {
    const [f] = fieldsOf({ pages: 'many', $fields: { pages: { type: 'number' } } });
    expect(f?.type).toBe('text');
    expect(f?.mismatch).toBe('Number field holds "many"');
    const [s] = fieldsOf({ s: 'maybe', $fields: { s: { type: 'select', options: ['yes', 'no'] } } });
    expect(s?.type).toBe('text');
    expect(s?.mismatch).toMatch(/Select/);
  });

  it('ignores $fields entries it does not understand', () => {
    const [f] = fieldsOf({ a: 1, $fields: { a: { type: 'colour' } } });
    expect(f).toMatchObject({ type: 'number' });
    expect(f?.mismatch).toBeUndefined();
    expect(fieldsOf({ a: 1, $fields: 'nonsense' }).map((x) => x.type)).toEqual(['number']);
  });

  it('treats a field named like an Object method as a field', () => {
    expect(fieldsOf({ toString: 'x' }).map((f) => f.name)).toEqual(['toString']);
    expect(addFieldPatch({}, { name: 'constructor', type: 'text' }).ok).toBe(true);
  });

  it('checks real calendar days', () => {
    expect(isDate('2028-02-29')).toBe(true);
    expect(isDate('2026-02-29')).toBe(false);
    expect(isDate('2026-13-01')).toBe(false);
    expect(isDate('26-01-01')).toBe(false);
  });
});

describe('parsing input', () => {
  const num = { name: 'price', type: 'number' as const, options: [] };

  it('accepts numbers as people type them', () => {
    expect(parseInput(num, '42')).toEqual({ ok: true, value: 42 });
    expect(parseInput(num, ' -3.5 ')).toEqual({ ok: true, value: -3.5 });
    expect(parseInput(num, '1e3')).toEqual({ ok: true, value: 1000 });
    expect(parseInput(num, '')).toEqual({ ok: true, value: null });
  });

  it('refuses a non-number with a message naming the field', () => {
    for (const bad of ['abc', '3,5', '0x10', 'Infinity', '1e999', '12abc']) {
      const r = parseInput(num, bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain('“price”');
    }
  });

  it('checks dates and select options', () => {
    const due = { name: 'due', type: 'date' as const, options: [] };
    expect(parseInput(due, '2026-11-03')).toEqual({ ok: true, value: '2026-11-03' });
    expect(parseInput(due, '03/11/2026')).toMatchObject({ ok: false });
    const st = { name: 'status', type: 'select' as const, options: ['todo', 'done'] };
    expect(parseInput(st, 'done')).toEqual({ ok: true, value: 'done' });
    const r = parseInput(st, 'later');
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.error).toBe('“status” must be one of todo, done.');
  });

  it('keeps a list item per line, commas inside items included', () => {
    const tags = { name: 'tags', type: 'list' as const, options: [] };
    expect(parseInput(tags, 'a, b\n\n  c \n')).toEqual({ ok: true, value: ['a, b', 'c'] });
    expect(inputText('list', ['a, b', 'c'])).toBe('a, b\nc');
  });

  it('shows values in inputs and pickers readably', () => {
    expect(inputText('number', 3.5)).toBe('3.5');
    expect(inputText('date', null)).toBe('');
    expect(displayValue(true)).toBe('checked');
    expect(displayValue(['x', 'y'])).toBe('x, y');
    expect(displayValue('')).toBe('(empty text)');
    expect(displayValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('adding and removing fields', () => {
  it('adds the value and its type in one patch, creating $fields when missing', () => {
    expect(addFieldPatch({ a: 1 }, { name: 'due', type: 'date' })).toEqual({
      ok: true,
      patch: [
        { op: 'add', path: '/due', value: null },
        { op: 'add', path: '/$fields', value: { due: { type: 'date' } } },
      ],
    });
    expect(addFieldPatch({ $fields: {} }, { name: 'a/b', type: 'list' })).toEqual({
      ok: true,
      patch: [
        { op: 'add', path: '/a~1b', value: [] },
        { op: 'add', path: '/$fields/a~1b', value: { type: 'list' } },
      ],
    });
  });

  it('asks a select for options and cleans them', () => {
    expect(addFieldPatch({}, { name: 's', type: 'select', options: ' , ' })).toEqual({
      ok: false,
      error: 'The select “s” needs at least one option.',
    });
    const r = addFieldPatch({}, { name: 's', type: 'select', options: 'todo, doing,todo, done' });
    expect(r.ok && r.patch[1]).toEqual({
      op: 'add',
      path: '/$fields',
      value: { s: { type: 'select', options: ['todo', 'doing', 'done'] } },
    });
    expect(parseOptions('a,,b , a')).toEqual(['a', 'b']);
  });

  it('refuses an empty, reserved or existing name', () => {
    expect(addFieldPatch({}, { name: '  ', type: 'text' })).toMatchObject({ ok: false });
    expect(addFieldPatch({}, { name: '$fields', type: 'text' })).toMatchObject({ ok: false });
    expect(addFieldPatch({ a: 1 }, { name: 'a', type: 'text' })).toMatchObject({
      ok: false,
      error: 'There is already a field “a”.',
    });
    expect(addFieldPatch({ $fields: { b: { type: 'date' } } }, { name: 'b', type: 'text' })).toMatchObject({
      ok: false,
    });
  });

  it('removes only what exists, so the patch does not fail', () => {
    const json = { a: 1, b: 2, $fields: { a: { type: 'number' }, c: { type: 'date' } } };
    expect(removeFieldPatch(json, 'a')).toEqual([
      { op: 'remove', path: '/a' },
      { op: 'remove', path: '/$fields/a' },
    ]);
    expect(removeFieldPatch(json, 'b')).toEqual([{ op: 'remove', path: '/b' }]);
    expect(removeFieldPatch(json, 'c')).toEqual([{ op: 'remove', path: '/$fields/c' }]);
  });
});

describe('conflicts', () => {
  it('attaches a conflict to its field, nested ones included, and keeps the rest apart', () => {
    const json = { status: 'doing', meta: { by: 'x' }, 'a/b': 1, $fields: {} };
    const conflicts = [
      { pointer: '/status', values: ['doing', 'done'] },
      { pointer: '/meta/by', values: ['x', 'y'] },
      { pointer: '/a~1b', values: [1, 2] },
      { pointer: '/$fields/status', values: [{ type: 'text' }, { type: 'select' }] },
      { pointer: '/statusx', values: [1, 2] },
    ];
    const fields = fieldsOf(json, conflicts);
    expect(fields.map((f) => [f.name, f.conflicts.map((c) => c.pointer)])).toEqual([
      ['status', ['/status']],
      ['meta', ['/meta/by']],
      ['a/b', ['/a~1b']],
    ]);
    expect(otherConflicts(json, conflicts).map((c) => c.pointer)).toEqual(['/$fields/status', '/statusx']);
  });
});

describe('saving a value', () => {
  it('sets the value when its own type matches the field', () => {
    const [f] = fieldsOf({ pages: 412 });
    expect(saveOps({ pages: 412 }, f!, 500)).toEqual({ set: 500 });
  });

  it('writes the type too when clearing an inferred number, so it stays a number', () => {
    const json = { pages: 412 };
    const [f] = fieldsOf(json);
    expect(saveOps(json, f!, null)).toEqual({
      patch: [
        { op: 'add', path: '/pages', value: null },
        { op: 'add', path: '/$fields', value: { pages: { type: 'number' } } },
      ],
    });
    // Once written, the cleared field is still a number field.
    expect(fieldsOf({ pages: null, $fields: { pages: { type: 'number' } } })[0]?.type).toBe('number');
    expect(fieldsOf({ pages: null })[0]?.type).toBe('text');
  });

  it('needs no type entry when $fields already has one', () => {
    const json = { due: '2026-01-01', $fields: { due: { type: 'date' } } };
    const [f] = fieldsOf(json);
    expect(saveOps(json, f!, null)).toEqual({ set: null });
  });
});
