/**
 * Walks the PLY body element by element, in header order, feeding the vertex element's measured
 * properties to a GaussianAccumulator. Bytes arrive in chunks: `consume` takes what whole records it
 * can and returns where it stopped, and the caller keeps the rest for the next chunk.
 */
import { badPly, TYPE_SIZE, type PlyElement, type PlyHeader, type ScalarType } from './header';
import { GaussianAccumulator, MEASURED } from './stats';

// Numeric type codes so the hot loop switches on small ints.
const CODE: Record<ScalarType, number> = { int8: 0, uint8: 1, int16: 2, uint16: 3, int32: 4, uint32: 5, float32: 6, float64: 7 };

function readBinary(dv: DataView, off: number, code: number, le: boolean): number {
  switch (code) {
    case 6:
      return dv.getFloat32(off, le);
    case 7:
      return dv.getFloat64(off, le);
    case 0:
      return dv.getInt8(off);
    case 1:
      return dv.getUint8(off);
    case 2:
      return dv.getInt16(off, le);
    case 3:
      return dv.getUint16(off, le);
    case 4:
      return dv.getInt32(off, le);
    default:
      return dv.getUint32(off, le);
  }
}

const INT_TOKEN = /^[+-]?\d+$/;
const FLOAT_TOKEN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NONFINITE_TOKEN: Record<string, number> = { nan: NaN, '-nan': NaN, '+nan': NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '-infinity': -Infinity };

/** One property as the walker sees it: its measured slot (or -1) and, for lists, the count type. */
interface Prop {
  code: number;
  size: number;
  countCode: number; // -1 for a scalar property
  countSize: number;
  slot: number;
  name: string;
}

interface Element {
  name: string;
  count: number;
  props: Prop[];
  /** Bytes per record for binary elements without list properties; -1 otherwise. */
  stride: number;
  isVertex: boolean;
}

export class PlyBodyParser {
  private readonly elements: Element[];
  private readonly ascii: boolean;
  private readonly le: boolean;
  private el = 0;
  private rec = 0;
  // For the fixed-stride vertex fast path: byte offset, type code and slot of each measured property.
  private readonly fastOff: Int32Array;
  private readonly fastCode: Int32Array;
  private readonly fastSlot: Int32Array;
  private readonly allFloat32: boolean;
  // The ASCII tokenizer's current token, as byte offsets (no per-token objects).
  private tokStart = 0;
  private tokEnd = 0;
  readonly acc: GaussianAccumulator;

  constructor(
    header: PlyHeader,
    private readonly path: string | null,
  ) {
    this.ascii = header.format === 'ascii';
    this.le = header.format === 'binary_little_endian';
    this.elements = header.elements.map((e) => this.prepare(e));
    const vertex = this.elements.find((e) => e.isVertex)!;
    const present = MEASURED.map((name) => vertex.props.some((p) => p.name === name && p.countCode < 0));
    this.acc = new GaussianAccumulator(present);
    const off: number[] = [];
    const code: number[] = [];
    const slot: number[] = [];
    let o = 0;
    for (const p of vertex.props) {
      if (p.slot >= 0) {
        off.push(o);
        code.push(p.code);
        slot.push(p.slot);
      }
      o += p.size;
    }
    this.fastOff = Int32Array.from(off);
    this.fastCode = Int32Array.from(code);
    this.fastSlot = Int32Array.from(slot);
    this.allFloat32 = code.every((c) => c === CODE.float32);
  }

  private prepare(e: PlyElement): Element {
    const isVertex = e.name === 'vertex';
    const props = e.properties.map((p): Prop => {
      const slot = isVertex && !p.countType ? MEASURED.indexOf(p.name as (typeof MEASURED)[number]) : -1;
      return {
        name: p.name,
        code: CODE[p.type],
        size: TYPE_SIZE[p.type],
        countCode: p.countType ? CODE[p.countType] : -1,
        countSize: p.countType ? TYPE_SIZE[p.countType] : 0,
        slot,
      };
    });
    const fixed = !this.ascii && props.every((p) => p.countCode < 0);
    return { name: e.name, count: e.count, props, isVertex, stride: fixed ? props.reduce((s, p) => s + p.size, 0) : -1 };
  }

  /**
   * Reads whole records from buf[pos, end) and returns the offset after the last one read. With `eof`
   * set these are the file's last bytes: a record cut short is a truncated body.
   */
  consume(buf: Buffer, pos: number, end: number, eof: boolean): number {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (this.el < this.elements.length) {
      const e = this.elements[this.el]!;
      if (e.stride >= 0) {
        const n = Math.min(e.count - this.rec, Math.floor((end - pos) / (e.stride || 1)));
        if (e.isVertex) this.vertexRun(dv, pos, n, e.stride);
        pos += n * e.stride;
        this.rec += n;
      } else {
        while (this.rec < e.count) {
          const next = this.ascii ? this.asciiRecord(buf, pos, end, eof, e) : this.binaryRecord(dv, pos, end, e);
          if (next < 0) break;
          pos = next;
          this.rec++;
        }
      }
      if (this.rec < e.count) {
        if (eof) throw this.truncated(e);
        return pos;
      }
      this.el++;
      this.rec = 0;
    }
    // All declared records are read: only (ASCII) whitespace may follow.
    let rest = pos;
    if (this.ascii) while (rest < end && isSpace(buf[rest]!)) rest++;
    if (rest < end) {
      throw badPly(
        `data after the last declared element (the header's counts are too small for the body)`,
        this.path,
      );
    }
    return end;
  }

