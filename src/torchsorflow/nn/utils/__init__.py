"""Utilities for modules: :func:`stateless.functional_call` and gradient clipping helpers."""
from . import stateless  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .convert import parameters_to_vector, vector_to_parameters  # noqa: F401
from .stateless import functional_call  # noqa: F401
