"""``einsum``: sums of products named by subscripts (``'bij,bjk->bik'``), and ``tensordot``,
``inner`` and ``vdot`` on top of it.

An einsum is linear in each operand with the others held fixed, so it is declared ``linear`` in
all of them: the forward rule is the same einsum with one operand replaced by its tangent. The
reverse rule for operand i is again an einsum: the other operands and the cotangent, contracted
onto operand i's subscripts. Letters of operand i that appear nowhere else (summed out by this
operand alone, as j in ``'ij->i'``) do not occur in that einsum, so its result is broadcast
along them; where operand i had size 1 against a larger size elsewhere (broadcasting), the
tracer sums the cotangent back to size 1.

Before the primitive sees an equation, the public function makes every operand's subscripts
distinct: ``'...'`` becomes explicit letters (right-aligned, so operands with fewer dimensions
broadcast), and a letter repeated within one operand (``'ii->i'``, a diagonal) is replaced by
that operand's diagonal, taken with :func:`torchsorflow.ops.structure.diagonal`, whose gradient
writes back onto the diagonal. The sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` is
accepted too.
"""
from __future__ import annotations

import builtins
import string

from ..autodiff.tracer import Box, Primitive, to_box
from ..backend import xp
from .elementwise import mul
from .shape import ShapeError, broadcast_to, reshape
from .structure import diagonal

__all__ = ["einsum", "tensordot", "inner", "vdot"]

_MAX_OPERANDS = 32
_LETTERS = string.ascii_letters


def _einsum_impl(*operands, spec):
    large = len(operands) > 2 or builtins.any(o.size > 256 for o in operands)
    return xp.einsum(spec, *operands, optimize=large)


def _split(spec):
    inputs, output = spec.split("->")
    return inputs.split(","), output


def _vjp_rule(i):
    def rule(g, ans, *operands, spec):
        inputs, output = _split(spec)
        mine = inputs[i]
        others = [k for k in range(len(operands)) if k != i]
        seen = set(output).union(*(inputs[k] for k in others))
        target = "".join(c for c in mine if c in seen)
        terms = [inputs[k] for k in others] + [output]
        grad = _einsum(*(operands[k] for k in others), g,
                       spec=",".join(terms) + "->" + target)
        # letters summed out by operand i alone come back as size-1 dims, broadcast to its
        # size; a size-1 dim of operand i met by a larger one is summed back by the tracer
        sizes = dict(zip(target, grad.shape))
        grad = reshape(grad, tuple(sizes.get(c, 1) for c in mine))
        full = tuple(builtins.max(sizes.get(c, 1), n) for c, n in zip(mine, operands[i].shape))
        return grad if grad.shape == full else broadcast_to(grad, full)
    return rule


_einsum = Primitive("einsum", _einsum_impl,
                    vjp=tuple(_vjp_rule(i) for i in range(_MAX_OPERANDS)),
                    linear=tuple(range(_MAX_OPERANDS)))


# --- parsing -------------------------------------------------------------------------------
def _from_sublists(args):
    """``(a, [0, 1], b, [1, 2], [0, 2])`` → ``('ab,bc->ac', a, b)`` (Ellipsis allowed)."""
    args = list(args)
    output = args.pop() if len(args) % 2 else None
    operands, terms = args[0::2], args[1::2]

    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid "
                                 f"range [0, 52), got {s!r}")
        return "".join(out)

    equation = ",".join(letters(t) for t in terms)
    if output is not None:
        equation += "->" + letters(output)
    return equation, operands