  /** Call after the last chunk: throws when the body ended before every declared record. */
  finish(): void {
    const e = this.elements[this.el];
    if (e) throw this.truncated(e);
  }

  private truncated(e: Element): Error {
    const what = e.isVertex ? 'Gaussian' : `'${e.name}' record`;
    return badPly(`truncated body: the file ends in ${what} ${this.rec + 1} of ${e.count}`, this.path);
  }

  /** The hot loop: n vertex records of a fixed layout, reading only the measured properties. */
  private vertexRun(dv: DataView, pos: number, n: number, stride: number): void {
    const { fastOff, fastCode, fastSlot, le, acc } = this;
    const values = acc.values;
    const k = fastOff.length;
    if (this.allFloat32) {
      // The usual layout (every property float): a constant type and byte order let V8 inline the reads.
      for (let r = 0; r < n; r++, pos += stride) {
        if (le) for (let i = 0; i < k; i++) values[fastSlot[i]!] = dv.getFloat32(pos + fastOff[i]!, true);
        else for (let i = 0; i < k; i++) values[fastSlot[i]!] = dv.getFloat32(pos + fastOff[i]!, false);
        acc.add();
      }
      return;
    }
    for (let r = 0; r < n; r++, pos += stride) {
      for (let i = 0; i < k; i++) values[fastSlot[i]!] = readBinary(dv, pos + fastOff[i]!, fastCode[i]!, le);
      acc.add();
    }
  }

  /** One binary record with list properties; -1 when it does not fit in [pos, end). */
  private binaryRecord(dv: DataView, pos: number, end: number, e: Element): number {
    for (const p of e.props) {
      let items = 1;
      if (p.countCode >= 0) {
        if (pos + p.countSize > end) return -1;
        items = readBinary(dv, pos, p.countCode, this.le);
        if (items < 0) throw badPly(`negative list length in '${e.name}' record ${this.rec + 1}`, this.path);
        pos += p.countSize;
      }
      if (pos + items * p.size > end) return -1;
      if (p.slot >= 0) this.acc.values[p.slot] = readBinary(dv, pos, p.code, this.le);
      pos += items * p.size;
    }
    if (e.isVertex) this.acc.add();
    return pos;
  }

  /** One ASCII record (whitespace-separated tokens); -1 when its last token may still be cut. */
  private asciiRecord(buf: Buffer, pos: number, end: number, eof: boolean, e: Element): number {
    for (const p of e.props) {
      let items = 1;
      if (p.countCode >= 0) {
        if ((pos = this.token(buf, pos, end, eof)) < 0) return -1;
        items = this.asciiValue(buf, p.countCode, p.name);
        if (items < 0) throw badPly(`negative list length in '${e.name}' record ${this.rec + 1}`, this.path);
      }
      for (let i = 0; i < items; i++) {
        if ((pos = this.token(buf, pos, end, eof)) < 0) return -1;
        // Values are checked even when skipped, so a malformed body is reported wherever it is.
        const v = this.asciiValue(buf, p.code, p.name);
        if (p.slot >= 0) this.acc.values[p.slot] = v;
      }
    }
    if (e.isVertex) this.acc.add();
    return pos;
  }

  /** Finds the next token from pos; returns the offset after it, or -1 when more bytes are needed. */
  private token(buf: Buffer, pos: number, end: number, eof: boolean): number {
    while (pos < end && isSpace(buf[pos]!)) pos++;
    if (pos >= end) return -1;
    const start = pos;
    while (pos < end && !isSpace(buf[pos]!)) pos++;
    if (pos >= end && !eof) return -1;
    this.tokStart = start;
    this.tokEnd = pos;
    return pos;
  }

  private asciiValue(buf: Buffer, code: number, name: string): number {
    const t = buf.toString('latin1', this.tokStart, this.tokEnd);
    const isFloat = code >= 6;
    if (isFloat ? FLOAT_TOKEN.test(t) : INT_TOKEN.test(t)) return Number(t);
    const special = isFloat ? NONFINITE_TOKEN[t.toLowerCase()] : undefined;
    if (special !== undefined) return special;
    throw badPly(`bad ${isFloat ? 'number' : 'integer'} '${t.slice(0, 40)}' for property '${name}' (record ${this.rec + 1})`, this.path);
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
