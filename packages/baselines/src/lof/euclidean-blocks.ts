import { copyRows, indexedDots, rowSquaredNorms } from '../shared/block-dots';
import { acquireKernels, releaseKernels, simdAvailable } from '../shared/simd-dots';
import type { BallTree } from './ball-tree';

/**
 * The euclidean arithmetic of the block search: distances from rows to ball centres, and the
 * screening of a block of row pairs with ‖x‖² + ‖y‖² − 2x·y. Both are lower bounds (a bound on
 * the rounding error of that formula, in proportion to ‖x‖² + ‖y‖², is subtracted), so nothing
 * that could be a neighbour is ever screened out; exact distances are computed afterwards for
 * the hits only. Uses WebAssembly SIMD when available (rows copied once into its memory), a
 * tiled JavaScript loop otherwise.
 */
export class EuclideanBlocks {
  /** Rows (tree positions) of the two sides of the current block, filled by the caller. */
  readonly qRows: Int32Array;
  readonly rRows: Int32Array;
  private readonly shrink: number;
  private readonly qSq: Float64Array;
  private readonly rSq: Float64Array;
  private readonly qCentreSq: Float64Array;
  private readonly rCentreSq: Float64Array;
  private readonly impl: SimdImpl | JsImpl;

  constructor(Q: BallTree, R: BallTree, qCapacity: number, rCapacity: number) {
    const d = R.cols;
    // ‖x‖² + ‖y‖² − 2x·y in float64 is within (d + 4)·ε·(‖x‖² + ‖y‖²) of the exact value.
    this.shrink = 1 - (d + 4) * 2.3e-16;
    this.qRows = new Int32Array(qCapacity);
    this.rRows = new Int32Array(rCapacity);
    this.rSq = rowSquaredNorms(R.data, R.rows, d);
    this.qSq = Q.data === R.data ? this.rSq : rowSquaredNorms(Q.data, Q.rows, d);
    this.rCentreSq = rowSquaredNorms(R.center, R.radius.length, d);
    this.qCentreSq = Q.data === R.data ? this.rCentreSq : rowSquaredNorms(Q.center, Q.radius.length, d);
    this.impl =
      simdAvailable() && d > 0
        ? new SimdImpl(Q, R, qCapacity, rCapacity)
        : new JsImpl(Q, R, qCapacity, rCapacity, this.qSq, this.rSq, this.shrink);
  }

  /**
   * Lower bounds of the distances from rows[from..from + n) of one side ("q": rows of Q,
   * centre of R's node; "r": the reverse) to the centre of node `centre` of the other tree.
   */
  centreDistances(
    side: 'q' | 'r',
    rows: Int32Array,
    from: number,
    n: number,
    centre: number,
    out: Float64Array,
  ) {
    const dots = this.impl.centreDots(side, rows, from, n, centre);
    const rowSq = side === 'q' ? this.qSq : this.rSq;
    const cSq = (side === 'q' ? this.rCentreSq : this.qCentreSq)[centre]!;
    const { shrink } = this;
    for (let i = 0; i < n; i++) {
      const lower = (rowSq[rows[from + i]!]! + cSq) * shrink - 2 * dots[i * 2]!;
      out[i] = lower > 0 ? Math.sqrt(lower) : 0;
    }
  }

  /**
   * Candidate pairs of the block qRows[0..m) × rRows[0..n): those whose squared distance may be
   * at most qLimit[ia] or rLimit[ib]. Returns their number; `hits()` holds them as ia << 16 | ib.
   */
  screen(m: number, n: number, qLimit: Float64Array, rLimit: Float64Array): number {
    return this.impl.screen(this.qRows, m, qLimit, this.rRows, n, rLimit);
  }

  /** Gives the SIMD memory back for reuse; the object must not be used afterwards. */
  release(): void {
    if (this.impl instanceof SimdImpl) this.impl.release();
  }

  hits(): Int32Array {
    return this.impl.hits;
  }
}

/**
 * Screening reads float32 copies of the rows, centred on the fitted rows' mean: four lanes per
 * SIMD operation instead of two, and small norms, which keep float32's rounding margin (in
 * proportion to the norms) small next to the distances. Centre distances use the float64 rows.
 */
