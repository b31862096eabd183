import { isIP } from 'node:net';

/**
 * A tiny MaxMind DB file writer, for tests only: no GeoIP database is downloaded or shipped. It
 * follows the MaxMind DB File Format Specification 2.0 (https://maxmind.github.io/MaxMind-DB/):
 * an IPv6 binary search tree with 32-bit records (IPv4 networks under ::/96, where readers look
 * them up), 16 zero bytes, the data section, then `\xAB\xCD\xEFMaxMind.com` and the metadata map.
 * Networks must not overlap; the data are written once per network, without pointers.
 */

/** A value of the MaxMind DB data format; numbers are uint32 unless wrapped. */
export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue } | Typed;
class Typed {
  constructor(
    readonly type: 'uint16' | 'uint64',
    readonly value: number,
  ) {}
}
const uint16 = (n: number) => new Typed('uint16', n);
const uint64 = (n: number) => new Typed('uint64', n);

const TYPE = { string: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;

/** The control byte(s): type (extended types in a second byte) and payload size (spec "Data Section Separator" / "Output Data Section"). */
function control(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) {
    sizeBits = 29;
    extra.push(size - 29);
  } else if (size < 285 + 65_536) {
    sizeBits = 30;
    const n = size - 285;
    extra.push(n >> 8, n & 0xff);
  } else {
    sizeBits = 31;
    const n = size - 65_821;
    extra.push((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  }
  if (type <= 7) bytes.push((type << 5) | sizeBits);
  else bytes.push(sizeBits, type - 7);
  return Buffer.from([...bytes, ...extra]);
}

/** An unsigned integer in as few big-endian bytes as it needs (0 → none). */
function unsigned(type: number, n: number): Buffer {
  const bytes: number[] = [];
  for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

export function encodeValue(v: MmdbValue): Buffer {
  if (v instanceof Typed) return unsigned(TYPE[v.type], v.value);
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    return Buffer.concat([control(TYPE.string, bytes.length), bytes]);
  }
  if (typeof v === 'boolean') return control(TYPE.boolean, v ? 1 : 0);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) return unsigned(TYPE.uint32, v);
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(v);
    return Buffer.concat([control(TYPE.double, 8), bytes]);
  }
  if (Array.isArray(v)) return Buffer.concat([control(TYPE.array, v.length), ...v.map(encodeValue)]);
  const entries = Object.entries(v);
  return Buffer.concat([control(TYPE.map, entries.length), ...entries.flatMap(([k, x]) => [encodeValue(k), encodeValue(x)])]);
}

/** 16 bytes of an IPv6 address, or of an IPv4 one as ::a.b.c.d (its place in an IPv6 tree). */
function addressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from([...Array<number>(12).fill(0), ...address.split('.').map(Number)]);
  if (isIP(address) !== 6) throw new Error(`not an IP address: ${address}`);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

/** A network's bits in the IPv6 tree: `10.1.0.0/16` is 96 zero bits then 16 bits. */
function networkBits(cidr: string): number[] {
  const [address, length] = cidr.split('/');
  const v4 = isIP(address) === 4;
  const prefix = Number(length ?? (v4 ? 32 : 128)) + (v4 ? 96 : 0);
  const bytes = addressBytes(address);
  return Array.from({ length: prefix }, (_, i) => (bytes[i >> 3] >> (7 - (i & 7))) & 1);
}

type Record = { node: number } | { data: number } | null;

export interface MmdbNetwork {
  /** An address or a CIDR range, IPv4 or IPv6. */
  network: string;
  data: { [key: string]: MmdbValue };
}

/** A MaxMind DB file (IPv6 tree, 32-bit records) answering `data` for each network and nothing elsewhere. */
export function buildMmdb(networks: MmdbNetwork[], databaseType = 'Test-City'): Buffer {
  const nodes: [Record, Record][] = [[null, null]];
  const data: Buffer[] = [];
  let dataSize = 0;
  for (const n of networks) {
    const bits = networkBits(n.network);
    const encoded = encodeValue(n.data);
    const leaf: Record = { data: dataSize };
    data.push(encoded);
    dataSize += encoded.length;
    let node = 0;
    bits.forEach((bit, i) => {
      if (i === bits.length - 1) {
        nodes[node][bit] = leaf;
        return;
      }
      const next = nodes[node][bit];
      if (next && 'data' in next) throw new Error(`${n.network} overlaps another network`);
      if (next) node = next.node;
      else {
        nodes.push([null, null]);
        nodes[node][bit] = { node: nodes.length - 1 };
        node = nodes.length - 1;
      }
    });
  }
  const nodeCount = nodes.length;
  const record = (r: Record) => (r === null ? nodeCount : 'node' in r ? r.node : nodeCount + 16 + r.data);
  const tree = Buffer.alloc(nodeCount * 8);
  nodes.forEach(([left, right], i) => {
    tree.writeUInt32BE(record(left), i * 8);
    tree.writeUInt32BE(record(right), i * 8 + 4);
  });
  const metadata = encodeValue({
    node_count: nodeCount,
    record_size: uint16(32),
    ip_version: uint16(6),
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(1_764_000_000),
    description: { en: 'Test database built by test/helpers/mmdb-writer.ts' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), metadata]);
}

/** GeoLite2-City's shape of a record: what the server reads (country.iso_code, city.names.en) and a little more. */
export function cityRecord(country: string, city?: string): { [key: string]: MmdbValue } {
  return {
    ...(city ? { city: { geoname_id: 2_988_507, names: { en: city, fr: city } } } : {}),
    continent: { code: 'EU', names: { en: 'Europe' } },
    country: { iso_code: country, names: { en: country } },
    location: { latitude: 48.8566, longitude: 2.3522, accuracy_radius: 20 },
  };
}
