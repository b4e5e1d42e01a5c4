"""The general convolution engine: im2col, matrix products per chunk, col2im for the adjoint.

A convolution is a matrix product in disguise. Lay every receptive field out as one column,

    cols[(c, i, j), (b, oh, ow)] = x_padded[b, c, oh*sh + i*dh, ow*sw + j*dw]

and the layer is ``W @ cols`` with ``W[k, (c, i, j)] = w[k, c, i, j]``: BLAS does the multiply-adds
at close to the machine's peak. The two adjoints are products with the same matrices: the weight
gradient is ``gy @ colsᵀ`` and the input gradient is ``Wᵀ @ gy`` followed by *col2im*, which adds
every entry back onto the input position im2col copied it from.

What makes it fast (each point measured by ``benchmarks/bench_kernels.py``):

* **Chunks of a few images**, not the whole batch: a chunk's ``cols`` (~2 MiB) stays in the cache
  between the copy that writes it and the product that reads it; the whole-batch ``cols`` of a
  32×64×32×32 input with a 3×3 kernel would be 75 MiB, travelling to main memory and back.
  Chunks also feed the worker lanes (:mod:`.runtime`). An image too big for one chunk is cut
  into blocks of output rows.
* **Few transposed copies.** NumPy copies a transposed array several times slower than a
  contiguous one, and ``gy`` is as big as the layer's output. BLAS reads either operand
  transposed for free, so ``gy`` (N, C_out, OH·OW) is used as it comes: per image it *is* the
  (C_out, pixels) matrix.
* **Two layouts for ``cols``**, chosen per geometry (:func:`choose_layout`), because the im2col
  copy moves contiguous runs whose length depends on it:

  - *channels first* (``cols`` rows ``(c, i, j)``, columns pixels): the copy moves runs of ``OW``
    numbers, input and output stay NCHW, and the forward product writes ``y`` in place. Best
    for few channels per group (an RGB input layer) and for wide maps.
  - *channels last* (the input is padded into (n, h, w, c); ``cols`` rows are pixels, columns
    ``(i, j, c)``): the copy moves runs of ``kw*C`` numbers and a chunk of images makes one tall
    product. Best on small maps (per-image products would be thin); it pays one transposed copy
    of the input and of the output.

* **Groups** are one batched ``np.matmul`` over a group axis of ``cols``, never a Python loop.

Why not cache the forward ``cols`` for the weight gradient? The whole-batch matrix costs
``kh*kw`` times the input's memory; writing it out and reading it back from main memory is slower
than rebuilding each chunk in the cache.

:func:`reference_conv2d` below is the same algorithm in its plainest form (one whole-batch
``cols``, no chunks, layouts or threads): what the tests hold the tuned engines to.
"""
from __future__ import annotations

import numpy as np

from . import runtime

__all__ = ["Im2col", "choose_layout", "reference_conv2d", "reference_conv2d_grad_input",
           "reference_conv2d_grad_weight"]


def choose_layout(g):
    """``'channels_first'`` for few channels per group (< 8) or wide maps (OW >= 32) with at most
    ``2 * OW`` channels per group; ``'channels_last'`` otherwise.

    Channels first needs no transposed copies, its copy runs are ``OW`` long and its products are
    one per image; channels last pays a transposed copy of input and output but makes one tall
    product per chunk, which wins on small maps (the boundary is where ``bench_kernels``'s layers
    change sides).
    """
    cg, ow = g.cin_per_group, g.out_hw[1]
    return "channels_first" if cg < 8 or (ow >= 32 and cg <= 2 * ow) else "channels_last"


