import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalesce, debounce, latestOnly } from './util';

describe('debounce', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once with the last arguments after a quiet period', () => {
    const f = vi.fn();
    const d = debounce(f, 150);
    d('a');
    vi.advanceTimersByTime(100);
    d('ab');
    vi.advanceTimersByTime(149);
    expect(f).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(f).toHaveBeenCalledExactlyOnceWith('ab');
  });

  it('drops a pending call on cancel', () => {
    const f = vi.fn();
    const d = debounce(f, 150);
    d();
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(f).not.toHaveBeenCalled();
  });
});

describe('coalesce', () => {
  it('folds calls made while running into one more run', async () => {
    let release: () => void = () => {};
    let runs = 0;
    const run = coalesce(async () => {
      runs += 1;
      if (runs === 1) await new Promise<void>((r) => (release = r));
    });
    const first = run();
    void run();
    void run();
    void run();
    release();
    await first;
    expect(runs).toBe(2);
    await run();
    expect(runs).toBe(3);
  });

  it('lets a failure reach the caller and runs again next time', async () => {
    let fail = true;
    const run = coalesce(async () => {
      if (fail) throw new Error('down');
    });
    await expect(run()).rejects.toThrow('down');
    fail = false;
    await expect(run()).resolves.toBeUndefined();
  });
});

describe('latestOnly', () => {
  it('accepts only the answer to the last request', () => {
    const l = latestOnly();
    const a = l.next();
    const b = l.next();
    expect(l.isLatest(a)).toBe(false);
    expect(l.isLatest(b)).toBe(true);
  });
});
