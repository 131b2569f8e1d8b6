"""The zoo's registry: names, options, example inputs, output shapes, errors, meta device."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest
import torch

from flopcount import zoo
from flopcount.errors import ModelLoadError

EXPECTED_NAMES = [
    "resnet18", "resnet50", "mobilenet_v2", "vit_b_16", "bert-base", "gpt2",
    "llama2-7b", "llama2-70b", "matmul", "conv3x3",
]  # fmt: skip

# Default inputs and outputs: (input shapes, output shapes).
DEFAULT_SHAPES = {
    "resnet18": ([(1, 3, 224, 224)], [(1, 1000)]),
    "resnet50": ([(1, 3, 224, 224)], [(1, 1000)]),
    "mobilenet_v2": ([(1, 3, 224, 224)], [(1, 1000)]),
    "vit_b_16": ([(1, 3, 224, 224)], [(1, 1000)]),
    "bert-base": ([(1, 128)], [(1, 128, 768), (1, 768)]),
    "gpt2": ([(1, 1024)], [(1, 1024, 50257)]),
    "llama2-7b": ([(1, 4096)], [(1, 4096, 32000)]),
    "llama2-70b": ([(1, 4096)], [(1, 4096, 32000)]),
    "matmul": ([(25, 16)], [(25, 9)]),
    "conv3x3": ([(1, 3, 32, 32)], [(1, 16, 32, 32)]),
}


def shapes(out: torch.Tensor | tuple[torch.Tensor, ...]) -> list[tuple[int, ...]]:
    outs = out if isinstance(out, tuple) else (out,)
    return [tuple(o.shape) for o in outs]


def test_names_are_exactly_the_documented_ones() -> None:
    assert zoo.names() == EXPECTED_NAMES


def test_entries_are_complete() -> None:
    for name in zoo.names():
        entry = zoo.get(name)
        assert entry.name == name
        assert entry.family in ("cnn", "transformer", "example")
        assert entry.description
        assert entry.reference, f"{name} has no published reference"


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_default_inputs_and_output_shapes_on_meta(name: str) -> None:
    model, inputs = zoo.build(name)
    expected_in, expected_out = DEFAULT_SHAPES[name]
    assert [tuple(x.shape) for x in inputs] == expected_in
    assert all(x.is_meta for x in inputs)
    with torch.no_grad():
        assert shapes(model(*inputs)) == expected_out


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("resnet50", torch.float32), ("conv3x3", torch.float32), ("matmul", torch.float32),
     ("gpt2", torch.int64), ("bert-base", torch.int64), ("llama2-7b", torch.int64)],
)  # fmt: skip
def test_input_dtypes(name: str, dtype: torch.dtype) -> None:
    assert zoo.get(name).example_inputs()[0].dtype == dtype


def test_parameter_dtypes_follow_the_published_checkpoints() -> None:
    llama, _ = zoo.build("llama2-7b")
    resnet, _ = zoo.build("resnet18")
    assert {p.dtype for p in llama.parameters()} == {torch.float16}  # HF torch_dtype float16
    assert {p.dtype for p in resnet.parameters()} == {torch.float32}


def test_options_and_defaults() -> None:
    assert zoo.get("resnet50").options == ("batch", "image_size")
    assert zoo.get("gpt2").options == ("batch", "seq")
    assert zoo.get("matmul").options == ()
    assert zoo.get("bert-base").defaults == {"batch": 1, "seq": 128}
    assert zoo.get("llama2-70b").defaults == {"batch": 1, "seq": 4096}
    assert zoo.get("conv3x3").defaults == {"batch": 1, "image_size": 32}


def test_image_overrides_change_input_and_output_shapes() -> None:
    model, (x,) = zoo.build("resnet50", batch=4, image_size=160)
    assert tuple(x.shape) == (4, 3, 160, 160)
    assert tuple(model(x).shape) == (4, 1000)
    conv, (y,) = zoo.build("conv3x3", batch=2, image_size=8)
    assert tuple(conv(y).shape) == (2, 16, 8, 8)  # padding 1 keeps H, W


def test_sequence_overrides_change_input_and_output_shapes() -> None:
    model, (ids,) = zoo.build("gpt2", batch=3, seq=77)
    assert tuple(ids.shape) == (3, 77)
    assert tuple(model(ids).shape) == (3, 77, 50257)
    llama, (ids,) = zoo.build("llama2-70b", seq=16)
    assert tuple(llama(ids).shape) == (1, 16, 32000)


def test_vit_image_size_resizes_its_position_table() -> None:
    model, (x,) = zoo.build("vit_b_16", image_size=384)
    patches = (384 // 16) ** 2  # 576 patches + 1 class token
    assert tuple(model.encoder.pos_embedding.shape) == (1, patches + 1, 768)
    assert tuple(model(x).shape) == (1, 1000)


def test_unknown_name_lists_close_matches_and_all_names() -> None:
    with pytest.raises(ModelLoadError) as info:
        zoo.get("resnet5")
    message = str(info.value)
    assert "'resnet50'" in message and "did you mean" in message
    assert all(name in message for name in EXPECTED_NAMES)
    with pytest.raises(ModelLoadError, match="'llama2-7b'"):
        zoo.build("llama2_7b")


def test_unknown_name_without_close_match_still_lists_names() -> None:
    with pytest.raises(ModelLoadError, match="available: resnet18, resnet50") as info:
        zoo.get("zzzz")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "kwargs", "takes"),
    [("resnet50", {"seq": 128}, "batch, image_size"),
     ("gpt2", {"image_size": 224}, "batch, seq"),
     ("matmul", {"batch": 2}, "no options")],
)  # fmt: skip
def test_inapplicable_option_names_what_the_model_takes(
    name: str, kwargs: dict[str, int], takes: str
) -> None:
    with pytest.raises(ModelLoadError, match=f"it takes: {takes}"):
        zoo.build(name, **kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "pattern"),
    [("gpt2", {"seq": 1025}, "exceeds its maximum 1024"),
     ("bert-base", {"seq": 513}, "exceeds its maximum 512"),
     ("vit_b_16", {"image_size": 200}, "multiple of 16"),
     ("resnet18", {"batch": 0}, "positive integer"),
     ("resnet18", {"batch": True}, "positive integer")],
)  # fmt: skip
def test_invalid_option_values(name: str, kwargs: dict[str, int], pattern: str) -> None:
    with pytest.raises(ModelLoadError, match=pattern):
        zoo.build(name, **kwargs)


def test_llama2_70b_builds_on_meta_without_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    model, _ = zoo.build("llama2-70b")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert all(p.is_meta for p in model.parameters())
    assert all(b.is_meta for b in model.buffers())
    assert grown_kib < 512 * 1024  # fp16 weights would need 2 * 68,976,648,192 bytes


def test_builds_are_deterministic() -> None:
    first, _ = zoo.build("mobilenet_v2")
    second, _ = zoo.build("mobilenet_v2")
    describe = [(n, tuple(p.shape), p.dtype) for n, p in first.named_parameters()]
    assert describe == [(n, tuple(p.shape), p.dtype) for n, p in second.named_parameters()]
    assert not first.training  # eval mode: dropout inactive


def test_importing_flopcount_does_not_import_torch() -> None:
    code = "import sys, flopcount; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("name", "gmacs"),
    [("resnet18", 1.814), ("resnet50", 4.089), ("mobilenet_v2", 0.301), ("vit_b_16", 17.564)],
)
def test_torchvision_mac_references(name: str, gmacs: float) -> None:
    # torchvision weight meta '_ops' (the "GFLOPS" column of its docs) counts MACs at 224x224.
    value, source = zoo.get(name).reference["macs"]
    assert value == pytest.approx(gmacs * 1e9)
    assert f"'_ops' = {gmacs}" in source
