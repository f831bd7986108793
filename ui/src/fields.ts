// Record fields: their types, how a typed value is checked before it is saved, and the
// JSON Pointers (RFC 6901) and Patches (RFC 6902) that address them. Pure, so every rule
// the record editor applies is unit-tested (fields.test.ts).
//
// The types live in the record itself, under the reserved top-level key "$fields"
// ({"$fields": {"due": {"type": "date"}}}), so they sync with the record and every
// device shows the same editor. A field without an entry gets its type from its value.
import type { Conflict } from './api';

export const FIELD_TYPES = ['text', 'number', 'checkbox', 'date', 'select', 'list'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** The reserved key that holds the field types; never shown as a field. */
export const TYPES_KEY = '$fields';

export const TYPE_LABELS: Record<FieldType, string> = {
  text: 'Text',
  number: 'Number',
  checkbox: 'Checkbox',
  date: 'Date',
  select: 'Select',
  list: 'List',
};

export interface FieldSpec {
  type: FieldType;
  /** For `select`: the values to choose from. */
  options?: string[];
}

/** One row of the record editor. */
export interface Field {
  name: string;
  /** `/name`, escaped. */
  pointer: string;
  /** The type the editor uses for the value. */
  type: FieldType | 'json';
  /** Options of a select. */
  options: string[];
  /** The stored value; undefined for a field declared in $fields with no value yet. */
  value: unknown;
  /** Set when `$fields` declares a type the stored value does not have (another
   *  device or the CLI wrote it): the editor then uses the value's own type. */
  mismatch?: string;
  /** Concurrent values of this field (or inside it), each with its pointer. */
  conflicts: Conflict[];
}

// --- JSON Pointer (RFC 6901) ----------------------------------------------------------

/** Escapes one reference token: "~" first, or "/" → "~1" would turn into "~01". */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The reverse, in the opposite order for the same reason ("~01" is "~1", not "/"). */
export function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `/a~1b/c` → ["a/b", "c"]; "" → [] (the whole document). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`not a JSON pointer: ${pointer}`);
  return pointer.slice(1).split('/').map(unescapePointer);
}

export function pointerOf(...tokens: string[]): string {
  return tokens.map((t) => `/${escapePointer(t)}`).join('');
}

// --- types -----------------------------------------------------------------------------

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day in YYYY-MM-DD (2026-02-30 is not one). */
export function isDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/**
 * The type a value has on its own. A "YYYY-MM-DD" string stays text: only `$fields`
 * makes a date, so a title that happens to look like one is not turned into a picker.
 */
export function inferType(value: unknown): FieldType | 'json' {
  if (typeof value === 'string' || value === null || value === undefined) return 'text';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'checkbox';
  if (Array.isArray(value)) return 'list';
  return 'json';
}

function isFieldType(t: unknown): t is FieldType {
  return typeof t === 'string' && (FIELD_TYPES as readonly string[]).includes(t);
}

/** The `$fields` entries that make sense; anything else is ignored, not an error. */
export function readSpecs(json: Record<string, unknown>): Map<string, FieldSpec> {
  const specs = new Map<string, FieldSpec>();
  const raw = json[TYPES_KEY];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return specs;
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { type, options } = entry as { type?: unknown; options?: unknown };
    if (!isFieldType(type)) continue;
    const spec: FieldSpec = { type };
    if (type === 'select') {
      spec.options = Array.isArray(options) ? options.filter((o): o is string => typeof o === 'string') : [];
    }
    specs.set(name, spec);
  }
  return specs;
}

