// A small context menu (right click, the Menu key or Shift+F10 in the tree).
import { button, h } from '../dom';

export interface MenuItem {
  label: string;
  testid?: string;
  danger?: boolean;
  disabled?: boolean;
  run(): void;
}

let current: { el: HTMLElement; close(): void } | null = null;

export function closeMenu(): void {
  current?.close();
}

/** Opens a menu at (x, y), or under `anchor`; focus returns to `returnFocus` on close. */
export function openMenu(items: MenuItem[], at: { x: number; y: number }, label: string, returnFocus?: HTMLElement): void {
  closeMenu();
  const buttons = items.map((item) =>
    button(
      {
        role: 'menuitem',
        class: item.danger ? 'danger' : undefined,
        'data-testid': item.testid,
        disabled: item.disabled,
        tabindex: '-1',
      },
      () => {
        close();
        item.run();
      },
      item.label,
    ),
  );
  const el = h('div', { class: 'menu', role: 'menu', 'aria-label': label }, ...buttons);
  // Position through the CSSOM (CSP: no style attributes in markup).
  el.style.setProperty('left', `${Math.max(0, at.x)}px`);
  el.style.setProperty('top', `${Math.max(0, at.y)}px`);
  const enabled = (): HTMLButtonElement[] => buttons.filter((b) => !b.disabled);
  el.addEventListener('keydown', (ev) => {
    const list = enabled();
    const i = list.indexOf(document.activeElement as HTMLButtonElement);
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const next = ev.key === 'ArrowDown' ? (i + 1) % list.length : (i - 1 + list.length) % list.length;
      list[next]?.focus();
    } else if (ev.key === 'Escape' || ev.key === 'Tab') {
      ev.preventDefault();
      close();
    }
  });
  const outside = (ev: MouseEvent): void => {
    if (!el.contains(ev.target as Node)) close();
  };
  function close(): void {
    document.removeEventListener('mousedown', outside, true);
    el.remove();
    if (current?.el === el) current = null;
    returnFocus?.focus();
  }
  document.addEventListener('mousedown', outside, true);
  document.body.append(el);
  current = { el, close };
  // Keep it inside the window.
  const r = el.getBoundingClientRect();
  if (r.right > window.innerWidth) el.style.setProperty('left', `${Math.max(0, window.innerWidth - r.width - 4)}px`);
  if (r.bottom > window.innerHeight) el.style.setProperty('top', `${Math.max(0, window.innerHeight - r.height - 4)}px`);
  enabled()[0]?.focus();
}