class Im2col:
    """The three maps of one :class:`~.geometry.ConvGeometry` on the im2col path."""

    def __init__(self, geometry, dtype, layout):
        g = self.g = geometry
        self.dtype = np.dtype(dtype)
        self.last = layout == "channels_last"
        self.kk = g.taps * g.cin_per_group  # rows of cols per group
        oh, ow = g.out_hw
        row_bytes = ow * self.kk * g.groups * self.dtype.itemsize  # cols of one output row
        chunk_bytes = runtime.IM2COL_CHUNK_BYTES
        if oh * row_bytes <= chunk_bytes:
            # Enough images for IM2COL_MIN_PIXELS rows per product (on small maps a chunk would
            # hold few pixels, and BLAS would re-read the whole weight matrix for each of them);
            # runtime.split then evens the chunks out over the lanes.
            images = max(chunk_bytes // (oh * row_bytes),
                         -(-runtime.IM2COL_MIN_PIXELS // (oh * ow)))
            if g.batch * oh * row_bytes <= 2 * chunk_bytes:
                # A small layer in one piece: two half-size products cost more than one whole.
                images = g.batch
            self.images, self.rows = max(1, min(images, g.batch)), oh
        else:  # equal row blocks (a 2.4 MiB image gives 16 + 16 rows, not 28 + 4)
            rows = max(1, chunk_bytes // row_bytes)
            self.images, self.rows = 1, -(-oh // -(-oh // rows))
        self.max_pixels = self.images * self.rows * ow
        self.planes = g.out_hw[0] * g.out_hw[1]
        # Channels first, per image: cols @ gyᵀ (kk × K/G) when cols has the more rows, else
        # gy @ colsᵀ: the product whose output has the fewer rows streams better.
        self._cols_major_weight_grad = not self.last and self.kk >= g.cout_per_group
        self._weight_heavy = self.last and g.cout >= self.max_pixels

    # --- plumbing ---------------------------------------------------------------------------------
    def _scratch(self, ws, weight_grad=False):
        """One lane's buffers, from its :class:`~.runtime.Workspace` (kept between calls)."""
        g = self.g
        hp, wp = g.padded_hw
        shape = (self.images, hp, wp, g.cin) if self.last else (self.images, g.cin, hp, wp)
        s = {"xp": ws.zeros(shape, self.dtype),  # padded input: only the inside is rewritten
             "cols": ws.empty(g.groups * self.max_pixels * self.kk, self.dtype)}
        if self.last:
            s["out"] = ws.empty(g.groups * self.max_pixels * g.cout_per_group, self.dtype)
        if weight_grad:  # accumulated as (G, kk, K/G) or (G, K/G, kk), see weight_grad
            shape = ((g.groups, self.kk, g.cout_per_group) if self._cols_major_weight_grad
                     else (g.groups, g.cout_per_group, self.kk))
            # Channels last, the first chunk's product is written straight into gw.
            s["gw"] = ws.empty(shape, self.dtype) if self.last else ws.zeros(shape, self.dtype)
            s["tmp"], s["filled"] = ws.empty(shape, self.dtype), False
        return s

    def _run(self, task, weight_grad=False, one_lane=False):
        g = self.g
        chunks = runtime.split(g.batch, self.images, g.multiply_adds, parallel=not one_lane)
        blocks = [(r, min(g.out_hw[0], r + self.rows)) for r in range(0, g.out_hw[0], self.rows)]

        def chunk_task(s, chunk):
            for block in blocks:
                task(s, chunk[0], chunk[1], *block)

        return runtime.run_chunks(chunk_task, chunks, lambda ws: self._scratch(ws, weight_grad),
                          work=g.multiply_adds, parallel=not one_lane)

    def _per_pixel(self, a):
        """(N, C_out, OH, OW) array as (N, G, C_out/G, OH*OW): per image and group a matrix."""
        g = self.g
        return a.reshape(g.batch, g.groups, g.cout_per_group, self.planes)

    def _load(self, s, x, b0, b1):
        """Copy images b0:b1 into the padded buffer (once per chunk, at its first row block)."""
        (ph, pw), (h, w) = self.g.padding, self.g.in_hw
        if self.last:
            s["xp"][:b1 - b0, ph:ph + h, pw:pw + w, :] = x[b0:b1].transpose(0, 2, 3, 1)
        else:
            s["xp"][:b1 - b0, :, ph:ph + h, pw:pw + w] = x[b0:b1]

    def _cols(self, s, n, r0, r1):
        """Fill this block's cols: (G, n*pixels, kh*kw*C/G) channels last, else
        (n, G, C/G*kh*kw, pixels)."""
        g = self.g
        (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
        cg, ow, rows = g.cin_per_group, g.out_hw[1], r1 - r0
        xp = s["xp"]
        size = g.groups * n * rows * ow * self.kk
        # The window view, built directly on the (contiguous) buffer: np.ndarray with explicit
        # strides is several times cheaper per call than numpy.lib.stride_tricks.as_strided.
        if self.last:
            sb, sy, sx, sc = xp.strides
            view = np.ndarray((g.groups, n, rows, ow, kh, kw, cg), xp.dtype, xp,
                              r0 * sh * sy, (sc * cg, sb, sy * sh, sx * sw, sy * dh, sx * dw, sc))
            cols = s["cols"][:size].reshape(g.groups, n * rows * ow, self.kk)
        else:
            sb, sc, sy, sx = xp.strides
            view = np.ndarray((n, g.groups, cg, kh, kw, rows, ow), xp.dtype, xp, r0 * sh * sy,
                              (sb, sc * cg, sc, sy * dh, sx * dw, sy * sh, sx * sw))
            cols = s["cols"][:size].reshape(n, g.groups, self.kk, rows * ow)
        np.copyto(cols.reshape(view.shape), view)
        return cols

    def _weight_matrix(self, w):
        """(G, C_out/G, kk) with kk ordered like the rows of cols: (c, i, j) or (i, j, c)."""
        g = self.g
        wg = w.reshape(g.groups, g.cout_per_group, g.cin_per_group, *g.kernel_hw)
        if self.last:
            wg = wg.transpose(0, 1, 3, 4, 2)
        return np.ascontiguousarray(wg).reshape(g.groups, g.cout_per_group, self.kk)

    # --- the three maps ---------------------------------------------------------------------------
    def forward(self, x, w):
        g = self.g
        kg, ow = g.cout_per_group, g.out_hw[1]
        wmat = self._weight_matrix(w)
        wmat_t = wmat.transpose(0, 2, 1)
        y = np.empty(g.output_shape, self.dtype)
        yp = self._per_pixel(y)

        def task(s, b0, b1, r0, r1):
            if r0 == 0:
                self._load(s, x, b0, b1)
            cols = self._cols(s, b1 - b0, r0, r1)
            target = yp[b0:b1, :, :, r0 * ow:r1 * ow]  # (n, G, K/G, pixels)
            if not self.last:
                np.matmul(wmat, cols, out=target)  # writes y in place
                return
            out = s["out"][:cols.shape[0] * cols.shape[1] * kg].reshape(*cols.shape[:2], kg)
            np.matmul(cols, wmat_t, out=out)  # (G, n*pixels, K/G)
            np.copyto(target, out.reshape(g.groups, b1 - b0, -1, kg).transpose(1, 0, 3, 2))

        self._run(task)
        return y

    def weight_grad(self, gy, x):
        g = self.g
        ow = g.out_hw[1]
        gyp = self._per_pixel(gy)

        def task(s, b0, b1, r0, r1):
            if r0 == 0:
                self._load(s, x, b0, b1)
            n, cols = b1 - b0, self._cols(s, b1 - b0, r0, r1)
            block = gyp[b0:b1, :, :, r0 * ow:r1 * ow]  # (n, G, K/G, pixels)
            if self.last:  # one product per chunk: gy (G, K/G, n*pixels) @ cols (G, n*pixels, kk)
                # (per image, a 4×4 map would give products with an inner dimension of 16)
                gyc = s["out"][:block.size].reshape(g.groups, g.cout_per_group, n, -1)
                np.copyto(gyc, block.transpose(1, 2, 0, 3))  # runs of `pixels` numbers
                np.matmul(gyc.reshape(g.groups, g.cout_per_group, -1), cols,
                          out=s["tmp"] if s["filled"] else s["gw"])
                if s["filled"]:
                    s["gw"] += s["tmp"]
                s["filled"] = True
                return
            # Per image one product, cols @ gyᵀ or gy @ colsᵀ (see __init__). Many small images:
            # one batched call and a sum (a Python loop would cost more than the maths).
            if self._cols_major_weight_grad:
                left, right = cols, block.transpose(0, 1, 3, 2)
            else:
                left, right = block, cols.transpose(0, 1, 3, 2)
            if n * s["tmp"].nbytes <= runtime.IM2COL_CHUNK_BYTES:
                s["gw"] += np.matmul(left, right).sum(axis=0)
                return
            for b in range(n):
                np.matmul(left[b], right[b], out=s["tmp"])
                s["gw"] += s["tmp"]

        # When the weights are larger than a chunk's cols (many channels on a small map), one
        # lane whose products use all of BLAS's threads: over two lanes each would fill a
        # weight-sized partial sum, and adding those costs more passes over the weights than the
        # lanes save.
        scratches = self._run(task, weight_grad=True, one_lane=self._weight_heavy)
        kh, kw = g.kernel_hw
        gw = scratches[0]["gw"]  # in the workspace: what is returned must be a fresh array
        for s in scratches[1:]:
            gw = gw + s["gw"]
        if self.last:  # (G, K/G, (i, j, c)) -> (G, K/G, c, i, j)
            gw = gw.reshape(g.groups, g.cout_per_group, kh, kw, g.cin_per_group)
            gw = gw.transpose(0, 1, 4, 2, 3)
        elif self._cols_major_weight_grad:  # (G, (c, i, j), K/G) -> (G, K/G, c, i, j)
            gw = gw.transpose(0, 2, 1)
        return np.array(gw, order="C").reshape(g.weight_shape)  # always a copy

    def input_grad(self, gy, w):
        g = self.g
        cg, (kh, kw), (sh, sw), (dh, dw) = g.cin_per_group, g.kernel_hw, g.stride, g.dilation
        (ph, pw), (h, wd), ow = g.padding, g.in_hw, g.out_hw[1]
        wmat_t = self._weight_matrix(w).transpose(0, 2, 1)  # (G, kk, K/G)
        wmat = self._weight_matrix(w)
        gyp = self._per_pixel(gy)
        gx = np.empty(g.input_shape, self.dtype)

        def task(s, b0, b1, r0, r1):
            n, rows = b1 - b0, r1 - r0
            gxp = s["xp"][:n]
            if r0 == 0:
                gxp[...] = 0
            gcols = s["cols"][:n * g.groups * rows * ow * self.kk]
            source = gyp[b0:b1, :, :, r0 * ow:r1 * ow]  # (n, G, K/G, pixels)
            if self.last:  # (n, G, pixels, kk) = gyᵀ @ W, gy read transposed by BLAS
                gcols = gcols.reshape(n, g.groups, rows * ow, self.kk)
                np.matmul(source.transpose(0, 1, 3, 2), wmat, out=gcols)
                taps = gcols.reshape(n, g.groups, rows, ow, kh, kw, cg)
                target = gxp.reshape(n, *g.padded_hw, g.groups, cg)
            else:  # (n, G, kk, pixels) = Wᵀ @ gy
                gcols = gcols.reshape(n, g.groups, self.kk, rows * ow)
                np.matmul(wmat_t, source, out=gcols)
                taps = gcols.reshape(n, g.groups, cg, kh, kw, rows, ow)
                target = gxp.reshape(n, g.groups, cg, *g.padded_hw)
            # col2im: add each tap's block back where im2col took it from.
            for i in range(kh):
                top = r0 * sh + i * dh
                rows_at = slice(top, top + sh * (rows - 1) + 1, sh)
                for j in range(kw):
                    cols_at = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                    if self.last:
                        target[:, rows_at, cols_at] += taps[:, :, :, :, i, j].transpose(
                            0, 2, 3, 1, 4)
                    else:
                        target[:, :, :, rows_at, cols_at] += taps[:, :, :, i, j]
            if r1 == g.out_hw[0]:
                inner = gxp[:, ph:ph + h, pw:pw + wd] if self.last else gxp[:, :, ph:ph + h,
                                                                           pw:pw + wd]
                np.copyto(gx[b0:b1], inner.transpose(0, 3, 1, 2) if self.last else inner)

        self._run(task)
        return gx
