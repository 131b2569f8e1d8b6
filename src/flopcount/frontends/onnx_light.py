"""An .onnx file read into light Python objects, without protobuf, NumPy or onnx.

`read_light` walks the protobuf wire format (https://protobuf.dev/programming-guides/
encoding/) as `onnx_wire.read_skeleton` does, through small positioned reads, never reading
the data of a large initializer, and decodes the messages the fast path needs into objects
whose fields carry the names of onnx's generated classes (``node.op_type``, ``attr.ints``,
``tensor.dims``, ``type.tensor_type.shape.dim``...), so `onnx_graph.Lowering` and the helpers
of `onnx_proto` / `onnx_values` read them as they read protos. Anything the fast path does not
handle (subgraphs, functions, sparse or non-tensor types, ``ref_attr_name``, a repeated
singular message) raises `NotFastError`; malformed bytes raise `WireError`.

Field numbers from ``onnx/onnx.proto`` (IR version 10 / onnx 1.16+), written next to each
class. Repeated numeric fields are read packed or not, as protobuf parsers must. (Plain
classes with ``__slots__``, not dataclasses: creating a dataclass costs most of a millisecond
at import, and this module is imported to save milliseconds.)
"""

from __future__ import annotations

import os

from flopcount.frontends.onnx_light_tensor import Tensor, large_tensor, tensor
from flopcount.frontends.onnx_small import NotFastError
from flopcount.frontends.onnx_wire import (
    GRAPH_INITIALIZER,
    LARGE_TENSOR_BYTES,
    MODEL_GRAPH,
    _fields,
    _File,
    read_fixed,
    read_ints,
    scan,
    signed,
    text,
)

__all__ = ["Model", "read_light"]


class Attribute:
    """An AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, strings 9,
    tensors 10, type 20 (g 6, graphs 11, tp 14, ref_attr_name 21... make it `NotFastError`)."""

    __slots__ = (
        "f",
        "floats",
        "g",
        "graphs",
        "i",
        "ints",
        "name",
        "s",
        "strings",
        "t",
        "tensors",
        "type",
    )

    def __init__(self) -> None:
        self.name = ""
        self.type = 0
        self.f = 0.0
        self.i = 0
        self.s = b""
        self.t: Tensor | None = None
        self.floats: list[float] = []
        self.ints: list[int] = []
        self.strings: list[bytes] = []
        self.tensors: list[Tensor] = []
        self.g: None = None
        self.graphs: tuple[()] = ()


def attribute(data: bytes, pos: int, end: int) -> Attribute:
    out = Attribute()
    for number, wire, a, b in scan(data, pos, end):
        if number == 1 and wire == 2:
            out.name = text(data, a, b)
        elif number == 20 and wire == 0:
            out.type = a
        elif number == 2:
            floats: list[float] = []
            read_fixed(data, wire, a, b, "f", floats)
            out.f = floats[-1]
        elif number == 3 and wire == 0:
            out.i = signed(a)
        elif number == 4 and wire == 2:
            out.s = data[a:b]
        elif number == 5 and wire == 2:
            if out.t is not None:
                raise NotFastError("an attribute with two tensors")
            out.t = tensor(data, a, b)
        elif number == 7:
            read_fixed(data, wire, a, b, "f", out.floats)
        elif number == 8:
            read_ints(data, wire, a, b, out.ints)
        elif number == 9 and wire == 2:
            out.strings.append(data[a:b])
        elif number == 10 and wire == 2:
            out.tensors.append(tensor(data, a, b))
        elif number != 13:  # doc_string
            raise NotFastError(f"AttributeProto field {number}")
    if out.type not in (1, 2, 3, 4, 6, 7, 8, 9) or (out.type == 4 and out.t is None):
        raise NotFastError(f"attribute {out.name!r} of type {out.type}")
    return out


class Node:
    """A NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7."""

    __slots__ = ("attribute", "domain", "input", "name", "op_type", "output")

    def __init__(self) -> None:
        self.input: list[str] = []
        self.output: list[str] = []
        self.name = ""
        self.op_type = ""
        self.domain = ""
        self.attribute: list[Attribute] = []


