import { PassThrough, Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { captureBody, readBody } from '../../src/cache/body.js';
import { AnyedgeError } from '../../src/errors.js';

async function text(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('readBody', () => {
  test('reads a body whole', async () => {
    expect((await readBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10)).toString()).toBe('abcd');
    expect((await readBody(null, 10)).length).toBe(0);
  });

  test('more than announced, or a failure mid-body, is the origin\'s error', async () => {
    await expect(readBody(Readable.from([Buffer.from('abcdef')]), 3)).rejects.toMatchObject({ code: 'AE_UPSTREAM_PROTOCOL' });
    const failing = new PassThrough();
    const p = readBody(failing, 100);
    failing.write('ab');
    failing.destroy(new Error('socket hang up'));
    await expect(p).rejects.toMatchObject({ code: 'AE_UPSTREAM_RESET', source: 'upstream' });
  });

  test('a body closed before its end (destroyed without an error) is a reset, not a short object', async () => {
    const cut = new PassThrough();
    const p = readBody(cut, 100);
    cut.write('ab');
    cut.destroy();
    await expect(p).rejects.toMatchObject({ code: 'AE_UPSTREAM_RESET', message: expect.stringMatching(/premature close/i) });
  });
});

describe('captureBody', () => {
  test('the client gets every byte and the copy is the whole body', async () => {
    const source = new PassThrough();
    const c = captureBody(source, 100);
    source.write('hello ');
    source.end('world');
    expect(await text(c.stream)).toBe('hello world');
    expect((await c.done)?.toString()).toBe('hello world');
  });

  test('a client going away does not stop the copy (waiters depend on it)', async () => {
    const source = new PassThrough();
    const c = captureBody(source, 100);
    source.write('abc');
    c.stream.destroy();
    await new Promise((r) => setImmediate(r));
    source.end('def');
    expect((await c.done)?.toString()).toBe('abcdef');
  });

  test('beyond the limit the copy is dropped and the client still gets everything', async () => {
    const source = new PassThrough();
    const c = captureBody(source, 4);
    source.write('abc');
    source.end('def');
    expect(await c.done).toBeUndefined();
    expect(await text(c.stream)).toBe('abcdef');
  });

  test('an origin failure fails the copy and the client stream', async () => {
    const source = new PassThrough();
    const c = captureBody(source, 100);
    source.write('abc');
    source.destroy(new Error('reset'));
    await expect(c.done).rejects.toBeInstanceOf(AnyedgeError);
    await expect(text(c.stream)).rejects.toThrow();
  });
});
