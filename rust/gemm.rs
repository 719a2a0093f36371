//! Dense single-precision products on the CPU: `matrixmultiply`'s packed kernels, split over
//! rayon into one block of output rows (or columns) per thread. Every output element is
//! accumulated by the same micro-kernel in the same k order whatever block it falls in, so
//! results are bit-identical on any number of threads (checked by the tests below and by the
//! thread-count determinism tests).
#![allow(unsafe_code)]

use rayon::prelude::*;

/// A read-only matrix view: `rows × cols` with arbitrary row and column strides.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// Row-major contiguous `rows × cols`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major contiguous `cols × rows` matrix, seen as `rows × cols`.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// Blocks are multiples of the micro-kernel tile, and no smaller than this many rows/columns.
const MIN_BLOCK: usize = 16;

/// Block size splitting `len` over the current rayon threads.
fn block_len(len: usize) -> usize {
    let per_thread = len.div_ceil(rayon::current_num_threads().max(1));
    per_thread.div_ceil(8).max(MIN_BLOCK / 8) * 8
}

/// Products with fewer multiply-adds than this run on the calling thread (a rayon hand-off costs
/// more than the work).
pub const SEQUENTIAL_WORK: usize = 1 << 17;
/// Results with at most this many rows (batch sizes) use the unpacked matrix-vector kernels.
const SMALL_M: usize = 4;
/// Output columns per parallel block of the matrix-vector kernels.
const VECTOR_BLOCK: usize = 256;

/// Dot product with eight independent partial sums (vectorizes), summed in a fixed order.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `out = alpha·a·b + beta·out` for a few rows of `a` (batch ≤ [`SMALL_M`]) without packing:
/// dot products when the columns of `b` are contiguous (the forward pass, `b` = Wᵀ), row
/// updates when its rows are (the backward pass, `b` = W). Split over output columns; each
/// output is summed in the same order whatever the split.
fn small_m(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, alpha: f32, beta: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let rows: Vec<Vec<f32>> = (0..m)
        .map(|r| {
            (0..k)
                .map(|p| a.data[r * a.row_stride + p * a.col_stride])
                .collect()
        })
        .collect();
    let ptr = SyncPtr(out.as_mut_ptr());
    let blocks = n.div_ceil(VECTOR_BLOCK);
    let work = |block: usize| {
        let p = &ptr;
        let c0 = block * VECTOR_BLOCK;
        let width = VECTOR_BLOCK.min(n - c0);
        let mut acc = vec![0.0f32; width];
        for (r, x) in rows.iter().enumerate() {
            if b.row_stride == 1 {
                for (q, v) in acc.iter_mut().enumerate() {
                    let col = (c0 + q) * b.col_stride;
                    *v = dot(x, &b.data[col..col + k]);
                }
            } else {
                acc.fill(0.0);
                for (pi, &xp) in x.iter().enumerate() {
                    let row = &b.data[pi * b.row_stride + c0..pi * b.row_stride + c0 + width];
                    for (v, &w) in acc.iter_mut().zip(row) {
                        *v += xp * w;
                    }
                }
            }
            for (q, v) in acc.iter().enumerate() {
                // SAFETY: row r, columns c0..c0+width of the m × n output: disjoint per block.
                unsafe {
                    let o = p.0.add(r * n + c0 + q);
                    *o = if beta == 0.0 {
                        alpha * v
                    } else {
                        alpha * v + beta * *o
                    };
                }
            }
        }
    };
    if m * n * k < SEQUENTIAL_WORK {
        (0..blocks).for_each(work);
    } else {
        (0..blocks).into_par_iter().for_each(work);
    }
}

struct SyncPtr(*mut f32);

impl SyncPtr {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw field).
    fn get(&self) -> *mut f32 {
        self.0
    }
}
// SAFETY: the blocks written through the pointer are disjoint (see `matmul`).
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