def node(data: bytes, pos: int, end: int) -> Node:
    out = Node()
    for number, wire, a, b in scan(data, pos, end):
        if wire != 2 and number != 8:
            raise NotFastError(f"NodeProto field {number} of wire type {wire}")
        if number == 1:
            out.input.append(text(data, a, b))
        elif number == 2:
            out.output.append(text(data, a, b))
        elif number == 3:
            out.name = text(data, a, b)
        elif number == 4:
            out.op_type = text(data, a, b)
        elif number == 5:
            out.attribute.append(attribute(data, a, b))
        elif number == 7:
            out.domain = text(data, a, b)
        elif number not in (6, 9) and not (number == 8 and a == b):  # doc, metadata
            raise NotFastError(f"NodeProto field {number}")
    return out


class Dim:
    """TensorShapeProto.Dimension: dim_value 1, dim_param 2 (denotation 3)."""

    __slots__ = ("dim_param", "dim_value", "has_value")

    def __init__(self) -> None:
        self.dim_value = 0
        self.dim_param = ""
        self.has_value = False

    def HasField(self, name: str) -> bool:
        return self.has_value if name == "dim_value" else bool(self.dim_param)


class TensorType:
    """TypeProto.Tensor: elem_type 1, shape 2 (a TensorShapeProto: dim 1)."""

    __slots__ = ("dims", "elem_type")

    def __init__(self) -> None:
        self.elem_type = 0
        self.dims: list[Dim] | None = None

    @property
    def shape(self) -> TensorType:
        return self

    @property
    def dim(self) -> list[Dim]:
        return self.dims or []

    def HasField(self, name: str) -> bool:
        return name == "shape" and self.dims is not None


class Type:
    """A TypeProto of the tensor kind (tensor_type 1), or none at all."""

    __slots__ = ("tensor_type",)

    def __init__(self) -> None:
        self.tensor_type: TensorType | None = None

    def WhichOneof(self, group: str) -> str | None:
        return "tensor_type" if self.tensor_type is not None else None

    def HasField(self, name: str) -> bool:
        return name == "tensor_type" and self.tensor_type is not None


def _dim(data: bytes, pos: int, end: int) -> Dim:
    out = Dim()
    for number, wire, a, b in scan(data, pos, end):
        if number == 1 and wire == 0:
            out.dim_value, out.has_value, out.dim_param = signed(a), True, ""
        elif number == 2 and wire == 2:
            out.dim_param, out.has_value = text(data, a, b), False
        elif number != 3:
            raise NotFastError(f"Dimension field {number}")
    return out


def _tensor_type(data: bytes, pos: int, end: int) -> TensorType:
    out = TensorType()
    for number, wire, a, b in scan(data, pos, end):
        if number == 1 and wire == 0:
            out.elem_type = a
        elif number == 2 and wire == 2 and out.dims is None:
            out.dims = [_dim(data, c, d) for n, w, c, d in scan(data, a, b) if n == 1 and w == 2]
        else:
            raise NotFastError(f"TypeProto.Tensor field {number}")
    return out


class ValueInfo:
    """A ValueInfoProto: name 1, type 2 (a TypeProto: tensor_type 1; others `NotFastError`)."""

    __slots__ = ("name", "type")

    def __init__(self) -> None:
        self.name = ""
        self.type: Type = Type()


def value_info(data: bytes, pos: int, end: int) -> ValueInfo:
    out = ValueInfo()
    for number, wire, a, b in scan(data, pos, end):
        if number == 1 and wire == 2:
            out.name = text(data, a, b)
        elif number == 2 and wire == 2 and out.type.tensor_type is None:
            for inner, inner_wire, c, d in scan(data, a, b):
                if inner != 1 or inner_wire != 2 or out.type.tensor_type is not None:
                    if inner == 6:  # denotation
                        continue
                    raise NotFastError(f"a TypeProto of kind {inner}")
                out.type.tensor_type = _tensor_type(data, c, d)
        elif number not in (3, 4):  # doc_string, metadata_props
            raise NotFastError(f"ValueInfoProto field {number}")
    return out


