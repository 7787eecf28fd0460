/** dst[j, i] = src[i, j] for a rows × cols src, in cache-friendly tiles. */
export function transposeInto(
  src: Float32Array,
  rows: number,
  cols: number,
  dst: Float32Array,
  srcOffset = 0,
): void {
  const T = 16;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(i0 + T, rows);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(j0 + T, cols);
      for (let i = i0; i < i1; i++) {
        const row = srcOffset + i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[row + j]!;
      }
    }
  }
}
