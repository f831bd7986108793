// The Devices & sync panel, and the status indicator in the top bar.
import type { Device, SyncStatus } from '../api';
import { button, h } from '../dom';
import { formatAgo, formatFull } from '../format';
import { VIA_LABELS, deviceName, statusDetail, statusText } from '../sync';
import type { App, SyncState } from './app';
import { openDialog } from './dialog';
import { alertBox } from './toast';

/** While the panel is open it asks again this often, so "2 min ago" stays true. */
export const REFRESH_MS = 5000;

/** The indicator: "Synced", "Syncing 3 changes", "Offline"; a click opens the panel. */
export function statusIndicator(app: App, onOpen: () => void): HTMLElement {
  const el = button(
    {
      class: 'sync-status',
      'data-testid': 'sync-status',
      'data-state': 'unknown',
      'aria-live': 'polite',
      title: 'Devices and sync',
    },
    onOpen,
  );
  const show = (s: SyncState): void => {
    if (s.error) {
      el.dataset.state = 'error';
      el.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Sync status unavailable');
      el.title = s.error.message;
      return;
    }
    if (!s.status) {
      el.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Checking…');
      return;
    }
    el.dataset.state = s.status.state;
    el.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), statusText(s.status));
    el.title = `${statusDetail(s.status)}. Click for devices.`;
  };
  show(app.sync.current);
  app.sync.subscribe(show);
  return el;
}

function deviceRow(d: Device, now: number): HTMLElement {
  const last = d.last_sync_ms === null ? 'never fully in sync' : `last synced ${formatAgo(d.last_sync_ms, now)}`;
  return h(
    'li',
    { class: 'device', 'data-testid': 'device', 'data-id': d.id, 'data-via': d.via },
    h('span', { class: `via via-${d.via}`, 'data-testid': 'device-via' }, VIA_LABELS[d.via]),
    h('span', { class: 'device-name' }, deviceName(d), d.relay ? h('span', { class: 'tag' }, 'relay') : null),
    h(
      'span',
      { class: 'device-sync muted', title: d.last_sync_ms === null ? '' : formatFull(new Date(d.last_sync_ms).toISOString()) },
      d.in_sync ? `in sync · ${last}` : last,
    ),
  );
}

function body(s: SyncStatus, now: number): Node[] {
  const members = s.devices.filter((d) => !d.relay);
  const relayDevices = s.devices.filter((d) => d.relay);
  return [
    h('p', { class: 'sync-summary', 'data-state': s.state }, h('strong', {}, statusText(s)), ' · ', statusDetail(s)),
    h('h3', {}, 'Devices'),
    members.length === 0
      ? h('p', { class: 'muted' }, 'No other device yet. Use “Add a device” to pair one.')
      : h('ul', { class: 'device-list', 'data-testid': 'device-list' }, ...members.map((d) => deviceRow(d, now))),
    h('h3', {}, 'Relays'),
    s.relays.length === 0 && relayDevices.length === 0
      ? h('p', { class: 'muted' }, 'No relay. Add one in Settings to sync when devices are not online together.')
      : h(
          'ul',
          { class: 'device-list', 'data-testid': 'relay-list' },
          ...relayDevices.map((d) => deviceRow(d, now)),
          ...s.relays.map((r) =>
            h(
              'li',
              { class: 'relay', 'data-testid': 'relay-row' },
              h('code', { class: 'addr' }, r.addr),
              h('span', { class: 'muted' }, r.status),
            ),
          ),
        ),
    h('h3', {}, 'This device listens on'),
    s.addresses.length === 0
      ? h('p', { class: 'muted' }, 'Not listening yet.')
      : h('ul', { class: 'addresses' }, ...s.addresses.map((a) => h('li', {}, h('code', {}, a)))),
  ];
}

export function openDevices(app: App): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  let unsubscribe = (): void => {};
  const content = h('div', { class: 'devices', 'aria-live': 'polite' });
  const dialog = openDialog({
    title: 'Devices & sync',
    testid: 'devices',
    wide: true,
    onClose: () => {
      clearInterval(timer);
      unsubscribe();
    },
  });
  dialog.body.append(content);
  const draw = (s: SyncState): void => {
    if (s.error) {
      content.replaceChildren(alertBox(s.error), ...(s.status ? body(s.status, Date.now()) : []));
    } else if (s.status) {
      content.replaceChildren(...body(s.status, Date.now()));
    } else {
      content.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    }
  };
  draw(app.sync.current);
  unsubscribe = app.sync.subscribe(draw);
  const poll = (): void => void app.sync.refresh();
  poll();
  timer = setInterval(poll, REFRESH_MS);
}
