/**
 * The light Response a worker installs as the global one (transports/http/light-response.ts)
 * against undici's, in this process: the same inputs must give the same Response or the same
 * error class, in the constructor and in Response.json, and a light Response must read,
 * clone, subclass and identify itself as the standard's does. The globals are put back after,
 * for the other tests of this worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installFetchGlobals } from '../transports/http/http-fetch.ts'
import { lightParts } from '../transports/http/light-response.ts'

const saved = { Response: globalThis.Response, Request: globalThis.Request, fetch: globalThis.fetch }
const Original = saved.Response
let Light: typeof Response

beforeAll(() => {
  installFetchGlobals()
  Light = globalThis.Response
})
afterAll(() => {
  globalThis.Response = saved.Response
  globalThis.Request = saved.Request
  globalThis.fetch = saved.fetch
  for (const Class of [saved.Response, saved.Request])
    Object.defineProperty(Class.prototype, 'constructor', {
      value: Class,
      writable: true,
      configurable: true,
    })
})

/** What a Response made by `make` looks like to an app, or the class of the error it threw. */
const observe = async (make: () => Response): Promise<unknown> => {
  let response: Response
  try {
    response = make()
  } catch (error) {
    return (error as Error).constructor.name
  }
  return {
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    type: response.type,
    url: response.url,
    redirected: response.redirected,
    headers: [...response.headers],
    bodyIsNull: response.body === null,
    text: await response.text(),
    bodyUsed: response.bodyUsed,
  }
}

const detached = () => {
  const buffer = new ArrayBuffer(4)
  structuredClone(buffer, { transfer: [buffer] })
  return buffer
}

type Init = ConstructorParameters<typeof Response>[1]
type Body = ConstructorParameters<typeof Response>[0]

