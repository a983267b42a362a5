/** Writes PLY files for the tests and the bench: any format, elements, types and list properties. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export type Format = 'ascii' | 'binary_little_endian' | 'binary_big_endian';

export interface GenProp {
  name: string;
  /** A PLY type name as written in the header (float, uchar, int16, ...). */
  type: string;
  /** Set for a list property: its count type and the length of record `rec`'s list. */
  list?: { countType: string; length: (rec: number) => number };
  value: (rec: number, item: number) => number;
}

export interface GenElement {
  name: string;
  count: number;
  props: GenProp[];
}

const SIZE: Record<string, number> = {
  char: 1, uchar: 1, int8: 1, uint8: 1, short: 2, ushort: 2, int16: 2, uint16: 2,
  int: 4, uint: 4, int32: 4, uint32: 4, float: 4, float32: 4, double: 8, float64: 8,
};

function write(dv: DataView, off: number, type: string, v: number, le: boolean): void {
  switch (type) {
    case 'char': case 'int8': return dv.setInt8(off, v);
    case 'uchar': case 'uint8': return dv.setUint8(off, v);
    case 'short': case 'int16': return dv.setInt16(off, v, le);
    case 'ushort': case 'uint16': return dv.setUint16(off, v, le);
    case 'int': case 'int32': return dv.setInt32(off, v, le);
    case 'uint': case 'uint32': return dv.setUint32(off, v, le);
    case 'float': case 'float32': return dv.setFloat32(off, v, le);
    default: return dv.setFloat64(off, v, le);
  }
}

export function plyHeader(format: Format, elements: GenElement[], comments: string[] = []): string {
  const lines = ['ply', `format ${format} 1.0`, ...comments.map((c) => `comment ${c}`)];
  for (const e of elements) {
    lines.push(`element ${e.name} ${e.count}`);
    for (const p of e.props) {
      lines.push(p.list ? `property list ${p.list.countType} ${p.type} ${p.name}` : `property ${p.type} ${p.name}`);
    }
  }
  lines.push('end_header', '');
  return lines.join('\n');
}

export function makePly(format: Format, elements: GenElement[], comments: string[] = []): Buffer {
  const head = Buffer.from(plyHeader(format, elements, comments), 'latin1');
  if (format === 'ascii') {
    const rows: string[] = [];
    for (const e of elements) {
      for (let r = 0; r < e.count; r++) {
        const words: string[] = [];
        for (const p of e.props) {
          const n = p.list ? p.list.length(r) : 1;
          if (p.list) words.push(String(n));
          for (let i = 0; i < n; i++) words.push(String(p.value(r, i)));
        }
        rows.push(words.join(' '));
      }
    }
    return Buffer.concat([head, Buffer.from(rows.join('\n') + '\n', 'latin1')]);
  }
  let size = 0;
  for (const e of elements) {
    for (let r = 0; r < e.count; r++) {
      for (const p of e.props) size += p.list ? SIZE[p.list.countType]! + p.list.length(r) * SIZE[p.type]! : SIZE[p.type]!;
    }
  }
  const body = Buffer.alloc(size);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const le = format === 'binary_little_endian';
  let off = 0;
  for (const e of elements) {
    for (let r = 0; r < e.count; r++) {
      for (const p of e.props) {
        const n = p.list ? p.list.length(r) : 1;
        if (p.list) {
          write(dv, off, p.list.countType, n, le);
          off += SIZE[p.list.countType]!;
        }
        for (let i = 0; i < n; i++, off += SIZE[p.type]!) write(dv, off, p.type, p.value(r, i), le);
      }
    }
  }
  return Buffer.concat([head, body]);
}

/** Deterministic value in [0, 1) for (record, channel): an integer hash, so no platform maths. */
export function unit(rec: number, channel: number): number {
  let h = Math.imul(rec + 1, 0x9e3779b1) ^ Math.imul(channel + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

export const TRELLIS_PROPS = [
  'x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity',
  'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3',
];

/** Ranges resembling TRELLIS output: centres in a unit cube, logit opacity, log scales. */
export function trellisValue(name: string, rec: number, channel: number): number {
  const u = unit(rec, channel);
  if (name === 'x' || name === 'y' || name === 'z') return u - 0.5;
  if (name.startsWith('n')) return 0;
  if (name.startsWith('f_dc')) return (u - 0.5) * 3.4;
  if (name === 'opacity') return u * 14 - 6;
  if (name.startsWith('scale')) return -10 + u * 7;
  return u * 2 - 1;
}

/** The 17-property TRELLIS vertex element, every property float (or `type`). */
export function trellisVertex(count: number, type = 'float'): GenElement {
  return {
    name: 'vertex',
    count,
    props: TRELLIS_PROPS.map((name, ch) => ({ name, type, value: (r: number) => trellisValue(name, r, ch) })),
  };
}

/** A `face` element with a variable-length vertex_indices list (3 or 4 items) and a uchar flag. */
export function faceElement(count: number, countType = 'uchar', itemType = 'int'): GenElement {
  return {
    name: 'face',
    count,
    props: [
      { name: 'vertex_indices', type: itemType, list: { countType, length: (r) => 3 + (r % 2) }, value: (r, i) => r + i },
      { name: 'flags', type: 'uchar', value: (r) => r % 256 },
    ],
  };
}

export const NAIVE_READER = path.join(__dirname, 'naive_ply.py');

/** The expected summaries from the independent Python reader, one per file. */
export function naiveSummaries(files: string[]): Array<Record<string, unknown> & { gaussian_stats: Record<string, number> }> {
  return JSON.parse(execFileSync('python3', [NAIVE_READER, ...files], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}
