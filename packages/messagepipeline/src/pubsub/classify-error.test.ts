import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.js';
import { classifyPubSubError, grpcStatus, grpcStatusOf } from './classify-error.js';

function grpcError(code: number, message = 'boom'): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyPubSubError', () => {
  it.each([
    ['UNAVAILABLE', 'UNAVAILABLE'],
    ['DEADLINE_EXCEEDED', 'TIMEOUT'],
    ['RESOURCE_EXHAUSTED', 'RATE_LIMITED'],
    ['ABORTED', 'UNAVAILABLE'],
    ['INTERNAL', 'INTERNAL'],
    ['UNKNOWN', 'INTERNAL'],
  ] as const)('%s is retriable (%s)', (status, code) => {
    expect(classifyPubSubError(grpcError(grpcStatus[status]))).toMatchObject({
      code,
      retriable: true,
    });
  });

  it.each([
    ['INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
    ['NOT_FOUND', 'NOT_FOUND'],
    ['PERMISSION_DENIED', 'PERMISSION_DENIED'],
    ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
    ['FAILED_PRECONDITION', 'INTERNAL'],
  ] as const)('%s is permanent (%s)', (status, code) => {
    expect(classifyPubSubError(grpcError(grpcStatus[status]))).toMatchObject({
      code,
      retriable: false,
    });
  });

  it('reads the status of a PublishError-like wrapper and keeps the cause', () => {
    const inner = grpcError(grpcStatus.NOT_FOUND, 'Topic not found');
    const wrapper = Object.assign(new Error('Unable to publish for key "k"'), { error: inner });
    expect(grpcStatusOf(wrapper)).toBe(grpcStatus.NOT_FOUND);
    const classified = classifyPubSubError(wrapper, 'publish');
    expect(classified).toMatchObject({ code: 'NOT_FOUND', retriable: false });
    expect(classified.message).toBe('publish: Unable to publish for key "k"');
    expect(classified.cause).toBe(wrapper);
  });

  it.each(['NOT_FOUND', 'PERMISSION_DENIED', 'UNAUTHENTICATED'] as const)(
    "on a publish, %s is a destination error: retriable, never the message's fault",
    (status) => {
      const classified = classifyPubSubError(grpcError(grpcStatus[status]), 'publish', {
        destination: true,
      });
      expect(classified).toMatchObject({ code: status, retriable: true, destination: true });
    },
  );

  it('keeps INVALID_ARGUMENT permanent on a publish', () => {
    const classified = classifyPubSubError(grpcError(grpcStatus.INVALID_ARGUMENT), 'publish', {
      destination: true,
    });
    expect(classified).toMatchObject({ retriable: false, destination: false });
  });

  it('treats errors without a status as transient and keeps Tributary errors', () => {
    expect(classifyPubSubError(new Error('socket hang up'))).toMatchObject({
      code: 'INTERNAL',
      retriable: true,
    });
    const own = TributaryError.permanent('INVALID_PAYLOAD', 'bad');
    expect(classifyPubSubError(own)).toBe(own);
    expect(classifyPubSubError('text')).toMatchObject({ retriable: true });
  });
});
