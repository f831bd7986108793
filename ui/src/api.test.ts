import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from './api';

describe('toApiError', () => {
  it('keeps the code and message the shell sent', () => {
    const e = toApiError({ code: 'passphrase_required', message: 'enter the passphrase' });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.message]).toEqual(['passphrase_required', 'enter the passphrase']);
  });

  it('calls anything else an ipc failure, keeping its text', () => {
    expect(toApiError('command list_docs not found')).toMatchObject({
      code: 'ipc',
      message: 'command list_docs not found',
    });
    expect(toApiError(new Error('boom'))).toMatchObject({ code: 'ipc', message: 'boom' });
    expect(toApiError({ code: 7, message: 'x' }).code).toBe('ipc');
    // A code outside the generated table is not passed on as if it were one.
    expect(toApiError({ code: 'made_up', message: 'x' }).code).toBe('internal');
  });
});