/** Whether a stored value can be shown by the editor of `type` (null: not set yet). */
export function fits(type: FieldType, value: unknown, options: readonly string[] = []): boolean {
  if (value === null || value === undefined) return true;
  switch (type) {
    case 'text':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'checkbox':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && isDate(value);
    case 'select':
      return typeof value === 'string' && options.includes(value);
    case 'list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The rows of the editor, in the record's key order, `$fields` left out. */
export function fieldsOf(json: Record<string, unknown>, conflicts: readonly Conflict[] = []): Field[] {
  const specs = readSpecs(json);
  const names = Object.keys(json).filter((k) => k !== TYPES_KEY);
  // A field declared but not yet given a value still gets its row.
  for (const name of specs.keys()) if (!Object.hasOwn(json, name)) names.push(name);
  return names.map((name) => {
    const value = json[name];
    const pointer = pointerOf(name);
    const spec = specs.get(name);
    const own = conflicts.filter((c) => c.pointer === pointer || c.pointer.startsWith(`${pointer}/`));
    const field: Field = { name, pointer, type: inferType(value), options: [], value, conflicts: own };
    if (spec) {
      const options = spec.options ?? [];
      if (fits(spec.type, value, options)) {
        field.type = spec.type;
        field.options = options;
      } else {
        field.mismatch = `${TYPE_LABELS[spec.type]} field holds ${describe(value)}`;
      }
    }
    return field;
  });
}

/** Conflicts that belong to no visible field (inside `$fields`, or a removed field). */
export function otherConflicts(json: Record<string, unknown>, conflicts: readonly Conflict[]): Conflict[] {
  const shown = new Set(fieldsOf(json, conflicts).flatMap((f) => f.conflicts));
  return conflicts.filter((c) => !shown.has(c));
}

// --- parsing what the user typed ----------------------------------------------------------

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

// Plain decimal notation, as a person types it: "12", "-3.5", ".5", "1e3". Not "0x10",
// "Infinity" or "" (which Number() accepts).
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Turns the text of an input into the value to save, or an error message that names
 * the field. Empty number, date and select inputs clear the field (null).
 */
export function parseInput(field: Pick<Field, 'name' | 'type' | 'options'>, input: string): Parsed {
  const name = `“${field.name}”`;
  switch (field.type) {
    case 'text':
      return { ok: true, value: input };
    case 'number': {
      const s = input.trim();
      if (s === '') return { ok: true, value: null };
      const n = Number(s);
      if (!NUMBER_RE.test(s) || !Number.isFinite(n)) {
        return { ok: false, error: `${name} needs a number, like 42 or 3.5: “${input}” is not one.` };
      }
      return { ok: true, value: n };
    }
    case 'checkbox':
      if (input === 'true' || input === 'false') return { ok: true, value: input === 'true' };
      return { ok: false, error: `${name} is either checked or not.` };
    case 'date': {
      const s = input.trim();
      if (s === '') return { ok: true, value: null };
      if (!isDate(s)) return { ok: false, error: `${name} needs a date as YYYY-MM-DD: “${input}” is not one.` };
      return { ok: true, value: s };
    }
    case 'select':
      if (input === '') return { ok: true, value: null };
      if (!field.options.includes(input)) {
        return { ok: false, error: `${name} must be one of ${field.options.join(', ')}.` };
      }
      return { ok: true, value: input };
    case 'list':
      return { ok: true, value: splitList(input) };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(input) as unknown };
      } catch {
        return { ok: false, error: `${name} needs valid JSON.` };
      }
  }
}

/** One list item a line, blank lines dropped (items are free text, commas included). */
export function splitList(input: string): string[] {
  return input
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** How a value shows in the editor's input. */
export function inputText(type: Field['type'], value: unknown): string {
  if (value === null || value === undefined) return '';
  switch (type) {
    case 'text':
    case 'date':
    case 'select':
      return typeof value === 'string' ? value : describe(value);
    case 'number':
      return String(value);
    case 'checkbox':
      return value === true ? 'true' : 'false';
    case 'list':
      return Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : describe(v))).join('\n') : '';
    case 'json':
      return JSON.stringify(value, null, 2);
  }
}

/** A value in a conflict picker or a preview, as a person reads it. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return '(empty)';
  if (typeof value === 'string') return value === '' ? '(empty text)' : value;
  if (typeof value === 'boolean') return value ? 'checked' : 'not checked';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return value.length === 0 ? '(empty list)' : value.join(', ');
  }
  return describe(value);
}

// --- adding and removing fields ---------------------------------------------------------

export interface NewField {
  name: string;
  type: FieldType;
  /** For a select: comma-separated options, as typed. */
  options?: string;
}

