// Messages at the bottom of the window. Every API error that no form shows inline
// ends up here with its message: nothing the shell refuses is swallowed.
import './dialogs.css';
import { toApiError } from '../api';
import { button, h } from '../dom';

const MAX = 5;
let region: HTMLElement | null = null;

// Outside #app, so a screen change (which replaces #app's children) keeps them.
function toasts(): HTMLElement {
  if (region && region.isConnected) return region;
  region = h('div', { class: 'toasts', 'data-testid': 'toasts', 'aria-label': 'Messages' });
  document.body.append(region);
  return region;
}

export interface ToastAction {
  label: string;
  run(): void;
}

function add(el: HTMLElement, ms: number | null): void {
  const box = toasts();
  box.append(el);
  while (box.children.length > MAX) box.firstElementChild?.remove();
  if (ms !== null) setTimeout(() => el.remove(), ms);
}

function dismissButton(el: HTMLElement): HTMLButtonElement {
  return button({ class: 'icon-button', 'aria-label': 'Dismiss' }, () => el.remove(), '×');
}

/**
 * Shows an error until dismissed. `context` says what was being done ("Could not
 * rename"). The same message again bumps a counter instead of stacking copies, so a
 * failing poll does not fill the window.
 */
export function showError(e: unknown, context?: string): void {
  const err = toApiError(e);
  const text = context ? `${context}: ${err.message}` : err.message;
  const box = toasts();
  for (const old of box.querySelectorAll<HTMLElement>('.toast.error')) {
    if (old.dataset.text === text) {
      const n = Number(old.dataset.count ?? '1') + 1;
      old.dataset.count = String(n);
      const count = old.querySelector('.toast-count');
      if (count) count.textContent = `×${n}`;
      box.append(old);
      return;
    }
  }
  const el = h('div', { class: 'toast error', role: 'alert', 'data-testid': 'toast', 'data-code': err.code });
  el.dataset.text = text;
  el.append(h('span', { class: 'toast-text' }, text), h('span', { class: 'toast-count' }), dismissButton(el));
  add(el, null);
}

/** A short note that goes away by itself, optionally with one action (Undo). */
export function showInfo(text: string, action?: ToastAction): void {
  const el = h('div', { class: 'toast', role: 'status', 'data-testid': 'toast' }, h('span', { class: 'toast-text' }, text));
  if (action) {
    el.append(
      button(
        { class: 'link' },
        () => {
          el.remove();
          action.run();
        },
        action.label,
      ),
    );
  }
  el.append(dismissButton(el));
  add(el, 8000);
}

/** An inline error for a form or panel. */
export function alertBox(e: unknown): HTMLElement {
  const err = toApiError(e);
  return h('p', { class: 'error', role: 'alert', 'data-code': err.code }, err.message);
}

/** An inline error for something the UI itself refused (a non-number in a number field). */
export function alertText(text: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, text);
}