/// `out = alpha · a · b + beta · out`, with `out` row-major `a.rows × b.cols`.
pub fn matmul(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, alpha: f32, beta: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert_eq!(out.len(), m * n, "output has the wrong size");
    a.check();
    b.check();
    if m == 0 || n == 0 {
        return;
    }
    if m <= SMALL_M && (b.row_stride == 1 || b.col_stride == 1) {
        small_m(out, a, b, alpha, beta);
        return;
    }
    let ptr = SyncPtr(out.as_mut_ptr());
    // SAFETY (all three calls): the view checks above bound every element read, and each call
    // writes rows r0.. and columns c0.. of `out` (m × n, row stride n) that no other call writes.
    let block = |r0: usize, rows: usize, c0: usize, cols: usize| unsafe {
        matrixmultiply::sgemm(
            rows,
            k,
            cols,
            alpha,
            a.data.as_ptr().add(r0 * a.row_stride),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr().add(c0 * b.col_stride),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            ptr.get().add(r0 * n + c0),
            n as isize,
            1,
        );
    };
    if m * n * k < SEQUENTIAL_WORK {
        block(0, m, 0, n);
    } else if m >= 2 * MIN_BLOCK || n < 2 * MIN_BLOCK {
        let rows = block_len(m);
        (0..m.div_ceil(rows))
            .into_par_iter()
            .for_each(|i| block(i * rows, rows.min(m - i * rows), 0, n));
    } else {
        let cols = block_len(n);
        (0..n.div_ceil(cols))
            .into_par_iter()
            .for_each(|i| block(0, m, i * cols, cols.min(n - i * cols)));
    }
}

/// Whether [`matmul`] takes the packed kernels for an `m`-row product with `b`; then each row
/// block of its result can be computed on its own by [`packed_rows`] with the same bits.
pub fn takes_packed_path(m: usize, b: MatRef<'_>) -> bool {
    !(m <= SMALL_M && (b.row_stride == 1 || b.col_stride == 1))
}

/// `out = alpha · a · b + beta · out` on the calling thread with the packed kernels: a block of
/// rows of a [`matmul`] for which [`takes_packed_path`] holds, the same bits.
pub fn packed_rows(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, alpha: f32, beta: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert_eq!(out.len(), m * n, "output has the wrong size");
    a.check();
    b.check();
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the view checks above bound every element read; `out` is m × n, row stride n.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    /// Deterministic `m × k` and `k × n` operands with no pattern the kernels could exploit.
    fn operands(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..m * k)
            .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 333.0)
            .collect();
        let b = (0..k * n)
            .map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 211.0)
            .collect();
        (a, b)
    }

    #[test]
    fn results_are_bit_identical_for_any_thread_count() {
        let (m, k, n) = (75, 300, 190);
        let (a, b) = operands(m, k, n);
        let run = |threads: usize, rows: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut c = vec![0.0; rows * n];
                let a = MatRef::row_major(&a[..rows * k], rows, k);
                matmul(&mut c, a, MatRef::transposed(&b, k, n), 1.0, 0.0);
                c
            })
        };
        for rows in [75, 3, 1] {
            let one = run(1, rows);
            for threads in [2, 3, 4, 7] {
                assert_eq!(one, run(threads, rows), "{rows} rows on {threads} threads");
            }
        }
    }

    #[test]
    fn packed_row_blocks_equal_the_whole_product() {
        // Both layouts of b (the forward and the backward pass), blocks of uneven size
        // including blocks of fewer rows than the unpacked kernels would take.
        let (m, k, n) = (61, 300, 37);
        let (a, b) = operands(m, k, n);
        for b in [MatRef::row_major(&b, k, n), MatRef::transposed(&b, k, n)] {
            assert!(takes_packed_path(m, b));
            let mut whole = vec![0.0; m * n];
            matmul(&mut whole, MatRef::row_major(&a, m, k), b, 1.0, 0.0);
            for rows in [1, 3, 8, 24] {
                let mut blocks = vec![0.0; m * n];
                for (i, out) in blocks.chunks_mut(rows * n).enumerate() {
                    let r = out.len() / n;
                    let a = MatRef::row_major(&a[i * rows * k..][..r * k], r, k);
                    packed_rows(out, a, b, 1.0, 0.0);
                }
                assert_eq!(whole, blocks, "blocks of {rows} rows");
            }
        }
    }

    #[test]
    fn matmul_matches_naive_in_both_split_modes() {
        for &(m, k, n) in &[
            (3, 7, 300),
            (70, 9, 5),
            (1, 513, 257),
            (33, 16, 16),
            (1, 600, 700),
            (90, 200, 300),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 9.0)
                .collect();
            let mut c = vec![1.0; m * n];
            matmul(
                &mut c,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                1.0,
                0.0,
            );
            let expected = naive(&a, &b, m, k, n);
            for (x, y) in c.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-4, "{x} vs {y}");
            }
            // The same product with b stored transposed, accumulated onto 2·out with beta 0.5.
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let mut c2: Vec<f32> = c.iter().map(|v| 2.0 * v).collect();
            matmul(
                &mut c2,
                MatRef::row_major(&a, m, k),
                MatRef::transposed(&bt, k, n),
                1.0,
                0.5,
            );
            for (x, y) in c2.iter().zip(&expected) {
                assert!((x - 2.0 * y).abs() < 2e-4, "{x} vs {}", 2.0 * y);
            }
        }
    }
}
