//! The patches of a 2-D convolution (im2col) and their gradient's way back (col2im).
//!
//! An analog convolution multiplies its tile with one patch per output position. torch's
//! `unfold` views followed by a copy build the patches with a 6-D strided copy whose innermost
//! run is one kernel row (5 values for LeNet5), and the copy's backward is a scatter of the same
//! shape; both are slow next to the tile's own work and run on the Python thread. Here each
//! output row of patches is written contiguously, and the backward sums every input element's
//! contributions in one fixed order, so its bits do not depend on the thread count.

use crate::error::{Error, Result};
use rayon::prelude::*;

/// The shape of one 2-D convolution's patches: input `[n, c, h, w]` (already padded), kernel
/// `kh × kw`, strides and dilations.
#[derive(Clone, Copy, Debug)]
pub struct PatchGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
}

impl PatchGeometry {
    /// Checks the geometry: positive sizes, strides and dilations, a kernel that fits.
    pub fn checked(self) -> Result<Self> {
        let positive = [
            ("batch", self.n),
            ("channels", self.c),
            ("height", self.h),
            ("width", self.w),
            ("kernel height", self.kh),
            ("kernel width", self.kw),
            ("stride", self.stride.0.min(self.stride.1)),
            ("dilation", self.dilation.0.min(self.dilation.1)),
        ];
        for (arg, v) in positive {
            if v == 0 {
                return Err(Error::Value {
                    arg: "patches",
                    msg: format!("{arg} must be positive, got 0"),
                });
            }
        }
        if self.reach().0 > self.h || self.reach().1 > self.w {
            return Err(Error::Value {
                arg: "patches",
                msg: format!(
                    "the kernel's reach {:?} exceeds the input's {}×{}",
                    self.reach(),
                    self.h,
                    self.w
                ),
            });
        }
        Ok(self)
    }

    /// The span of the dilated kernel.
    fn reach(&self) -> (usize, usize) {
        (
            self.dilation.0 * (self.kh - 1) + 1,
            self.dilation.1 * (self.kw - 1) + 1,
        )
    }

    /// Output positions per image: (rows, columns).
    pub fn out_size(&self) -> (usize, usize) {
        let (rh, rw) = self.reach();
        (
            (self.h - rh) / self.stride.0 + 1,
            (self.w - rw) / self.stride.1 + 1,
        )
    }

    /// Values per patch: c · kh · kw.
    pub fn patch_len(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Patches in all: n · out rows · out columns.
    pub fn patches(&self) -> usize {
        let (oh, ow) = self.out_size();
        self.n * oh * ow
    }
}

/// `out[(b·oh + y)·ow + x, (ch·kh + i)·kw + j] = input[b, ch, y·sh + i·dh, x·sw + j·dw]`: the
/// patches, position-major, in the order of the tile's columns (channel, kernel row, column).
pub fn im2col(g: &PatchGeometry, input: &[f32], out: &mut [f32]) {
    let (oh, ow) = g.out_size();
    let len = g.patch_len();
    debug_assert_eq!(input.len(), g.n * g.c * g.h * g.w);
    debug_assert_eq!(out.len(), g.patches() * len);
    // One task per output row of an image: ow patches, written in order.
    out.par_chunks_mut(ow * len)
        .with_min_len((crate::periphery::PAR_ELEMENTS / (ow * len)).max(1))
        .enumerate()
        .for_each(|(row, dst)| {
            let (b, y) = (row / oh, row % oh);
            for x in 0..ow {
                let patch = &mut dst[x * len..(x + 1) * len];
                for ch in 0..g.c {
                    let plane = &input[(b * g.c + ch) * g.h * g.w..][..g.h * g.w];
                    for i in 0..g.kh {
                        let src = &plane[(y * g.stride.0 + i * g.dilation.0) * g.w..][..g.w];
                        let at = (ch * g.kh + i) * g.kw;
                        let x0 = x * g.stride.1;
                        let dst = &mut patch[at..at + g.kw];
                        if g.dilation.1 == 1 {
                            copy_run(dst, &src[x0..x0 + g.kw]);
                        } else {
                            for (j, v) in dst.iter_mut().enumerate() {
                                *v = src[x0 + j * g.dilation.1];
                            }
                        }
                    }
                }
            }
        });
}

/// The gradient of [`im2col`]: `out[b, ch, r, s]` is the sum of the patch gradients that read
/// input (b, ch, r, s), added in the order of the output positions (rows, then columns), then
/// kernel rows and columns; `out` is overwritten.
pub fn col2im(g: &PatchGeometry, grad: &[f32], out: &mut [f32]) {
    let (oh, ow) = g.out_size();
    let len = g.patch_len();
    debug_assert_eq!(grad.len(), g.patches() * len);
    debug_assert_eq!(out.len(), g.n * g.c * g.h * g.w);
    // One task per (image, channel) plane: its sums do not depend on the split.
    out.par_chunks_mut(g.h * g.w)
        .with_min_len((crate::periphery::PAR_ELEMENTS / (oh * ow * g.kh * g.kw)).max(1))
        .enumerate()
        .for_each(|(plane_index, plane)| {
            let (b, ch) = (plane_index / g.c, plane_index % g.c);
            plane.fill(0.0);
            for y in 0..oh {
                for x in 0..ow {
                    let patch = &grad[((b * oh + y) * ow + x) * len..][..len];
                    for i in 0..g.kh {
                        let r = y * g.stride.0 + i * g.dilation.0;
                        let at = (ch * g.kh + i) * g.kw;
                        let src = &patch[at..at + g.kw];
                        let x0 = x * g.stride.1;
                        let dst = &mut plane[r * g.w..(r + 1) * g.w];
                        if g.dilation.1 == 1 {
                            add_run(&mut dst[x0..x0 + g.kw], src);
                        } else {
                            for (j, v) in src.iter().enumerate() {
                                dst[x0 + j * g.dilation.1] += v;
                            }
                        }
                    }
                }
            }
        });
}

/// `dst = src` for a kernel row: common widths as fixed-size copies (inline moves; a call of
/// memcpy per 3 or 5 values costs more than the values).
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    fn fixed<const K: usize>(dst: &mut [f32], src: &[f32]) {
        let d: &mut [f32; K] = dst.try_into().expect("kernel row");
        *d = src.try_into().expect("kernel row");
    }
    match dst.len() {
        1 => fixed::<1>(dst, src),
        2 => fixed::<2>(dst, src),
        3 => fixed::<3>(dst, src),
        4 => fixed::<4>(dst, src),
        5 => fixed::<5>(dst, src),
        7 => fixed::<7>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// `dst += src` for a kernel row, value by value in order.
#[inline(always)]
fn add_run(dst: &mut [f32], src: &[f32]) {
    fn fixed<const K: usize>(dst: &mut [f32], src: &[f32]) {
        let d: &mut [f32; K] = dst.try_into().expect("kernel row");
        let s: &[f32; K] = src.try_into().expect("kernel row");
        for j in 0..K {
            d[j] += s[j];
        }
    }
    match dst.len() {
        3 => fixed::<3>(dst, src),
        5 => fixed::<5>(dst, src),
        _ => dst.iter_mut().zip(src).for_each(|(d, s)| *d += s),
    }
}
