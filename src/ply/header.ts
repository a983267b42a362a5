/** PLY header: the format line, the elements in file order and their properties. */
import { CollectorError } from '../common/errors';

export type PlyFormat = 'ascii' | 'binary_little_endian' | 'binary_big_endian';
export type ScalarType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export interface PlyProperty {
  name: string;
  type: ScalarType;
  /** Set for `property list <countType> <type> <name>`: the type of the leading item count. */
  countType?: ScalarType;
}

export interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

export interface PlyHeader {
  format: PlyFormat;
  elements: PlyElement[];
  /** Bytes from the start of the file to the first body byte (after `end_header` and its newline). */
  headerBytes: number;
}

const TYPES: Record<string, ScalarType> = {
  char: 'int8',
  int8: 'int8',
  uchar: 'uint8',
  uint8: 'uint8',
  short: 'int16',
  int16: 'int16',
  ushort: 'uint16',
  uint16: 'uint16',
  int: 'int32',
  int32: 'int32',
  uint: 'uint32',
  uint32: 'uint32',
  float: 'float32',
  float32: 'float32',
  double: 'float64',
  float64: 'float64',
};

export const TYPE_SIZE: Record<ScalarType, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

/** Headers of real files are a few KB (original 3DGS with f_rest_*: ~2 KB); past this it is not a PLY. */
export const MAX_HEADER_BYTES = 1 << 20;

export function badPly(message: string, path: string | null = null): CollectorError {
  return new CollectorError('BAD_PLY', `bad PLY: ${message}`, path, null);
}

/**
 * Parses the header at the start of `buf[0, end)`. Returns null when `end_header` has not been seen
 * yet and more bytes may come (`eof` false); throws BAD_PLY for anything malformed.
 */
export function parsePlyHeader(buf: Buffer, end: number, eof: boolean, path: string | null = null): PlyHeader | null {
  // Check the magic first, so a random file gets "not a PLY" instead of "missing end_header".
  const magic = buf.toString('latin1', 0, Math.min(end, 4));
  if (!(magic === 'ply\n' || magic === 'ply\r' || (end < 4 && 'ply\n'.startsWith(magic) && !eof))) {
    throw badPly("not a PLY file (it does not start with 'ply')", path);
  }
  const stop = findEndHeader(buf.subarray(0, end));
  if (stop < 0) {
    if (eof || end >= MAX_HEADER_BYTES) throw badPly("missing 'end_header' line", path);
    return null;
  }
  const lines = buf.toString('latin1', 0, stop).split('\n');
  let format: PlyFormat | null = null;
  const elements: PlyElement[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const words = line.trim().split(/\s+/);
    const at = `header line ${i + 1} '${line.slice(0, 80)}'`;
    switch (words[0]) {
      case 'format': {
        if (words[1] !== 'ascii' && words[1] !== 'binary_little_endian' && words[1] !== 'binary_big_endian') {
          throw badPly(`unknown format in ${at}`, path);
        }
        if (words[2] !== '1.0') throw badPly(`unsupported version in ${at}`, path);
        format = words[1];
        break;
      }
      case 'element': {
        const count = Number(words[2]);
        if (words.length !== 3 || !/^\d+$/.test(words[2]!) || !Number.isSafeInteger(count)) {
          throw badPly(`bad element count in ${at}`, path);
        }
        elements.push({ name: words[1]!, count, properties: [] });
        break;
      }
      case 'property': {
        const el = elements[elements.length - 1];
        if (!el) throw badPly(`property before any element in ${at}`, path);
        const list = words[1] === 'list';
        const typeWords = list ? [words[2], words[3]] : [words[1]];
        const types = typeWords.map((w) => (w === undefined ? undefined : TYPES[w]));
        const name = words[list ? 4 : 2];
        if (types.some((t) => t === undefined)) throw badPly(`unknown property type in ${at}`, path);
        if (list && types[0]!.startsWith('float')) throw badPly(`list count must be an integer type in ${at}`, path);
        if (name === undefined || words.length !== (list ? 5 : 3)) throw badPly(`malformed ${at}`, path);
        if (el.properties.some((p) => p.name === name)) throw badPly(`duplicate property in ${at}`, path);
        el.properties.push(list ? { name, countType: types[0]!, type: types[1]! } : { name, type: types[0]! });
        break;
      }
      case 'comment':
      case 'obj_info':
      case '':
        break;
      case 'end_header': // always the last line: findEndHeader stops there
        break;
      default:
        throw badPly(`unknown keyword in ${at}`, path);
    }
  }
  if (format === null) throw badPly("no 'format' line in the header", path);
  const vertices = elements.filter((e) => e.name === 'vertex');
  if (vertices.length !== 1) throw badPly(`expected one 'vertex' element, found ${vertices.length}`, path);
  for (const el of elements) {
    if (el.properties.length === 0 && el.count > 0) throw badPly(`element '${el.name}' has no properties`, path);
  }
  return { format, elements, headerBytes: stop + 1 };
}

/** Index of the newline that ends the first `end_header` line, or -1 when it is not (fully) there. */
function findEndHeader(buf: Buffer): number {
  for (let from = 0; ; ) {
    const m = buf.indexOf('\nend_header', from, 'latin1');
    if (m < 0) return -1;
    const after = m + 11;
    if (buf[after] === 10) return after;
    if (buf[after] === 13 && buf[after + 1] === 10) return after + 1;
    if (after >= buf.length || (buf[after] === 13 && after + 1 >= buf.length)) return -1; // cut: wait for more
    from = m + 1;
  }
}