const constructed: Array<[what: string, body: () => Body, init: Init | unknown]> = [
  ['no body', () => undefined, undefined],
  ['a string', () => 'x', undefined],
  ['an empty string', () => '', undefined],
  ['status 99', () => 'x', { status: 99 }],
  ['status 100', () => null, { status: 100 }],
  ['status 199', () => 'x', { status: 199 }],
  ['status 600', () => 'x', { status: 600 }],
  ['status 599', () => 'x', { status: 599 }],
  ['status as a string', () => 'x', { status: '201' }],
  ['status 200.5', () => 'x', { status: 200.5 }],
  ['status 65736 (an unsigned short past 65535)', () => 'x', { status: 65_736 }],
  ['status NaN', () => 'x', { status: Number.NaN }],
  ['status null', () => 'x', { status: null }],
  ['status a BigInt', () => 'x', { status: 201n }],
  ['status -65336', () => 'x', { status: -65_336 }],
  ['status 99 and a statusText past Latin-1', () => 'x', { status: 99, statusText: 'Ā' }],
  ['status 99 and a statusText with a newline', () => 'x', { status: 99, statusText: '\n' }],
  ['status 204 with a body and an invalid header', () => 'x', { status: 204, headers: { 'a b': '1' } }],
  ['status 204 with a body', () => 'x', { status: 204 }],
  ['status 204 with an empty body', () => '', { status: 204 }],
  ['status 204 without a body', () => null, { status: 204 }],
  ['status 205 with bytes', () => new Uint8Array([1]), { status: 205 }],
  ['status 304 with a body', () => 'x', { status: 304 }],
  ['status 304 without a body', () => null, { status: 304, headers: { etag: '"1"' } }],
  ['an invalid header name', () => 'x', { headers: { 'bad name': 'v' } }],
  ['an invalid header value', () => 'x', { headers: { 'x-a': 'a\nb' } }],
  ['a header pair of one', () => 'x', { headers: [['x-a']] }],
  ['a statusText with a newline', () => 'x', { statusText: 'bad\n' }],
  ['a statusText with Latin-1', () => 'x', { statusText: 'Café' }],
  ['a statusText past Latin-1', () => 'x', { statusText: 'Ā' }],
  ['a statusText', () => 'x', { status: 418, statusText: 'I Am A Teapot' }],
  ['init a number', () => 'x', 5],
  ['init a string', () => 'x', 'text'],
  ['init null', () => 'x', null],
  ['a content type given', () => 'x', { headers: { 'content-type': 'text/html' } }],
  ['headers without a content type', () => 'x', { headers: { 'x-a': '1' } }],
  [
    'two Set-Cookie',
    () => 'x',
    {
      headers: [
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
    },
  ],
  ['bytes', () => new Uint8Array([0, 0x80, 0xff]), undefined],
  ['a view into bytes', () => new Uint8Array([9, 1, 2, 9]).subarray(1, 3), undefined],
  ['a DataView', () => new DataView(new Uint8Array([7, 8]).buffer), undefined],
  ['an ArrayBuffer', () => new Uint8Array([3, 4]).buffer, {}],
  ['a lone surrogate', () => 'a\ud800b', undefined],
  ['a view into shared memory', () => new Uint8Array(new SharedArrayBuffer(2)), undefined],
  ['a resizable ArrayBuffer', () => new ArrayBuffer(2, { maxByteLength: 4 }), undefined],
  ['a Float32Array', () => new Float32Array([1]), undefined],
  ['a Buffer', () => Buffer.from('buffer'), undefined],
  ['a detached ArrayBuffer', () => detached(), undefined],
  ['a view into a detached ArrayBuffer', () => new Uint8Array(detached()), undefined],
  ['a String object', () => new String('boxed') as unknown as string, undefined],
  ['a number', () => 42 as unknown as string, undefined],
  ['a Blob', () => new Blob(['b'], { type: 'text/x-b' }), undefined],
  ['URLSearchParams', () => new URLSearchParams('a=1&b=2'), undefined],
  ['a stream', () => new Blob(['s']).stream(), { status: 201 }],
]

const asJson: Array<[what: string, data: unknown, init: Init | unknown]> = [
  ['an object', { a: 1, é: 'ü' }, undefined],
  ['with status and a header', [1, 2], { status: 201, headers: { 'x-extra': 'yes' } }],
  ['with a content type of its own', 'x', { headers: { 'content-type': 'text/plain' } }],
  ['undefined', undefined, undefined],
  ['a BigInt', 1n, undefined],
  ['status 204', {}, { status: 204 }],
  ['status 600', {}, { status: 600 }],
  ['an invalid header', {}, { headers: { 'a b': 'c' } }],
]

describe('the light Response, beside undici’s', () => {
  it.each(constructed)('new Response(%s)', async (_what, body, init) => {
    const light = await observe(() => new Light(body(), init as Init))
    const real = await observe(() => new Original(body(), init as Init))
    expect(light).toEqual(real)
  })

  it.each(asJson)('Response.json(%s)', async (_what, data, init) => {
    expect(await observe(() => Light.json(data, init as Init))).toEqual(
      await observe(() => Original.json(data, init as Init)),
    )
  })

  it('keeps a string or bytes body light, and the content type it implies', () => {
    const response = new Light('x')
    expect(lightParts(response)).toMatchObject({ status: 200, body: 'x' })
    expect(response.headers.get('content-type')).toBe('text/plain;charset=UTF-8')
    expect(lightParts(new Original('x'))).toBeUndefined()
    expect(lightParts(Light.redirect('http://x/'))).toBeUndefined()
    expect(lightParts(Light.error())).toBeUndefined()
  })

  it('clone(): both readable; a body read twice rejects with TypeError; clone of a used body throws', async () => {
    const response = new Light('cloned', { status: 201, headers: { 'x-a': '1' } })
    const copy = response.clone()
    expect([copy.status, copy.headers.get('x-a')]).toEqual([201, '1'])
    expect(await copy.text()).toBe('cloned')
    expect(await response.text()).toBe('cloned')
    expect(response.bodyUsed).toBe(true)
    await expect(response.text()).rejects.toThrow(TypeError)
    await expect(response.arrayBuffer()).rejects.toThrow(TypeError)
    expect(() => response.clone()).toThrow(TypeError)
    // A clone's headers are its own.
    const first = new Light('h', { headers: { 'x-a': '1' } })
    const second = first.clone()
    second.headers.set('x-a', '2')
    expect(first.headers.get('x-a')).toBe('1')
  })

  it('instanceof, subclasses, toString tag, statics', async () => {
    expect(new Light('x')).toBeInstanceOf(Light)
    expect(new Light('x')).toBeInstanceOf(Original)
    expect(new Original('x')).toBeInstanceOf(Light)
    expect(Light.redirect('http://x/', 301)).toBeInstanceOf(Light)
    expect(Light.error()).toBeInstanceOf(Light)
    expect(Light.json({})).toBeInstanceOf(Light)
    expect({}).not.toBeInstanceOf(Light)
    class Mine extends Light {
      readonly mine = true
    }
    const mine = new Mine('m', { status: 202 })
    expect(mine).toBeInstanceOf(Mine)
    expect(mine).toBeInstanceOf(Light)
    expect(new Light('x')).not.toBeInstanceOf(Mine)
    expect([mine.mine, mine.status, await mine.text()]).toEqual([true, 202, 'm'])
    expect(Object.prototype.toString.call(new Light('x'))).toBe('[object Response]')
    expect(new Light('x').constructor).toBe(Light)
    expect(new Original('x').constructor).toBe(Light)
    expect(mine.constructor).toBe(Mine)
    expect(Light.name).toBe('Response')
    expect(Light.length).toBe(Original.length)
    const redirect = Light.redirect('http://example.com/a', 302)
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, 'http://example.com/a'])
    expect(() => Light.redirect('http://x/', 200 as 301)).toThrow(RangeError)
    expect(Light.error().type).toBe('error')
  })

  it('every Response.prototype member is there, and answers as undici’s', async () => {
    const light = new Light('same', { status: 203, statusText: 'Fine', headers: { 'x-a': '1' } })
    const real = new Original('same', { status: 203, statusText: 'Fine', headers: { 'x-a': '1' } })
    for (const key of Object.getOwnPropertyNames(Original.prototype)) {
      if (key === 'constructor') continue
      const value = (light as unknown as Record<string, unknown>)[key]
      const expected = (real as unknown as Record<string, unknown>)[key]
      expect(typeof value, key).toBe(typeof expected)
    }
    expect(new Uint8Array(await light.clone().arrayBuffer())).toEqual(
      new Uint8Array(await real.clone().arrayBuffer()),
    )
    expect(await light.clone().bytes()).toEqual(await real.clone().bytes())
    expect(await (await light.clone().blob()).text()).toBe('same')
    expect(await new Light('{"a":1}').json()).toEqual({ a: 1 })
    const form = await new Light('a=1', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }).formData()
    expect(form.get('a')).toBe('1')
  })
})