def _parse(equation, ndims):
    """Explicit subscripts, one string per operand, and the output: no ``'...'``, no spaces."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, output = equation.split("->", 1)
    else:
        lhs, output = equation, None
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if len(terms) < len(ndims) else
                         "einsum(): fewer operands were provided than specified in the equation")
    used = set(c for c in equation if c.isalpha())
    for c in equation:
        if not (c.isalpha() or c in ",.->"):
            raise ValueError(f"einsum(): invalid subscript given at index {equation.index(c)} in "
                             f"the equation string, subscripts must be in [a-zA-Z]")
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_dims = 0
    explicit = []
    for i, (term, ndim) in enumerate(zip(terms, ndims)):
        named = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_dims = builtins.max(ellipsis_dims, ndim - named)
            if ndim < named:
                raise ValueError(f"einsum(): the number of subscripts in the equation ({named}) "
                                 f"is more than the number of dimensions ({ndim}) for operand {i}")
        elif named != ndim:
            raise ValueError(f"einsum(): the number of subscripts in the equation ({named}) does "
                             f"not match the number of dimensions ({ndim}) for operand {i} and "
                             "no ellipsis was given")
    batch = "".join(spare[:ellipsis_dims])
    for term, ndim in zip(terms, ndims):
        if "..." in term:
            own = ndim - len(term.replace("...", ""))
            term = term.replace("...", batch[len(batch) - own:])
        explicit.append(term)
    if output is None:  # implicit: the letters that occur once, in alphabetical order
        counts = {c: "".join(explicit).count(c) for c in set("".join(explicit)) - set(batch)}
        output = batch + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        output = output.replace("...", batch)
        for c in output:
            if output.count(c) > 1:
                raise ValueError(f"einsum(): output subscript {c} appears more than once in the "
                                 "output")
            if c not in "".join(explicit):
                raise ValueError(f"einsum(): output subscript {c} does not appear in the equation "
                                 "for any input operand")
    return explicit, output


def _distinct(operand, term):
    """``operand`` and its subscripts with repeated letters replaced by the diagonal."""
    while len(set(term)) < len(term):
        c = next(c for c in term if term.count(c) > 1)
        first = term.index(c)
        second = term.index(c, first + 1)
        if operand.shape[first] != operand.shape[second]:
            raise ShapeError(f"einsum(): subscript {c} is repeated for operand but the sizes "
                             f"don't match, {operand.shape[first]} != {operand.shape[second]}")
        operand = diagonal(operand, 0, first, second)
        term = term[:first] + term[first + 1:second] + term[second + 1:] + c
    return operand, term


def _check_sizes(terms, operands):
    sizes = {}
    for i, (term, op) in enumerate(zip(terms, operands)):
        for c, n in zip(term, op.shape):
            known = sizes.setdefault(c, n)
            if n != known and 1 not in (n, known):
                raise ShapeError(f"einsum(): operands do not broadcast with remapped shapes "
                                 f"(original->remapped): subscript {c} has size {n} for operand "
                                 f"{i} which does not broadcast with previously seen size "
                                 f"{known}")
            if known == 1:
                sizes[c] = n


def einsum(equation, *operands):
    """Sums of products of the operands' entries, named by subscripts: ``einsum('ij,jk->ik', a,
    b)`` is ``a @ b``; ``'...'`` stands for leading dimensions, which broadcast."""
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [to_box(o) for o in operands]
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    if len(operands) > _MAX_OPERANDS:
        raise ValueError(f"einsum(): at most {_MAX_OPERANDS} operands are supported, got "
                         f"{len(operands)}")
    dtypes = {o.dtype for o in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                           f"{sorted(str(d) for d in dtypes)}")
    terms, output = _parse(equation, [o.ndim for o in operands])
    pairs = [_distinct(o, t) for o, t in zip(operands, terms)]
    operands, terms = [p[0] for p in pairs], [p[1] for p in pairs]
    _check_sizes(terms, operands)
    return _einsum(*operands, spec=",".join(terms) + "->" + output)


def tensordot(a, b, dims=2, out=None):
    """Contract the last ``dims`` dimensions of ``a`` with the first of ``b`` (or the listed
    pairs ``dims=([a dims], [b dims])``)."""
    a, b = to_box(a), to_box(b)
    if isinstance(dims, Box):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    letters = iter(_LETTERS)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        term_b[db % b.ndim] = term_a[da % a.ndim]
    contracted = {term_a[d % a.ndim] for d in dims_a}
    output = [c for c in term_a if c not in contracted] + [c for c in term_b
                                                          if c not in contracted]
    return einsum(f"{''.join(term_a)},{''.join(term_b)}->{''.join(output)}", a, b)


def inner(input, other):
    """The dot product over the last dimension, for every pair of leading indices."""
    input, other = to_box(input), to_box(other)
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    return tensordot(input, other, ([-1], [-1]))


def vdot(input, other):
    """The dot product of two vectors (no conjugation for real Tensors)."""
    input, other = to_box(input), to_box(other)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D "
                           "tensors")
    return einsum("i,i->", input, other)
