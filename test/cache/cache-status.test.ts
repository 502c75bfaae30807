import { expect, test } from 'vitest';
import { detailStatus, forwardStatus, hitStatus } from '../../src/cache/cache-status.js';

test.each<[string, string]>([
  [hitStatus('anyedge', 42), 'anyedge; hit; ttl=42'],
  [hitStatus('anyedge', -3, 'stale-while-revalidate'), 'anyedge; hit; ttl=-3; detail=stale-while-revalidate'],
  [forwardStatus('anyedge', { fwd: 'miss', stored: true }), 'anyedge; fwd=miss; stored'],
  [forwardStatus('anyedge', { fwd: 'stale', fwdStatus: 304, stored: true, ttl: 100 }), 'anyedge; fwd=stale; fwd-status=304; stored; ttl=100'],
  [forwardStatus('edge1', { fwd: 'miss', collapsed: true, ttl: 60 }), 'edge1; fwd=miss; collapsed; ttl=60'],
  [forwardStatus('anyedge', { fwd: 'miss', detail: 'no-store' }), 'anyedge; fwd=miss; detail=no-store'],
  [detailStatus('anyedge', 'only-if-cached'), 'anyedge; detail=only-if-cached'],
])('%s', (value, expected) => {
  expect(value).toBe(expected);
});