class SimdImpl {
  readonly hits: Int32Array;
  private readonly k = acquireKernels();
  private readonly rowBytes: number;
  private readonly rowBytes32: number;
  private readonly qBase32: number;
  private readonly rBase32: number;
  /** Squared norms of the centred rows, and the margin for float32 rounding. */
  private readonly qSqC: Float64Array;
  private readonly rSqC: Float64Array;
  private readonly shrink32: number;
  private readonly qBase: number;
  private readonly rBase: number;
  private readonly qCentres: number;
  private readonly rCentres: number;
  private readonly aList: Int32Array;
  private readonly aSq: Float64Array;
  private readonly aLim: Float64Array;
  private readonly bList: Int32Array;
  private readonly bSq: Float64Array;
  private readonly bLim: Float64Array;
  private readonly cList: Int32Array;
  private readonly cOut: Float64Array;

  constructor(Q: BallTree, R: BallTree, qCapacity: number, rCapacity: number) {
    const d = R.cols;
    const stride = d + (d % 2);
    this.rowBytes = stride * 8;
    const shared = Q.data === R.data;
    // Either side's rows may be listed in `aList` (centre distances), so size it for the larger.
    const aCap = Math.ceil(Math.max(qCapacity, rCapacity) / 4) * 4;
    const bCap = Math.ceil(rCapacity / 2) * 2;
    const stride32 = Math.ceil(d / 4) * 4;
    this.rowBytes32 = stride32 * 4;
    // float32 products and four partial sums: a relative error of at most (d/4 + 3)·2⁻²⁴ on
    // Σ|x_k·y_k| ≤ (‖x‖² + ‖y‖²)/2; doubled for safety.
    this.shrink32 = 1 - (d / 2 + 8) * 2 ** -24;
    const k = this.k;
    k.layout({
      qRows: Q.rows * this.rowBytes,
      rRows: shared ? 0 : R.rows * this.rowBytes,
      qRows32: Q.rows * this.rowBytes32,
      rRows32: shared ? 0 : R.rows * this.rowBytes32,
      qCentres: Q.radius.length * this.rowBytes,
      rCentres: shared ? 0 : R.radius.length * this.rowBytes,
      aList: aCap * 4,
      aSq: aCap * 8,
      aLim: aCap * 8,
      bList: bCap * 4,
      bSq: bCap * 8,
      bLim: bCap * 8,
      cList: 8,
      cOut: aCap * 2 * 8,
      hits: aCap * bCap * 4,
    });
    const copy = (src: Float64Array, rows: number, region: string) =>
      copyRows(src, rows, d, k.f64(region), stride);
    copy(Q.data, Q.rows, 'qRows');
    copy(Q.center, Q.radius.length, 'qCentres');
    if (!shared) {
      copy(R.data, R.rows, 'rRows');
      copy(R.center, R.radius.length, 'rCentres');
    }
    const mean = new Float64Array(d);
    for (let i = 0; i < R.rows; i++) for (let j = 0; j < d; j++) mean[j]! += R.data[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, R.rows);
    const centred = (T: BallTree, region: string) => {
      const dst = k.f32(region);
      const sq = new Float64Array(T.rows);
      for (let i = 0; i < T.rows; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const v = T.data[i * d + j]! - mean[j]!;
          dst[i * stride32 + j] = v;
          s += v * v;
        }
        sq[i] = s;
      }
      return sq;
    };
    this.qSqC = centred(Q, 'qRows32');
    this.rSqC = shared ? this.qSqC : centred(R, 'rRows32');
    this.qBase32 = k.address('qRows32');
    this.rBase32 = shared ? this.qBase32 : k.address('rRows32');
    this.qBase = k.address('qRows');
    this.rBase = shared ? this.qBase : k.address('rRows');
    this.qCentres = k.address('qCentres');
    this.rCentres = shared ? this.qCentres : k.address('rCentres');
    this.aList = k.i32('aList');
    this.aSq = k.f64('aSq');
    this.aLim = k.f64('aLim');
    this.bList = k.i32('bList');
    this.bSq = k.f64('bSq');
    this.bLim = k.f64('bLim');
    this.cList = k.i32('cList');
    this.cOut = k.f64('cOut');
    this.hits = k.i32('hits');
  }

  release(): void {
    releaseKernels(this.k);
  }

  centreDots(side: 'q' | 'r', rows: Int32Array, from: number, n: number, centre: number): Float64Array {
    const base = side === 'q' ? this.qBase : this.rBase;
    const centreAddress = (side === 'q' ? this.rCentres : this.qCentres) + centre * this.rowBytes;
    const mp = Math.ceil(n / 4) * 4;
    for (let i = 0; i < mp; i++) this.aList[i] = base + rows[from + (i < n ? i : n - 1)]! * this.rowBytes;
    this.cList[0] = centreAddress;
    this.cList[1] = centreAddress;
    const k = this.k;
    k.dotsIndexed4x2(k.address('aList'), mp, k.address('cList'), 2, this.rowBytes, k.address('cOut'));
    return this.cOut;
  }

  screen(
    qRows: Int32Array,
    m: number,
    qLimit: Float64Array,
    rRows: Int32Array,
    n: number,
    rLimit: Float64Array,
  ) {
    const { aList, aSq, aLim, bList, bSq, bLim, rowBytes32, qBase32, rBase32, qSqC, rSqC } = this;
    const mp = Math.ceil(m / 4) * 4;
    const np = Math.ceil(n / 2) * 2;
    for (let i = 0; i < mp; i++) {
      const row = qRows[i < m ? i : m - 1]!;
      aList[i] = qBase32 + row * rowBytes32;
      aSq[i] = qSqC[row]!;
      aLim[i] = i < m ? qLimit[i]! : Number.NEGATIVE_INFINITY;
    }
    for (let i = 0; i < np; i++) {
      const row = rRows[i < n ? i : n - 1]!;
      bList[i] = rBase32 + row * rowBytes32;
      bSq[i] = rSqC[row]!;
      bLim[i] = i < n ? rLimit[i]! : Number.NEGATIVE_INFINITY;
    }
    const k = this.k;
    return k.screenIndexed4x2f32(
      k.address('aList'),
      k.address('aSq'),
      k.address('aLim'),
      mp,
      k.address('bList'),
      k.address('bSq'),
      k.address('bLim'),
      np,
      rowBytes32,
      this.shrink32,
      k.address('hits'),
    );
  }
}

