"""A zoo of well-known architectures, written here in PyTorch and built without weights.

Every model is constructed under ``torch.device("meta")``: parameters have shapes and dtypes but
no storage, so even Llama 2 70B builds in about a second using no memory, and nothing is ever
downloaded. Example inputs are meta tensors too (float32 images, int64 token ids).

    >>> from flopcount import zoo
    >>> model, inputs = zoo.build("resnet50", batch=8)
    >>> inputs[0].shape
    torch.Size([8, 3, 224, 224])

Names: resnet18, resnet50, mobilenet_v2, vit_b_16 (torchvision-equivalent layouts and module
names), bert-base, gpt2, llama2-7b, llama2-70b (Hugging Face-style module names), and the
textbook examples matmul and conv3x3. Each entry carries published reference numbers with their
source (``ZooEntry.reference``). Models are returned in eval mode (dropout inactive).

Options: ``batch`` (every model but ``matmul``), ``image_size`` (the CNNs, ``vit_b_16`` and
``conv3x3``; square images) and ``seq`` (the language models). An option a model does not take
raises `ModelLoadError` naming the options it does take. Defaults: batch 1; image_size 224
(32 for conv3x3); seq 128 for bert-base, 1024 for gpt2 (its full context) and 4096 for the
Llama 2 models (their full training context, Touvron et al. 2023, Table 1, and the sequence
length of this project's benchmarks).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from flopcount.errors import ModelLoadError
from flopcount.zoo import bert, examples, gpt2, llama, mobilenet, resnet, vit

__all__ = ["Family", "Sizes", "ZooEntry", "build", "get", "names"]

Family = Literal["cnn", "transformer", "example"]
OPTIONS = ("batch", "seq", "image_size")


@dataclass(frozen=True)
class Sizes:
    """Resolved input options of one build; ``None`` where the model does not take the option."""

    batch: int | None = None
    seq: int | None = None
    image_size: int | None = None


# An input's (shape, dtype), computed from the resolved sizes.
InputSpec = tuple[tuple[int, ...], torch.dtype]


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model: how to build it on the meta device and what inputs it takes.

    ``factory`` builds the model on the current device from the resolved `Sizes`;
    ``input_specs`` gives each input's (shape, dtype). ``defaults`` names the options the model
    takes and their defaults; ``max_values`` and ``multiple_of`` bound them. ``dtype`` is the
    parameter dtype (that of the published checkpoint). ``reference`` maps a quantity
    (``"params"``, ``"macs"``) to its published value and the source of that value.
    """

    name: str
    description: str
    family: Family
    factory: Callable[[Sizes], nn.Module]
    input_specs: Callable[[Sizes], tuple[InputSpec, ...]]
    defaults: Mapping[str, int] = field(default_factory=dict)
    reference: Mapping[str, tuple[int | float, str]] = field(default_factory=dict)
    max_values: Mapping[str, int] = field(default_factory=dict)
    multiple_of: Mapping[str, int] = field(default_factory=dict)
    dtype: torch.dtype = torch.float32

    @property
    def options(self) -> tuple[str, ...]:
        """The options this model takes, in the order batch, seq, image_size."""
        return tuple(option for option in OPTIONS if option in self.defaults)

    def resolve(
        self, batch: int | None = None, seq: int | None = None, image_size: int | None = None
    ) -> Sizes:
        """Fill defaults and validate; an inapplicable or invalid option raises ModelLoadError."""
        given = {"batch": batch, "seq": seq, "image_size": image_size}
        resolved: dict[str, int] = {}
        for option, value in given.items():
            if value is not None and option not in self.defaults:
                takes = ", ".join(self.options) if self.options else "no options"
                raise ModelLoadError(
                    f"zoo model {self.name!r} does not take {option}={value!r}; it takes: {takes}"
                )
            if option in self.defaults:
                resolved[option] = self._check(
                    option, self.defaults[option] if value is None else value
                )
        return Sizes(**resolved)

    def _check(self, option: str, value: int) -> int:
        """Validate one option's value: a positive int within this model's bounds."""
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelLoadError(
                f"zoo model {self.name!r}: {option} must be a positive integer, got {value!r}"
            )
        limit = self.max_values.get(option)
        if limit is not None and value > limit:
            raise ModelLoadError(
                f"zoo model {self.name!r}: {option}={value} exceeds its maximum {limit} "
                "(the size of its learned position table); use a smaller value"
            )
        step = self.multiple_of.get(option)
        if step is not None and value % step:
            raise ModelLoadError(
                f"zoo model {self.name!r}: {option}={value} must be a multiple of {step} "
                "(its patch size)"
            )
        return value

    @property
    def size_independent(self) -> bool:
        """True when the architecture is the same for every batch, seq and image size (only
        the inputs change), so one build serves every size."""
        return bool(getattr(self.factory, "size_independent", False))

    def build(
        self, *, batch: int | None = None, seq: int | None = None, image_size: int | None = None
    ) -> nn.Module:
        """The model on the meta device, in ``self.dtype``, in eval mode."""
        sizes = self.resolve(batch, seq, image_size)
        with torch.device("meta"):
            model = self.factory(sizes)
        return model.to(self.dtype).eval()

    def example_inputs(
        self, batch: int | None = None, seq: int | None = None, image_size: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Meta tensors of the model's inputs for these options (defaults where ``None``)."""
        sizes = self.resolve(batch, seq, image_size)
        return tuple(
            torch.empty(shape, dtype=dtype, device="meta")
            for shape, dtype in self.input_specs(sizes)
        )


def _fixed(make: Callable[[], nn.Module]) -> Callable[[Sizes], nn.Module]:
    """A factory for a model whose architecture does not depend on the input sizes."""

    def factory(sizes: Sizes) -> nn.Module:
        return make()

    factory.size_independent = True  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = make.__name__
    return factory


def _vit_b_16(sizes: Sizes) -> nn.Module:
    """ViT-B/16 sized for the requested image (its position table depends on it)."""
    return vit.vit_b_16(sizes.image_size or 224)


def _image(sizes: Sizes) -> tuple[InputSpec, ...]:
    """One RGB image batch: (N, 3, S, S) float32."""
    n, s = sizes.batch or 1, sizes.image_size or 224
    return (((n, 3, s, s), torch.float32),)


def _tokens(sizes: Sizes) -> tuple[InputSpec, ...]:
    """One batch of token ids: (B, T) int64."""
    return (((sizes.batch or 1, sizes.seq or 1), torch.int64),)


def _matmul_operand(sizes: Sizes) -> tuple[InputSpec, ...]:
    """The left operand A of the matmul example: (25, 16) float32."""
    return (((25, 16), torch.float32),)


def _torchvision_ref(weights: str, params: int, macs: float) -> dict[str, tuple[int | float, str]]:
    """Published params and MACs from torchvision's ``{weights}.IMAGENET1K_V1.meta``."""
    meta = f"torchvision {weights}.IMAGENET1K_V1 meta"
    return {
        "params": (params, f"{meta} 'num_params'"),
        # '_ops' is labelled GFLOPS in torchvision's docs but counts multiply-accumulates.
        "macs": (macs, f"{meta} '_ops' = {macs / 1e9:g} (GFLOPS column, counts MACs), 224x224"),
    }


_IMAGE_224 = {"batch": 1, "image_size": 224}
_LLAMA_DEFAULTS = {"batch": 1, "seq": 4096}


def _llama_ref(total_size: int, layers: int) -> tuple[int, str]:
    """Params from a Llama 2 HF checkpoint's fp16 byte total, less its fp32 RoPE buffers."""
    # model.safetensors.index.json "total_size" counts 2 bytes per fp16 parameter plus, per
    # layer, a float32 rotary inv_freq buffer of 64 values (4 bytes each).
    params = (total_size - layers * 64 * 4) // 2
    return (
        params,
        f"HF model.safetensors.index.json total_size {total_size:,} B: (total - {layers}*64*4)/2",
    )


_ENTRIES: tuple[ZooEntry, ...] = (
    ZooEntry(
        "resnet18", "ResNet-18 (He et al. 2016), ImageNet classifier", "cnn",
        _fixed(resnet.resnet18), _image, _IMAGE_224,
        _torchvision_ref("ResNet18_Weights", 11_689_512, 1.814e9),
    ),
    ZooEntry(
        "resnet50", "ResNet-50 v1.5 (He et al. 2016), ImageNet classifier", "cnn",
        _fixed(resnet.resnet50), _image, _IMAGE_224,
        _torchvision_ref("ResNet50_Weights", 25_557_032, 4.089e9),
    ),
    ZooEntry(
        "mobilenet_v2", "MobileNetV2 1.0 (Sandler et al. 2018), ImageNet classifier", "cnn",
        _fixed(mobilenet.mobilenet_v2), _image, _IMAGE_224,
        _torchvision_ref("MobileNet_V2_Weights", 3_504_872, 0.301e9),
    ),
    ZooEntry(
        "vit_b_16", "ViT-B/16 (Dosovitskiy et al. 2021), ImageNet classifier", "transformer",
        _vit_b_16, _image, _IMAGE_224,
        _torchvision_ref("ViT_B_16_Weights", 86_567_656, 17.564e9),
        multiple_of={"image_size": 16},
    ),
    ZooEntry(
        "bert-base", "BERT-base uncased encoder with pooler (Devlin et al. 2019)", "transformer",
        _fixed(bert.bert_base), _tokens, {"batch": 1, "seq": 128},
        {"params": (109_482_240, "HF transformers BertModel('bert-base-uncased').num_parameters()"
                    "; Devlin et al. 2019 Sec. 3 rounds it to 110M")},
        max_values={"seq": 512},
    ),
    ZooEntry(
        "gpt2", "GPT-2 small with tied LM head (Radford et al. 2019)", "transformer",
        _fixed(gpt2.gpt2_small), _tokens, {"batch": 1, "seq": 1024},
        {"params": (124_439_808, "HF transformers GPT2LMHeadModel('gpt2').num_parameters() "
                    "(tied head once); openai/gpt-2 names it '124M'")},
        max_values={"seq": 1024},
    ),
    ZooEntry(
        "llama2-7b", "Llama 2 7B, untied LM head (Touvron et al. 2023)", "transformer",
        _fixed(llama.llama2_7b), _tokens, _LLAMA_DEFAULTS,
        {"params": _llama_ref(13_476_839_424, 32)},  # meta-llama/Llama-2-7b-hf
        dtype=torch.float16,  # config.json "torch_dtype": "float16"
    ),
    ZooEntry(
        "llama2-70b", "Llama 2 70B with grouped-query attention (Touvron et al. 2023)",
        "transformer", _fixed(llama.llama2_70b), _tokens, _LLAMA_DEFAULTS,
        {"params": _llama_ref(137_953_316_864, 80)},  # meta-llama/Llama-2-70b-hf
        dtype=torch.float16,  # config.json "torch_dtype": "float16"
    ),
    ZooEntry(
        "matmul", "textbook (25x16) @ (16x9): input A, parameter B", "example",
        _fixed(examples.matmul), _matmul_operand, {},
        {"params": (16 * 9, "B is K x N = 16 x 9"), "macs": (25 * 16 * 9, "M*K*N")},
    ),
    ZooEntry(
        "conv3x3", "textbook nn.Conv2d(3, 16, 3, padding=1) on (1, 3, 32, 32)", "example",
        _fixed(examples.conv3x3), _image, {"batch": 1, "image_size": 32},
        {"params": (16 * 3 * 3 * 3 + 16, "C_out*C_in*k*k + C_out bias"),
         "macs": (16 * 32 * 32 * 3 * 3 * 3, "C_out*H*W*C_in*k*k at 32x32, batch 1")},
    ),
)  # fmt: skip

_REGISTRY: dict[str, ZooEntry] = {entry.name: entry for entry in _ENTRIES}


def names() -> list[str]:
    """Every zoo model's name, in registry order (CNNs, transformers, examples)."""
    return list(_REGISTRY)


def get(name: str) -> ZooEntry:
    """The entry called ``name``; an unknown name raises ModelLoadError with close matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ModelLoadError(
            f"no zoo model named {name!r}; {hint}available: {', '.join(_REGISTRY)}"
        ) from None


def build(
    name: str, *, batch: int | None = None, seq: int | None = None, image_size: int | None = None
) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """Build zoo model ``name`` on the meta device with example inputs for the given options."""
    entry = get(name)
    model = entry.build(batch=batch, seq=seq, image_size=image_size)
    return model, entry.example_inputs(batch, seq, image_size)