class Graph:
    """A GraphProto: node 1, name 2, initializer 5, input 11, output 12, value_info 13."""

    __slots__ = ("initializer", "input", "name", "node", "output", "value_info")

    def __init__(self) -> None:
        self.name = ""
        self.node: list[Node] = []
        self.initializer: list[Tensor] = []
        self.input: list[ValueInfo] = []
        self.output: list[ValueInfo] = []
        self.value_info: list[ValueInfo] = []


def _graph_field(graph: Graph, data: bytes, number: int, wire: int, a: int, b: int) -> None:
    if wire != 2:
        raise NotFastError(f"GraphProto field {number} of wire type {wire}")
    if number == 1:
        graph.node.append(node(data, a, b))
    elif number == 2:
        graph.name = text(data, a, b)
    elif number == 5:
        graph.initializer.append(tensor(data, a, b))
    elif number in (11, 12, 13):
        {11: graph.input, 12: graph.output, 13: graph.value_info}[number].append(
            value_info(data, a, b)
        )
    elif number not in (10, 14, 16):  # doc_string, quantization_annotation, metadata
        raise NotFastError(f"GraphProto field {number}")


class Opset:
    """An OperatorSetIdProto: domain 1, version 2."""

    __slots__ = ("domain", "version")

    def __init__(self) -> None:
        self.domain = ""
        self.version = 0


class Model:
    """A ModelProto: ir_version 1, graph 7, opset_import 8 (functions 25: `NotFastError`)."""

    __slots__ = ("functions", "graph", "ir_version", "opset_import")

    def __init__(self) -> None:
        self.ir_version = 0
        self.graph: Graph | None = None
        self.opset_import: list[Opset] = []
        self.functions: tuple[()] = ()


def _opset(data: bytes, pos: int, end: int) -> Opset:
    out = Opset()
    for number, wire, a, b in scan(data, pos, end):
        if number == 1 and wire == 2:
            out.domain = text(data, a, b)
        elif number == 2 and wire == 0:
            out.version = signed(a)
    return out


def _model_field(model: Model, data: bytes, number: int, wire: int, a: int, b: int) -> None:
    if number == 1 and wire == 0:
        model.ir_version = signed(a)
    elif number == 8 and wire == 2:
        model.opset_import.append(_opset(data, a, b))
    elif number == 25:
        raise NotFastError("a model with local functions")
    elif number not in (2, 3, 4, 5, 6, 14, 20, 26):  # names, docs, metadata, training info
        raise NotFastError(f"ModelProto field {number}")


def read_light(path: str | None, data: bytes = b"") -> Model:
    """The model in file ``path`` (or in ``data`` when ``path`` is None), large weights
    unread. (``os`` rather than ``pathlib``, whose import costs more than reading a model.)"""
    if path is None:
        return _read(_File(None, len(data), data))
    with open(path, "rb", buffering=0) as handle:
        return _read(_File(handle, os.fstat(handle.fileno()).st_size))


def _read(buf: _File) -> Model:
    model, graph_range = Model(), None
    for number, key, start, end in _fields(buf, 0, buf.size):
        if number == MODEL_GRAPH:
            if graph_range is not None:
                raise NotFastError("two graph fields")
            graph_range = (start, end)
        else:
            chunk = buf.slice(key, end)
            for inner in scan(chunk, 0, len(chunk)):
                _model_field(model, chunk, *inner)
    if graph_range is None:
        return model
    model.graph = graph = Graph()
    for number, key, start, end in _fields(buf, *graph_range):
        if number == GRAPH_INITIALIZER and end - start > LARGE_TENSOR_BYTES:
            graph.initializer.append(large_tensor(buf, start, end))
            continue
        chunk = buf.slice(key, end)
        for inner in scan(chunk, 0, len(chunk)):
            _graph_field(graph, chunk, *inner)
    return model
