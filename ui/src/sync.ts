// The words the app uses for sync: the status indicator, how a device is reached,
// and who holds a document's latest changes. Pure: sync.test.ts.
import type { Holder, SyncStatus, Via } from './api';

/** The top bar's indicator: "Synced", "Syncing 3 changes", "Offline". */
export function statusText(s: Pick<SyncStatus, 'state' | 'pending'>): string {
  switch (s.state) {
    case 'synced':
      return 'Synced';
    case 'offline':
      return 'Offline';
    case 'syncing':
      if (s.pending <= 0) return 'Syncing';
      return `Syncing ${s.pending} ${s.pending === 1 ? 'change' : 'changes'}`;
  }
}

/** The tooltip under the indicator: how many devices are connected. */
export function statusDetail(s: Pick<SyncStatus, 'devices' | 'relays'>): string {
  const online = s.devices.filter((d) => d.via !== 'offline');
  const members = online.filter((d) => !d.relay).length;
  const relays = online.length - members;
  const parts = [`${members} ${members === 1 ? 'device' : 'devices'}`];
  if (relays > 0) parts.push(`${relays} ${relays === 1 ? 'relay' : 'relays'}`);
  return `Connected to ${parts.join(' and ')}`;
}

export const VIA_LABELS: Record<Via, string> = {
  lan: 'LAN',
  direct: 'Direct',
  relayed: 'Relayed',
  'hole-punched': 'Hole-punched',
  offline: 'Offline',
};

/** A device's name for people: its announced name, or the start of its id. */
export function deviceName(d: { name: string; device?: string; id?: string }): string {
  if (d.name.trim() !== '') return d.name;
  const id = d.device ?? d.id ?? '';
  return id === '' ? 'unknown device' : `device ${id.slice(0, 8)}`;
}

/**
 * "Latest on: this device, laptop; behind: phone". This device comes first on either
 * side; empty when the shell knows no holder.
 */
export function holdersText(holders: readonly Holder[]): string {
  const name = (h: Holder): string => (h.this_device ? 'this device' : deviceName(h));
  const order = (a: Holder, b: Holder): number => Number(b.this_device) - Number(a.this_device);
  const latest = holders.filter((h) => h.latest).sort(order).map(name);
  const behind = holders.filter((h) => !h.latest).sort(order).map(name);
  const parts: string[] = [];
  if (latest.length > 0) parts.push(`Latest on: ${latest.join(', ')}`);
  if (behind.length > 0) parts.push(`${latest.length > 0 ? 'behind' : 'Behind'}: ${behind.join(', ')}`);
  return parts.join('; ');
}
