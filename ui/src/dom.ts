// A tiny element builder. Text always goes in as text nodes, never as HTML, because
// titles and folder names are whatever a user (or a synced device) typed.

export type Attrs = Record<string, string | boolean | undefined>;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** A `type="button"` button (unless `attrs` says otherwise) that runs `onClick` when clicked. */
export function button(attrs: Attrs, onClick: (ev: MouseEvent) => void, ...children: Child[]): HTMLButtonElement {
  const b = h('button', { type: 'button', ...attrs }, ...children);
  b.addEventListener('click', onClick);
  return b;
}
