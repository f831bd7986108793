// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { SyncStatus } from '../api';
import type { SyncState } from './app';
import { statusIndicator } from './devices';
import { fakeApp } from './testing';

describe('the status indicator', () => {
  it('follows the sync events: Syncing N changes, Synced, Offline, and an error', () => {
    const app = fakeApp();
    let push: (s: SyncState) => void = () => {};
    Object.assign(app.sync, { subscribe: (f: (s: SyncState) => void) => ((push = f), () => {}) });
    const el = statusIndicator(app, () => {});
    expect(el.dataset.testid).toBe('sync-status');
    const status = (state: SyncStatus['state'], pending: number): SyncState => ({
      status: { state, pending, devices: [], relays: [], addresses: [] },
      error: null,
    });
    push(status('syncing', 4));
    expect(el.textContent).toBe('Syncing 4 changes');
    expect(el.dataset.state).toBe('syncing');
    push(status('synced', 0));
    expect(el.textContent).toBe('Synced');
    push(status('offline', 0));
    expect(el.textContent).toBe('Offline');
    push({ status: null, error: Object.assign(new Error('node stopped'), { code: 'internal' }) as never });
    expect(el.textContent).toBe('Sync status unavailable');
    expect(el.title).toBe('node stopped');
  });
});
