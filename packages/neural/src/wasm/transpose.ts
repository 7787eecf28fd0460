import { type Code, f32, forLoop, func, i32, local, select, wasmModule } from '@anomalia/wasm-kit';
import { bytesOf, load, shuffle32, store, TFJS_HEAP } from './heap';

/**
 * transpose(src, dst, rows, cols): dst[j, i] = src[i, j]. 4×4 blocks transposed in registers,
 * visited 16 columns at a time down the rows, so the written lines stay in L1 (a plain strided
 * scatter of a power-of-two-row matrix thrashes a few cache sets); scalar loops for the edges.
 */
export const transpose = func(
  'transpose',
  ['src:i32', 'dst:i32', 'rows:i32', 'cols:i32'],
  [],
  (fn, { src, dst, rows, cols }) => {
    // j and jt are byte offsets along src's rows; rowBytes = 4·cols, rows4Bytes = 4·rows (dst's row).
    const [i, j, jt, jEnd, rowBytes, rows4Bytes, rows4, cols4Bytes, s, d] = fn.locals(10, 'i32');
    const [a, b, c, e, t0, t1, t2, t3] = fn.locals(8, 'v128');
    const rowLoad = (k: number): Code => [
      local.get(s),
      k ? [local.get(rowBytes), i32.const(k), i32.mul, i32.add] : [],
      load,
    ];
    const put = (k: number, value: Code): Code => [
      local.get(d),
      k ? [local.get(rows4Bytes), i32.const(k), i32.mul, i32.add] : [],
      value,
      store,
    ];
    const block4x4 = [
      // s = src + i·rowBytes + j; d = dst + j·rows + 4·i
      [
        local.get(src),
        local.get(i),
        local.get(rowBytes),
        i32.mul,
        i32.add,
        local.get(j),
        i32.add,
        local.set(s),
      ],
      [local.get(dst), local.get(j), local.get(rows), i32.mul, i32.add, bytesOf(i), i32.add, local.set(d)],
      [
        rowLoad(0),
        local.set(a),
        rowLoad(1),
        local.set(b),
        rowLoad(2),
        local.set(c),
        rowLoad(3),
        local.set(e),
      ],
      [local.get(a), local.get(b), shuffle32([0, 4, 1, 5]), local.set(t0)],
      [local.get(a), local.get(b), shuffle32([2, 6, 3, 7]), local.set(t1)],
      [local.get(c), local.get(e), shuffle32([0, 4, 1, 5]), local.set(t2)],
      [local.get(c), local.get(e), shuffle32([2, 6, 3, 7]), local.set(t3)],
      put(0, [local.get(t0), local.get(t2), shuffle32([0, 1, 4, 5])]),
      put(1, [local.get(t0), local.get(t2), shuffle32([2, 3, 6, 7])]),
      put(2, [local.get(t1), local.get(t3), shuffle32([0, 1, 4, 5])]),
      put(3, [local.get(t1), local.get(t3), shuffle32([2, 3, 6, 7])]),
    ];
    const scalar = [
      [local.get(dst), local.get(j), local.get(rows), i32.mul, i32.add, bytesOf(i), i32.add],
      [local.get(src), local.get(i), local.get(rowBytes), i32.mul, i32.add, local.get(j), i32.add],
      [f32.load(), f32.store()],
    ];
    return [
      [bytesOf(cols), local.set(rowBytes)],
      [bytesOf(rows), local.set(rows4Bytes)],
      [local.get(rows), i32.const(-4), i32.and, local.set(rows4)],
      [local.get(cols), i32.const(-4), i32.and, i32.const(2), i32.shl, local.set(cols4Bytes)],
      forLoop(jt, i32.const(0), cols4Bytes, 64, [
        // jEnd = min(jt + 64, cols4Bytes)
        [local.get(jt), i32.const(64), i32.add, local.get(cols4Bytes)],
        [local.get(jt), i32.const(64), i32.add, local.get(cols4Bytes), i32.lt_u, select, local.set(jEnd)],
        forLoop(i, i32.const(0), rows4, 4, forLoop(j, local.get(jt), jEnd, 16, block4x4)),
      ]),
      forLoop(i, local.get(rows4), rows, 1, forLoop(j, i32.const(0), rowBytes, 4, scalar)),
      forLoop(i, i32.const(0), rows4, 1, forLoop(j, local.get(cols4Bytes), rowBytes, 4, scalar)),
    ];
  },
);

export const transposeModule = wasmModule({
  name: '@anomalia/neural transpose',
  memory: TFJS_HEAP,
  functions: [transpose],
});
