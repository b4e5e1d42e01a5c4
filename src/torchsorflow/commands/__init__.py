"""Sub-commands of ``tsf``: each module defines ``register(subparsers)`` (see
:mod:`torchsorflow.cli`)."""
