"""Flatten nested tuples/lists/dicts of Tensors into a list of leaves and back.

The functional transforms accept such containers (a dict of parameters, say) wherever JAX and
torch.func do; everything that is not a container is a leaf.
"""
from __future__ import annotations


def flatten(tree):
    leaves = []

    def visit(node):
        if isinstance(node, (tuple, list)):
            return (type(node), [visit(child) for child in node])
        if isinstance(node, dict):
            return (dict, [(key, visit(node[key])) for key in node])
        leaves.append(node)
        return None

    return leaves, visit(tree)


def unflatten(spec, leaves):
    iterator = iter(leaves)

    def build(node):
        if node is None:
            return next(iterator)
        kind, children = node
        if kind is dict:
            return {key: build(child) for key, child in children}
        return kind(build(child) for child in children)

    return build(spec)


def tree_map(fn, tree, *rest):
    leaves, spec = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(spec, [fn(leaf, *(o[i] for o in others)) for i, leaf in enumerate(leaves)])