export type PatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** The value a new field starts with. */
export function initialValue(type: FieldType): unknown {
  switch (type) {
    case 'text':
      return '';
    case 'checkbox':
      return false;
    case 'list':
      return [];
    case 'number':
    case 'date':
    case 'select':
      return null;
  }
}

/** Select options from "todo, doing, done": trimmed, blanks and repeats dropped. */
export function parseOptions(input: string): string[] {
  const out: string[] = [];
  for (const o of input.split(',').map((s) => s.trim())) if (o !== '' && !out.includes(o)) out.push(o);
  return out;
}

/**
 * The patch that adds a field with its type, or why it cannot be added. One patch, so
 * the value and its type arrive together or not at all.
 */
export function addFieldPatch(
  json: Record<string, unknown>,
  f: NewField,
): { ok: true; patch: PatchOp[] } | { ok: false; error: string } {
  const name = f.name.trim();
  if (name === '') return { ok: false, error: 'A field needs a name.' };
  if (name === TYPES_KEY) return { ok: false, error: `“${TYPES_KEY}” is reserved for the field types.` };
  if (Object.hasOwn(json, name) || readSpecs(json).has(name)) return { ok: false, error: `There is already a field “${name}”.` };
  const spec: FieldSpec = { type: f.type };
  if (f.type === 'select') {
    const options = parseOptions(f.options ?? '');
    if (options.length === 0) return { ok: false, error: `The select “${name}” needs at least one option.` };
    spec.options = options;
  }
  const patch: PatchOp[] = [{ op: 'add', path: pointerOf(name), value: initialValue(f.type) }];
  const types = json[TYPES_KEY];
  if (typeof types === 'object' && types !== null && !Array.isArray(types)) {
    patch.push({ op: 'add', path: pointerOf(TYPES_KEY, name), value: spec });
  } else {
    // No (usable) $fields yet: create it with this one entry. A non-object there would
    // make the nested add fail; replacing it is what the user asked for anyway.
    patch.push({ op: 'add', path: pointerOf(TYPES_KEY), value: { [name]: spec } });
  }
  return { ok: true, patch };
}

/** Removes the value and the type of a field; a remove of a missing path would fail
 *  the whole patch, so only what exists is removed. */
export function removeFieldPatch(json: Record<string, unknown>, name: string): PatchOp[] {
  const patch: PatchOp[] = [];
  if (Object.hasOwn(json, name)) patch.push({ op: 'remove', path: pointerOf(name) });
  const types = json[TYPES_KEY];
  if (typeof types === 'object' && types !== null && Object.hasOwn(types, name)) {
    patch.push({ op: 'remove', path: pointerOf(TYPES_KEY, name) });
  }
  return patch;
}

/**
 * How to save `value` into `field`: a plain set, or, when the value alone would give
 * the field another type (a number field cleared to null would come back as text), a
 * patch that also writes the type into `$fields`, so the field keeps its editor.
 */
export function saveOps(
  json: Record<string, unknown>,
  field: Pick<Field, 'name' | 'pointer' | 'type' | 'options'>,
  value: unknown,
): { set: unknown } | { patch: PatchOp[] } {
  if (field.type === 'json' || readSpecs(json).has(field.name) || inferType(value) === field.type) {
    return { set: value };
  }
  const spec: FieldSpec = field.type === 'select' ? { type: field.type, options: field.options } : { type: field.type };
  const types = json[TYPES_KEY];
  const typeOp: PatchOp =
    typeof types === 'object' && types !== null && !Array.isArray(types)
      ? { op: 'add', path: pointerOf(TYPES_KEY, field.name), value: spec }
      : { op: 'add', path: pointerOf(TYPES_KEY), value: { [field.name]: spec } };
  return { patch: [{ op: 'add', path: field.pointer, value }, typeOp] };
}
