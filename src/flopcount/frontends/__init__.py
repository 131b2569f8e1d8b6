"""Frontends: each lowers one framework's models into flopcount's IR (`flopcount.ir.Graph`).

``flopcount.frontends.torch`` (PyTorch), ``onnx`` and ``tensorflow`` import their framework
lazily: importing this package imports no framework.
"""
