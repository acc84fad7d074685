import { describe, expect, it } from '@jest/globals';
import { parseNatsUrl } from '../../shared/nats/connection.js';

describe('parseNatsUrl', () => {
  it('when the URL carries user and password, then they become options and the servers are bare', () => {
    expect(parseNatsUrl('nats://hook:s3cr%40t@nats-0:4222,nats://nats-1:4222')).toEqual({
      servers: ['nats://nats-0:4222', 'nats://nats-1:4222'],
      user: 'hook',
      pass: 's3cr@t',
      display: 'nats://nats-0:4222,nats://nats-1:4222',
    });
  });

  it('when the URL carries only a user name, then it is a token', () => {
    expect(parseNatsUrl('tls://abc123@nats:4222')).toEqual({ servers: ['tls://nats:4222'], token: 'abc123', display: 'tls://nats:4222' });
  });

  it('when the URL has no credentials, then none are passed', () => {
    const r = parseNatsUrl('nats://127.0.0.1:4222');
    expect(r).toEqual({ servers: ['nats://127.0.0.1:4222'], user: undefined, pass: undefined, display: 'nats://127.0.0.1:4222' });
  });
});
