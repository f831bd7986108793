import { h } from '../dom';
// Small enough for Vite to inline as a data: URL, which the CSP allows for images.
import iconUrl from '../../../icons/128x128.png';

export function brand(): HTMLElement {
  return h('span', { class: 'brand' }, h('img', { class: 'mark', src: iconUrl, alt: '' }), 'Weft');
}

export function kindLabel(kind: 'note' | 'record'): string {
  return kind === 'note' ? 'Note' : 'Record';
}

// Indentation goes through the CSSOM: the CSP (tauri.conf.json) forbids inline
// style attributes, but not styles set from script.
export function indented<T extends HTMLElement>(el: T, depth: number): T {
  el.style.setProperty('--depth', String(depth));
  return el;
}
