"""Small PyTorch models exported with torch.onnx (legacy exporter): MACs equal hand arithmetic."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from onnx_helpers import total  # noqa: E402

from flopcount.errors import ShapeError  # noqa: E402
from flopcount.frontends.onnx import lower  # noqa: E402


def _export(module: object, args: tuple, path: Path, **kwargs: object) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, **kwargs)
    return path


class ConvNet(torch.nn.Module):
    """Conv(3->8, 3x3, pad 1) + BN + ReLU + global average pool + Linear(8 -> 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x: object) -> object:
        y = torch.relu(self.bn(self.conv(x)))
        return self.fc(y.mean(dim=(2, 3)))


class Encoder(torch.nn.Module):
    """One TransformerEncoderLayer (d 32, 4 heads, FFN 64), batch first."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)

    def forward(self, x: object) -> object:
        return self.layer(x, is_causal=False)


def test_conv_bn_relu_linear(tmp_path: Path) -> None:
    model = ConvNet().eval()
    path = _export(model, (torch.randn(2, 3, 16, 16),), tmp_path / "convnet.onnx",
                   input_names=["image"], dynamic_axes={"image": {0: "batch"}})  # fmt: skip
    graph = lower(path, dims={"batch": 4})
    conv_macs = 4 * 8 * 16 * 16 * 3 * 3 * 3  # N * C_out * H * W * k * k * C_in (BN folded)
    fc_macs = 4 * 10 * 8  # N * out * in
    assert total(graph).macs == conv_macs + fc_macs
    params = 8 * 3 * 3 * 3 + 8 + 10 * 8 + 10  # conv weight + bias (BN folded in), fc
    assert sum(p.numel for p in graph.parameters.values()) == params
    assert any(n.scope == "conv" and n.op == "Conv" for n in graph.nodes)


def test_transformer_encoder_layer_with_dynamic_axes(tmp_path: Path) -> None:
    path = _export(Encoder().eval(), (torch.randn(2, 7, 32),), tmp_path / "encoder.onnx",
                   input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "seq"}})  # fmt: skip
    # torch's legacy tracer bakes the key length (7) into a Reshape target: another seq is
    # a model that cannot run (ONNX Runtime rejects it too), reported as such
    with pytest.raises(ShapeError, match="Reshape node"):
        lower(path, dims={"batch": 3, "seq": 11})
    batch, seq, d, heads, ffn = 3, 7, 32, 4, 64
    graph = lower(path, dims={"batch": batch, "seq": seq})
    projections = batch * seq * d * 3 * d + batch * seq * d * d  # QKV in-projection + out
    attention = batch * heads * seq * seq * (d // heads) * 2  # Q K^T and P V
    feed_forward = 2 * batch * seq * d * ffn
    assert total(graph).macs == projections + attention + feed_forward
    scopes = {n.scope for n in graph.nodes if n.op == "LayerNormalization"}
    assert scopes == {"layer.norm1", "layer.norm2"}


class BertLayer(torch.nn.Module):
    """A BERT layer written the HuggingFace way, which ORT's optimizer fuses."""

    def __init__(self, d: int = 32, heads: int = 4, ffn: int = 64) -> None:
        super().__init__()
        self.heads, self.d = heads, d
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.f1, self.f2 = torch.nn.Linear(d, ffn), torch.nn.Linear(ffn, d)

    def _split(self, x: object) -> object:
        b, t, _ = x.shape  # type: ignore[attr-defined]
        return x.view(b, t, self.heads, self.d // self.heads).permute(0, 2, 1, 3)  # type: ignore

    def forward(self, x: object, mask: object) -> object:
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0  # type: ignore[index]
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d // self.heads) + bias
        context = torch.matmul(torch.softmax(scores, -1), v).permute(0, 2, 1, 3).contiguous()
        x = self.ln1(self.o(context.view(context.shape[0], context.shape[1], self.d)) + x)
        return self.ln2(self.f2(torch.nn.functional.gelu(self.f1(x))) + x)


def test_ort_fused_bert_costs_what_the_original_costs(tmp_path: Path) -> None:
    optimizer = pytest.importorskip("onnxruntime.transformers.optimizer")
    batch, seq, d, heads, ffn = 2, 10, 32, 4, 64
    args = (torch.randn(batch, seq, d), torch.ones(batch, seq, dtype=torch.int64))
    axes = {"x": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"}}
    path = _export(BertLayer().eval(), args, tmp_path / "bert.onnx",
                   input_names=["x", "mask"], dynamic_axes=axes)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused_model = optimizer.optimize_model(
            str(path), model_type="bert", num_heads=heads, hidden_size=d, opt_level=0
        )
    fused_path = tmp_path / "bert_fused.onnx"
    fused_model.save_model_to_file(str(fused_path))
    dims = {"batch": batch, "seq": seq}
    plain, fused = lower(path, dims=dims), lower(fused_path, dims=dims)
    ms_ops = {n.op for n in fused.nodes if n.domain == "com.microsoft"}
    assert {"Attention", "SkipLayerNormalization"} <= ms_ops
    macs = batch * seq * d * d * 4 + batch * heads * seq * seq * (d // heads) * 2
    macs += 2 * batch * seq * d * ffn
    assert total(plain).macs == total(fused).macs == macs
    # the fused graph drops the float mask's (1 - m) * -10000 (2 per mask element) and sums
    # the integer mask per row instead (1 int op per element)
    assert total(fused).flops == total(plain).flops - 2 * batch * seq
    assert total(fused).int_ops == total(plain).int_ops + batch * seq
