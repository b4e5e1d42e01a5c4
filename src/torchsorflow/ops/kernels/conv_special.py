"""Two convolution shapes that im2col would handle badly: 1×1 kernels and depthwise convolutions.

* **Pointwise (1×1, no padding).** Every receptive field is a single pixel, so im2col would only
  copy the input. Per image the layer *is* a matrix product ``W (C_out, C_in) @ x[b] (C_in, H·W)``
  that reads and writes NCHW directly, with no layout change at all. A stride just subsamples the
  input first; the adjoint scatters back into the subsampled positions.
* **Depthwise (one input channel per group, e.g. MobileNet).** Each output channel sees one input
  channel. The im2col forward and weight gradient are fine (one batched call covers all groups),
  but col2im would scatter ``kh*kw`` small blocks per channel; the input gradient is instead
  ``kh*kw`` vectorised multiply-adds of shifted views, each over all channels at once.

Both work on chunks of images spread over the cores (:mod:`.runtime`), like :mod:`.im2col`.
"""
from __future__ import annotations

import numpy as np

from . import runtime
from .im2col import Im2col

__all__ = ["Pointwise", "Depthwise"]


def _images_per_chunk(image_bytes):
    return max(1, runtime.POINTWISE_CHUNK_BYTES // max(1, image_bytes))


class Pointwise:
    """1×1 convolution without padding: a batched matrix product on the (subsampled) input."""

    def __init__(self, geometry, dtype):
        self.g, self.dtype = geometry, np.dtype(dtype)
        g = geometry
        self.pixels = g.out_hw[0] * g.out_hw[1]
        self.images = _images_per_chunk((g.cin + g.cout) * self.pixels * self.dtype.itemsize)

    def _sampled(self, x):
        """The input positions the kernel visits, as (N, G, C/G, OH*OW)."""
        g = self.g
        xs = x[:, :, ::g.stride[0], ::g.stride[1]]
        return xs.reshape(g.batch, g.groups, g.cin_per_group, self.pixels)

    def _weight(self, w):
        g = self.g
        return w.reshape(g.groups, g.cout_per_group, g.cin_per_group)

    def _per_image_products(self, matrix, batch, rows):
        """``matrix @ batch[b]`` for every image ``b`` (per group), in chunks of images:
        (G, rows, K) times (N, G, K, pixels) gives (N, G, rows, pixels)."""
        g = self.g
        out = np.empty((g.batch, g.groups, rows, self.pixels), self.dtype)

        def task(_, chunk):
            b0, b1 = chunk
            np.matmul(matrix, batch[b0:b1], out=out[b0:b1])

        chunks = runtime.split(g.batch, self.images, g.multiply_adds)
        runtime.run_chunks(task, chunks, lambda ws: None, work=g.multiply_adds)
        return out

    def forward(self, x, w):
        g = self.g
        y = self._per_image_products(self._weight(w), self._sampled(x), g.cout_per_group)
        return y.reshape(g.output_shape)

    def input_grad(self, gy, w):
        g = self.g
        gys = gy.reshape(g.batch, g.groups, g.cout_per_group, self.pixels)
        gxs = self._per_image_products(self._weight(w).transpose(0, 2, 1), gys,
                                       g.cin_per_group)
        gxs = gxs.reshape((g.batch, g.cin) + tuple(g.out_hw))
        if g.stride == (1, 1):
            return gxs
        gx = np.zeros(g.input_shape, self.dtype)
        gx[:, :, ::g.stride[0], ::g.stride[1]] = gxs
        return gx

    def weight_grad(self, gy, x):
        g = self.g
        xs = self._sampled(x)
        gys = gy.reshape(g.batch, g.groups, g.cout_per_group, self.pixels)
        shape = (g.groups, g.cout_per_group, g.cin_per_group)

        def task(s, chunk):
            for b in range(*chunk):  # Σ_b gy[b] @ x[b]ᵀ, one product per image into a buffer
                np.matmul(gys[b], xs[b].transpose(0, 2, 1), out=s[1])
                np.add(s[0], s[1], out=s[0])

        chunks = runtime.split(g.batch, self.images, g.multiply_adds)
        parts = runtime.run_chunks(
            task, chunks, lambda ws: (np.zeros(shape, self.dtype), np.empty(shape, self.dtype)),
            work=g.multiply_adds)
        gw = parts[0][0]
        for part in parts[1:]:
            gw += part[0]
        return gw.reshape(g.weight_shape)


class Depthwise(Im2col):
    """One input channel per group. Forward and weight gradient are the channels-first im2col
    (with one channel per group its copy and per-group products are cheap, cheaper than
    tap-by-tap multiply-adds). Its col2im, however, would add ``kh*kw`` scattered blocks per
    channel; the input gradient is computed tap by tap instead, each tap one broadcast
    multiply-add over all channels. With stride 1 :mod:`.conv` turns the input gradient into a
    (depthwise) forward pass anyway.
    """

    def __init__(self, geometry, dtype):
        super().__init__(geometry, dtype, "channels_first")
        g = geometry
        hp, wp = g.padded_hw
        image_bytes = (g.cin * hp * wp + g.cout * g.out_hw[0] * g.out_hw[1]) * self.dtype.itemsize
        self.tap_images = _images_per_chunk(image_bytes)

    def input_grad(self, gy, w):
        g = self.g
        (sh, sw), (dh, dw), (oh, ow) = g.stride, g.dilation, g.out_hw
        (ph, pw), (h, wd), kg = g.padding, g.in_hw, g.cout_per_group
        wg = w.reshape(g.groups, kg, *g.kernel_hw)
        gyg = gy.reshape((g.batch, g.groups, kg) + tuple(g.out_hw))
        gx = np.empty(g.input_shape, self.dtype)

        def task(s, chunk):
            b0, b1 = chunk
            gxp, tmp = s[0][:b1 - b0], s[1][:b1 - b0]
            gxp[...] = 0
            for i in range(g.kernel_hw[0]):
                for j in range(g.kernel_hw[1]):
                    # tap (i, j) of every window, i.e. the inputs that met w[:, :, i, j]
                    target = gxp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                 j * dw:j * dw + sw * (ow - 1) + 1:sw]
                    if kg == 1:
                        np.multiply(gyg[b0:b1, :, 0], wg[:, 0, i, j, None, None], out=tmp)
                    else:  # a channel multiplier: sum over the outputs of each input channel
                        np.einsum("ngkhw,gk->nghw", gyg[b0:b1], wg[:, :, i, j], out=tmp)
                    target += tmp
            gx[b0:b1] = gxp[:, :, ph:ph + h, pw:pw + wd]

        def scratch(ws):
            return (ws.empty((self.tap_images, g.cin) + tuple(g.padded_hw), self.dtype),
                    ws.empty((self.tap_images, g.cin) + tuple(g.out_hw), self.dtype))

        chunks = runtime.split(g.batch, self.tap_images, g.multiply_adds)
        runtime.run_chunks(task, chunks, scratch, work=g.multiply_adds)
        return gx
