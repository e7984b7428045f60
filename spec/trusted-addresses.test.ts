/**
 * The trusted-addresses matcher behind PROXY protocol listeners and forwarded headers:
 * addresses, networks, `*` and `unix`; IPv4-mapped peers match as IPv4; a Unix-socket peer
 * (no address) is trusted where loopback is; a bad entry is refused with a message that says why.
 */
import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../runtime/errors.ts'
import { trustedAddresses, trustedEntryProblem } from '../transports/proxy/trusted-addresses.ts'

describe('matching', () => {
  it('holds single addresses, IPv4 and IPv6, and nothing else', () => {
    const trusted = trustedAddresses(['10.0.0.5', '2001:db8::7'])
    expect(trusted.has('10.0.0.5')).toBe(true)
    expect(trusted.has('10.0.0.6')).toBe(false)
    expect(trusted.has('2001:db8::7')).toBe(true)
    expect(trusted.has('2001:db8:0:0:0:0:0:7')).toBe(true)
    expect(trusted.has('2001:db8::8')).toBe(false)
  })

  it('holds networks in CIDR notation, to their edges', () => {
    const trusted = trustedAddresses(['10.0.0.0/8', '192.168.4.0/22', 'fd00::/8'])
    expect(trusted.has('10.255.255.255')).toBe(true)
    expect(trusted.has('11.0.0.0')).toBe(false)
    expect(trusted.has('192.168.7.200')).toBe(true)
    expect(trusted.has('192.168.8.1')).toBe(false)
    expect(trusted.has('fd12:3456::1')).toBe(true)
    expect(trusted.has('fe80::1')).toBe(false)
  })

  it('matches an IPv4-mapped IPv6 peer (a dual-stack listener) as its IPv4 address, and a mapped entry as IPv4', () => {
    const trusted = trustedAddresses(['10.0.0.0/8', '::ffff:192.0.2.9', '::ffff:198.51.100.0/120'])
    expect(trusted.has('::ffff:10.1.2.3')).toBe(true)
    expect(trusted.has('::FFFF:10.1.2.3')).toBe(true)
    expect(trusted.has('::ffff:11.1.2.3')).toBe(false)
    expect(trusted.has('192.0.2.9')).toBe(true)
    expect(trusted.has('198.51.100.77')).toBe(true)
    expect(trusted.has('198.51.101.1')).toBe(false)
  })

  it('matches a peer that carries a zone by its address', () => {
    expect(trustedAddresses(['fe80::/10']).has('fe80::1%eth0')).toBe(true)
  })

  it('says no to what is not an address, rather than throwing', () => {
    const trusted = trustedAddresses(['0.0.0.0/0', '::/0'])
    for (const garbage of ['', 'unknown', '_hidden', '1.2.3.4.5', '[::1]', '1.2.3.4:80', 'x'.repeat(10_000)])
      expect(trusted.has(garbage), garbage).toBe(false)
  })

  it('* trusts every peer, Unix-socket peers included', () => {
    const trusted = trustedAddresses(['*'])
    expect(trusted.has('203.0.113.9')).toBe(true)
    expect(trusted.has('2001:db8::1')).toBe(true)
    expect(trusted.has(undefined)).toBe(true)
  })

  it('an empty list trusts nobody', () => {
    const trusted = trustedAddresses([])
    expect(trusted.has('127.0.0.1')).toBe(false)
    expect(trusted.has(undefined)).toBe(false)
  })

  it('trims whitespace around entries (a comma-separated option)', () => {
    expect(trustedAddresses([' 127.0.0.1 ', '\t::1']).has('::1')).toBe(true)
  })
})

describe('a Unix-socket peer (no address)', () => {
  it('is trusted where loopback is, by IPv4 or IPv6', () => {
    expect(trustedAddresses(['127.0.0.1']).has(undefined)).toBe(true)
    expect(trustedAddresses(['::1']).has(undefined)).toBe(true)
    expect(trustedAddresses(['127.0.0.0/8']).has(undefined)).toBe(true)
  })

  it('is not trusted where only other addresses are', () => {
    expect(trustedAddresses(['10.0.0.0/8', 'fd00::/8']).has(undefined)).toBe(false)
  })

  it('is trusted with "unix" alone, which trusts no TCP peer', () => {
    const trusted = trustedAddresses(['unix'])
    expect(trusted.has(undefined)).toBe(true)
    expect(trusted.has('127.0.0.1')).toBe(false)
  })
})

describe('validation', () => {
  it('accepts addresses, networks, * and unix', () => {
    for (const entry of [
      '127.0.0.1',
      '::1',
      '10.0.0.0/8',
      'fd00::/8',
      '0.0.0.0/0',
      '::/0',
      '*',
      'unix',
      '::ffff:10.0.0.0/104',
    ])
      expect(trustedEntryProblem(entry), entry).toBeUndefined()
  })

  it.each([
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a prefix length that is not a whole number from 0 to 32/],
    ['fd00::/129', /from 0 to 128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8x', /prefix length/],
    ['::ffff:10.0.0.0/8', /from 96 to 128/],
    ['localhost', /"localhost" is a name; names are not resolved/],
    ['lb.internal', /names are not resolved/],
    ['10.0.0.256', /"10\.0\.0\.256" is not an IPv4 or IPv6 address, a network in CIDR notation/],
    ['10.0.0.1-10.0.0.9', /not an IPv4 or IPv6 address/],
    ['fe80::1%eth0', /has a zone/],
    ['', /empty/],
  ])('refuses %j', (entry, message) => {
    expect(trustedEntryProblem(entry)).toMatch(message)
  })

  it('trustedAddresses throws a coded error for a bad entry (when the caller did not validate first)', () => {
    expect(() => trustedAddresses(['127.0.0.1', '10.0.0.0/40'])).toThrow(InvalidOptionError)
    expect(() => trustedAddresses(['127.0.0.1', '10.0.0.0/40'])).toThrow(
      /trusted addresses: "10\.0\.0\.0\/40"/,
    )
  })
})
