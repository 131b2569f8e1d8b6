"""PyTorch frontend: the Graph it builds (scopes, parameters, specs, inputs, unsupported ops)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from test_torch_support import Encoder, TinyCnn, macs, ops  # noqa: E402

from flopcount.costs import REGISTRY  # noqa: E402
from flopcount.errors import FrontendError  # noqa: E402
from flopcount.frontends.torch import lower  # noqa: E402
from flopcount.ir import TensorSpec  # noqa: E402


def test_scopes_are_dotted_module_paths() -> None:
    graph = lower(Encoder(d=16, layers=2, classes=3), (2, 5, 16))
    gemms = [n.scope for n in graph.nodes if n.op == "Gemm"]
    assert gemms == [
        "encoder.layers.0.mlp.fc1", "encoder.layers.0.mlp.fc2",
        "encoder.layers.1.mlp.fc1", "encoder.layers.1.mlp.fc2", "head",
    ]  # fmt: skip
    by_op = {n.op: n.scope for n in graph.nodes}
    assert by_op["LayerNormalization"] == "encoder.layers.1.norm"
    assert by_op["Gelu"] == "encoder.layers.1.mlp"  # F.gelu runs in Mlp.forward itself
    assert by_op["ReduceMean"] == ""  # x.mean(1) runs in the top-level forward
    # 2 layers * (fc1 16->64 + fc2 64->16) * 10 tokens + head 16->3 on 2 rows
    assert macs(graph) == 2 * (16 * 64 + 64 * 16) * 10 + 2 * 16 * 3


class TiedLm(nn.Module):
    """GPT-2 style: the output projection shares the token embedding's weight."""

    def __init__(self, vocab: int = 50, d: int = 8) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.ln = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.ln(self.wte(ids)))


def test_tied_weights_are_one_parameter() -> None:
    graph = lower(TiedLm(), ((1, 7), torch.int64))
    assert list(graph.parameters) == ["wte.weight", "ln.weight", "ln.bias"]
    assert sum(s.numel for s in graph.parameters.values()) == 50 * 8 + 8 + 8
    head = next(n for n in graph.nodes if n.op == "MatMul")
    assert head.scope == "lm_head"
    assert head.inputs[1].kind == "parameter" and head.inputs[1].name == "wte.weight"
    gather = next(n for n in graph.nodes if n.op == "Gather")
    assert [s.kind for s in gather.inputs] == ["parameter", "input"]
    assert gather.inputs[1].dtype == "int64"
    assert macs(graph) == 7 * 8 * 50  # tokens * d * vocab


def test_buffers_are_apart_and_kinds_are_set() -> None:
    graph = lower(TinyCnn(), (2, 3, 8, 8))
    assert set(graph.buffers) == {"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}
    assert graph.buffers["bn.num_batches_tracked"].dtype == "int64"
    assert not set(graph.buffers) & set(graph.parameters)
    bn = next(n for n in graph.nodes if n.op == "BatchNormalization")
    assert [s.kind for s in bn.inputs] == ["activation", "parameter", "parameter", "buffer",
                                           "buffer"]  # fmt: skip
    assert bn.attrs["training_mode"] == 0
    conv = graph.nodes[0]
    assert (conv.op, conv.inputs[0].kind, conv.inputs[0].name) == ("Conv", "input", "x")
    assert graph.inputs == [TensorSpec((2, 3, 8, 8), "float32", "x", "input")]
    assert [o.shape for o in graph.outputs] == [(2, 4)]
    assert graph.framework == "torch" and graph.name == "TinyCnn"
    assert ops(graph).count("GlobalAveragePool") == 1  # adaptive_avg_pool2d(x, 1) is a mean


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids: torch.Tensor, extra: list, *, scale: float = 1.0) -> torch.Tensor:
        return self.emb(ids) * scale + extra[0] + extra[1]


@pytest.mark.parametrize(
    "ids",
    [
        ((2, 3), torch.int64),
        TensorSpec((2, 3), "int64"),
        torch.zeros(2, 3, dtype=torch.long),
        torch.empty(2, 3, dtype=torch.long, device="meta"),
    ],
)
def test_input_forms(ids: object) -> None:
    extra = [torch.Size([2, 3, 4]), (1, 1, 4)]
    graph = lower(TwoInputs(), ids, extra, example_kwargs={"scale": 2.0})
    assert [(s.name, s.shape, s.dtype) for s in graph.inputs] == [
        ("ids", (2, 3), "int64"), ("extra.0", (2, 3, 4), "float32"),
        ("extra.1", (1, 1, 4), "float32"),
    ]  # fmt: skip
    assert ops(graph) == ["Gather", "Mul", "Add", "Add"]


def test_bare_shapes_for_token_ids_are_retried_as_int64() -> None:
    graph = lower(nn.Embedding(10, 4), (2, 3))
    assert graph.inputs[0].dtype == "int64"
    assert "inputs given as shapes are int64" in graph.notes


def test_bfloat16_model_specs() -> None:
    graph = lower(nn.Linear(4, 2).to(torch.bfloat16), ((3, 4), torch.bfloat16))
    assert {s.dtype for n in graph.nodes for s in (*n.inputs, *n.outputs)} == {"bfloat16"}


class Cumprod(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumprod(x, dim=-1) * 2


def test_unmapped_aten_op_is_reported_not_dropped() -> None:
    graph = lower(Cumprod(), (2, 5))
    assert ops(graph) == ["aten.cumprod", "Mul"]
    node = graph.nodes[0]
    assert REGISTRY.cost(node) is None  # unsupported: no formula, never a silent zero
    assert node.inputs[0].shape == (2, 5) and node.name == "aten.cumprod.default"


def test_arguments_are_checked() -> None:
    with pytest.raises(FrontendError, match=r"nn\.Module"):
        lower("resnet", (1, 3))  # type: ignore[arg-type]
    with pytest.raises(FrontendError, match="on_fake_failure"):
        lower(nn.ReLU(), (1, 3), on_fake_failure="maybe")
    with pytest.raises(FrontendError, match="dtype"):
        lower(nn.ReLU(), TensorSpec((1, 3), "float8"))


def test_producer_and_consumers_share_one_spec() -> None:
    graph = lower(Encoder(d=16, layers=2, classes=3), (2, 5, 16))
    produced = {t.name: t for n in graph.nodes for t in n.outputs}
    consumed = [t for n in graph.nodes for t in n.inputs if t.name in produced]
    # a view may share its base's name but not its shape; the others are the same tensor
    same = [t for t in consumed if t.shape == produced[t.name].shape]
    assert same  # activations flow from node to node
    assert all(t is produced[t.name] for t in same)


def test_a_resized_tensor_gets_a_new_spec() -> None:
    from flopcount.frontends.torch_specs import TensorTable

    table = TensorTable()
    tensor = torch.empty(2, 3, device="meta")
    first = table.spec(tensor)
    assert table.spec(tensor) is first
    tensor.resize_(4, 5)  # in place: same tensor, new shape
    resized = table.spec(tensor)
    assert resized.shape == (4, 5) and resized.name == first.name
    as_half = table.spec(tensor.to(torch.float16))
    assert as_half.dtype == "float16" and as_half.name != first.name  # a new tensor
