import { describe, expect, it } from 'vitest';
import { mergeSidecarFlags, parseSidecarArgs, parseSidecarFlags } from '../../src/bgp/flags.js';
import { sidecarConfigProblems, type SidecarRunConfig } from '../../src/bgp/sidecar-config.js';
import { adminReadyzUrl } from '../../src/bgp/sidecar-cli.js';
import { sidecarSchema } from '../../src/config/schema.js';

describe('anyedge sidecar flags', () => {
  it('parses every flag into config keys, durations in ms', () => {
    const f = parseSidecarFlags([
      '--speaker', 'exabgp', '--prefix', '192.0.2.1/32', '--prefix', '2001:db8::1/128',
      '--readyz', 'http://10.0.0.5:9901/readyz', '--interval', '2s', '--fast-interval', '200ms',
      '--rise', '4', '--fall', '1', '--timeout', '750ms', '--refresh', '1m',
      '--bird-socket', '/run/bird/x.ctl', '--bird-protocol', 'ac', '--bird-prepend-protocol', 'ac_p',
      '--prepend', '0', '--local-as', '4200000000', '--next-hop', 'self', '--metrics', '127.0.0.1:9902',
      '--dampening', 'on', '--dampening-half-life', '30s', '--dampening-suppress', '3000', '--dampening-reuse', '500',
      '--dampening-penalty', '1000', '--dampening-max-suppress', '2m',
    ]);
    expect(f).toEqual({
      speaker: 'exabgp', prefixes: ['192.0.2.1/32', '2001:db8::1/128'], readyz: 'http://10.0.0.5:9901/readyz',
      interval: 2000, fastInterval: 200, rise: 4, fall: 1, timeout: 750, refresh: 60_000,
      birdSocket: '/run/bird/x.ctl', birdProtocol: 'ac', birdPrependProtocol: 'ac_p', prepend: 0, localAs: 4_200_000_000,
      nextHop: 'self', metrics: '127.0.0.1:9902',
      dampening: { enabled: true, halfLife: 30_000, suppress: 3000, reuse: 500, penalty: 1000, maxSuppress: 120_000 },
    });
  });

  it.each([
    [['--speaker', 'gobgp'], /--speaker: expected exabgp, bird or log/],
    [['--prefix', '192.0.2.1'], /--prefix: expected an IP prefix/],
    [['--prefix', '300.0.2.1/32'], /--prefix: expected an IP prefix/],
    [['--prefix', '192.0.2.1/33'], /--prefix: expected an IP prefix/],
    [['--interval', 'fast'], /--interval: expected a duration/],
    [['--fast-interval=-1s'], /--fast-interval: expected a duration/],
    [['--rise', '0'], /--rise: expected a whole number from 1/],
    [['--fall', '1.5'], /--fall: expected a whole number/],
    [['--prepend', '17'], /--prepend: expected a whole number from 0 to 16/],
    [['--local-as', 'AS65001'], /--local-as: expected a whole number/],
    [['--readyz', '10.0.0.5:9901'], /--readyz: expected a URL/],
    [['--metrics', '9902'], /--metrics: expected ADDR:PORT/],
    [['--dampening', 'maybe'], /--dampening: expected on or off/],
    [['--bird-socket', ''], /--bird-socket: must not be empty/],
    [['--bogus', '1'], /--bogus/],
    [['--rise'], /--rise/],
  ])('%j → an error naming the flag', (argv, message) => {
    expect(() => parseSidecarFlags(argv)).toThrow(message);
  });

  it('passes through flags the caller handles', () => {
    const { flags, passthrough } = parseSidecarArgs(['-c', 'edge.yaml', '--rise', '2'], { passthrough: { config: { type: 'string', short: 'c' } } });
    expect(flags).toEqual({ rise: 2 });
    expect(passthrough).toEqual({ config: 'edge.yaml' });
  });

  it('flags win over the file, dampening merges key by key, readyz falls back to the admin plane', () => {
    const file = sidecarSchema.parse({ rise: 5, dampening: { halfLife: '10s' } });
    const merged = mergeSidecarFlags(file, parseSidecarFlags(['--rise', '2', '--dampening-reuse', '100']), 'http://10.0.0.5:9901/readyz');
    expect(merged).toMatchObject({ rise: 2, readyz: 'http://10.0.0.5:9901/readyz', dampening: { halfLife: 10_000, reuse: 100, suppress: 2000 } });
    expect(() => mergeSidecarFlags(file, {})).toThrow(/--readyz: required/);
    expect(adminReadyzUrl({ address: '0.0.0.0', port: 9901 })).toBe('http://127.0.0.1:9901/readyz');
    expect(adminReadyzUrl({ address: 'fd00::5', port: 9901 })).toBe('http://[fd00::5]:9901/readyz');
  });
});

describe('sidecar configuration checks', () => {
  const base = (over: Partial<SidecarRunConfig> = {}): SidecarRunConfig => ({ ...sidecarSchema.parse({}), readyz: 'http://10.0.0.5:9901/readyz', ...over });

  it('accepts the defaults with a unicast readyz', () => {
    expect(sidecarConfigProblems(base())).toEqual([]);
  });

  it('refuses to probe the anycast address, which another node may answer', () => {
    expect(sidecarConfigProblems(base({ readyz: 'http://192.0.2.1:9901/readyz' }))).toEqual([
      'sidecar.readyz: 192.0.2.1 is inside an announced prefix; probe the node\'s unicast admin address instead',
    ]);
    expect(sidecarConfigProblems(base({ prefixes: ['192.0.2.0/24'], readyz: 'http://192.0.2.77/readyz' }))).toHaveLength(1);
    expect(sidecarConfigProblems(base({ prefixes: ['2001:db8::/64'], readyz: 'http://[2001:db8::5]:9901/readyz' }))).toHaveLength(1);
  });

  it('names each bad key', () => {
    const p = sidecarConfigProblems(base({ prefixes: ['nope/8'], fastInterval: 5000, readyz: 'ftp://x/readyz', metrics: 'x', dampening: { ...base().dampening, reuse: 5000 } }));
    expect(p.join('\n')).toMatch(/sidecar\.prefixes\[0\]/);
    expect(p.join('\n')).toMatch(/sidecar\.readyz: expected http/);
    expect(p.join('\n')).toMatch(/sidecar\.metrics/);
    expect(p.join('\n')).toMatch(/sidecar\.fastInterval/);
    expect(p.join('\n')).toMatch(/sidecar\.dampening\.reuse/);
  });
});