/** The same operations in plain JavaScript, where WebAssembly SIMD is unavailable. */
class JsImpl {
  readonly hits: Int32Array;
  private readonly dots: Float64Array;
  private readonly cOut: Float64Array;
  private readonly centre = new Int32Array(1);
  private readonly rows: Int32Array;

  constructor(
    private readonly Q: BallTree,
    private readonly R: BallTree,
    qCapacity: number,
    rCapacity: number,
    private readonly qSq: Float64Array,
    private readonly rSq: Float64Array,
    private readonly shrink: number,
  ) {
    const most = Math.max(qCapacity, rCapacity);
    this.hits = new Int32Array(qCapacity * rCapacity);
    this.dots = new Float64Array(Math.max(qCapacity * rCapacity, most));
    this.cOut = new Float64Array(most * 2);
    this.rows = new Int32Array(most);
  }

  centreDots(side: 'q' | 'r', rows: Int32Array, from: number, n: number, centre: number): Float64Array {
    const T = side === 'q' ? this.Q : this.R;
    const other = side === 'q' ? this.R : this.Q;
    this.centre[0] = centre;
    for (let i = 0; i < n; i++) this.rows[i] = rows[from + i]!;
    indexedDots(T.data, this.rows, n, other.center, this.centre, 1, T.cols, this.dots);
    for (let i = 0; i < n; i++) this.cOut[i * 2] = this.dots[i]!;
    return this.cOut;
  }

  screen(
    qRows: Int32Array,
    m: number,
    qLimit: Float64Array,
    rRows: Int32Array,
    n: number,
    rLimit: Float64Array,
  ) {
    const { dots, hits, qSq, rSq, shrink } = this;
    indexedDots(this.Q.data, qRows, m, this.R.data, rRows, n, this.R.cols, dots);
    let count = 0;
    for (let ia = 0; ia < m; ia++) {
      const sa = qSq[qRows[ia]!]!;
      const la = qLimit[ia]!;
      for (let ib = 0; ib < n; ib++) {
        const approx = (sa + rSq[rRows[ib]!]!) * shrink - 2 * dots[ia * n + ib]!;
        if (approx <= la || approx <= rLimit[ib]!) hits[count++] = (ia << 16) | ib;
      }
    }
    return count;
  }
}
