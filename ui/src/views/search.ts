// The search box in the top bar: results as you type (150 ms after the last key), with
// the match marked in titles and snippets. Arrow keys pick, Enter or a click opens.
import { search, type SearchHit } from '../api';
import { h } from '../dom';
import { highlight } from '../highlight';
import { debounce, latestOnly } from '../util';
import type { App } from './app';
import { kindLabel } from './brand';
import { alertBox } from './toast';

export const SEARCH_DELAY_MS = 150;

/** Text with the matches in <mark>: DOM nodes, never HTML built from document text. */
export function marked(text: string, query: string): Node[] {
  return highlight(text, query).map((s) => (s.match ? h('mark', {}, s.text) : document.createTextNode(s.text)));
}

export interface SearchBox {
  el: HTMLElement;
  focus(): void;
}

export function createSearch(app: App): SearchBox {
  const listId = 'search-results';
  const input = h('input', {
    type: 'search',
    class: 'search-input',
    'data-testid': 'search',
    placeholder: 'Search (Ctrl+K)',
    'aria-label': 'Search titles and notes',
    role: 'combobox',
    'aria-expanded': 'false',
    'aria-controls': listId,
    'aria-autocomplete': 'list',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const results = h('ul', { id: listId, class: 'search-results', role: 'listbox', 'data-testid': 'search-results', 'aria-label': 'Search results', hidden: true });
  const el = h('div', { class: 'search' }, input, results);
  const order = latestOnly();
  let hits: SearchHit[] = [];
  let active = -1;

  const close = (): void => {
    results.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };
  const openPanel = (): void => {
    results.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  };

  const setActive = (i: number): void => {
    active = i;
    const items = results.querySelectorAll<HTMLElement>('[role="option"]');
    items.forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    const current = items[i];
    if (current) {
      input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView?.({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };

  const choose = (hit: SearchHit | undefined): void => {
    if (!hit) return;
    close();
    input.blur();
    void app.open(hit.id);
  };

  const draw = (query: string): void => {
    active = -1;
    if (hits.length === 0) {
      results.replaceChildren(h('li', { class: 'search-none muted', role: 'presentation' }, `Nothing matches “${query}”.`));
    } else {
      results.replaceChildren(
        ...hits.map((hit, i) => {
          const li = h(
            'li',
            { id: `search-hit-${i}`, role: 'option', class: 'search-result', 'data-testid': 'search-result', 'data-id': hit.id, 'aria-selected': 'false' },
            h(
              'div',
              { class: 'hit-head' },
              h('span', { class: `icon ${hit.kind}`, 'aria-hidden': 'true' }),
              h('span', { class: 'hit-title' }, ...marked(hit.title, query)),
              h('span', { class: 'sr-only' }, ` (${kindLabel(hit.kind)})`),
            ),
            h('div', { class: 'hit-path muted' }, hit.path),
            hit.snippet ? h('div', { class: 'hit-snippet' }, ...marked(hit.snippet, query)) : null,
          );
          // mousedown, not click: a click would first blur the input and close the list.
          li.addEventListener('mousedown', (ev) => {
            ev.preventDefault();
            choose(hit);
          });
          return li;
        }),
      );
    }
    openPanel();
  };

  /** The query whose results are drawn. */
  let shown = '';
  const fetch = (query: string, then?: (found: SearchHit[]) => void): void => {
    const n = order.next();
    search(query)
      .then((found) => {
        if (!order.isLatest(n) || input.value.trim() !== query) return;
        hits = found;
        shown = query;
        draw(query);
        then?.(found);
      })
      .catch((e: unknown) => {
        if (!order.isLatest(n)) return;
        hits = [];
        shown = '';
        results.replaceChildren(h('li', { role: 'presentation' }, alertBox(e)));
        openPanel();
      });
  };
  const run = debounce((query: string) => fetch(query), SEARCH_DELAY_MS);

  input.addEventListener('input', () => {
    const q = input.value.trim();
    if (q === '') {
      run.cancel();
      order.next();
      hits = [];
      shown = '';
      close();
      return;
    }
    run(q);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      if (hits.length === 0) return;
      ev.preventDefault();
      if (results.hidden) openPanel();
      const next = ev.key === 'ArrowDown' ? Math.min(active + 1, hits.length - 1) : Math.max(active - 1, 0);
      setActive(next);
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      const q = input.value.trim();
      if (q === '') return;
      if (q === shown) choose(hits[active] ?? hits[0]);
      else {
        // Enter before the results came: search now and open the first one.
        run.cancel();
        fetch(q, (found) => choose(found[0]));
      }
    } else if (ev.key === 'Escape') {
      if (!results.hidden) {
        ev.preventDefault();
        close();
      } else if (input.value !== '') {
        input.value = '';
        hits = [];
        shown = '';
      }
    }
  });
  input.addEventListener('focus', () => {
    if (input.value.trim() !== '' && results.children.length > 0) openPanel();
  });
  input.addEventListener('blur', () => close());

  return {
    el,
    focus: () => {
      input.focus();
      input.select();
    },
  };
}
