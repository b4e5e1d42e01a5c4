"""Utilities for modules, as in ``torch.nn.utils``: gradient clipping
(:func:`clip_grad_norm_`, :func:`clip_grad_value_`), flattening parameters into one vector and back
(:func:`parameters_to_vector`, :func:`vector_to_parameters`), calling a module with other
parameters (:func:`stateless.functional_call`), and packing variable-length sequences for the
recurrent layers (:mod:`.rnn`)."""
from . import rnn, stateless
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert import parameters_to_vector, vector_to_parameters
from .stateless import functional_call

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
           "functional_call", "rnn", "stateless"]
