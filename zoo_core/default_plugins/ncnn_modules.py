"""ncnn layers for the leaf modules of a traced network: convolutions, activations, PixelShuffle, plugins' own."""
from __future__ import annotations

from torch import nn

from ..capabilities import ncnn_layer
from .ncnn_layer import Layer, UnsupportedModule


# ncnn's per-layer featmask (param 31): bit 6 turns Winograd off for that layer. On a 3-input-channel 3x3 conv it
# took 0.60-0.80x the time (drrn-lite's, espcn7's and UpConv_7's entry convs, within 0.003 8-bit levels:
# benchmarks/README.md, Goal 1).
NO_WINOGRAD = 1 << 6
FEW_INPUTS = 4  # fewer input channels than one SSE pack: the RGB entry convolutions


def _pair(v: object) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))  # type: ignore[index]


def _conv(m: nn.Conv2d, name: str, src: str, dst: str) -> Layer:
    if m.padding_mode != "zeros":
        raise UnsupportedModule(f"{name}: padding_mode '{m.padding_mode}' (only zeros)")
    if isinstance(m.padding, str):
        raise UnsupportedModule(f"{name}: string padding '{m.padding}'")
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = map(_pair, (m.kernel_size, m.stride, m.dilation, m.padding))
    p: dict[int, object] = {0: m.out_channels, 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh,
                            4: pw, 15: pw, 14: ph, 16: ph, 5: int(m.bias is not None), 6: m.weight.numel()}
    if m.in_channels < FEW_INPUTS and m.groups == 1:
        p[31] = NO_WINOGRAD  # an RGB entry conv: Winograd's transforms cost more than its 3-channel GEMM saves
    kind = "Convolution"
    if m.groups != 1:
        kind, p[7] = "ConvolutionDepthWise", m.groups  # ncnn's layer for any grouped convolution
    layer = Layer(kind, name, [src], [dst], p, [(m.weight.detach().float().numpy(), True)])
    if m.bias is not None:
        layer.weights.append((m.bias.detach().float().numpy(), False))
    return layer


def _deconv(m: nn.ConvTranspose2d, name: str, src: str, dst: str) -> Layer:
    if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise UnsupportedModule(f"{name}: grouped/non-zero-padded ConvTranspose2d")
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow) = map(
        _pair, (m.kernel_size, m.stride, m.dilation, m.padding, m.output_padding))
    p: dict[int, object] = {0: m.out_channels, 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh, 4: pw, 15: pw,
                            14: ph, 16: ph, 18: ow, 19: oh, 5: int(m.bias is not None), 6: m.weight.numel()}
    # PyTorch keeps (in, out, kh, kw); ncnn wants (out, in, kh, kw), no spatial flip.
    w = m.weight.detach().float().transpose(0, 1).contiguous().numpy()
    layer = Layer("Deconvolution", name, [src], [dst], p, [(w, True)])
    if m.bias is not None:
        layer.weights.append((m.bias.detach().float().numpy(), False))
    return layer


def _unary(kind: str, params: dict[int, object]):
    return lambda name, src, dst: Layer(kind, name, [src], [dst], dict(params))


def module_layer(m: nn.Module, name: str, src: str, dst: str) -> Layer | None:
    """The layer for a leaf module; None for identities."""
    if isinstance(m, nn.Conv2d):
        return _conv(m, name, src, dst)
    if isinstance(m, nn.ConvTranspose2d):
        return _deconv(m, name, src, dst)
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return None
    names_layer = ncnn_layer(m)
    if names_layer is not None:  # a plugin's weightless module that names its ncnn layer
        kind, params = names_layer()
        return Layer(kind, name, [src], [dst], dict(params))
    if isinstance(m, nn.PReLU):  # per-channel (or one shared) slope, stored untagged like ncnn's own files
        return Layer("PReLU", name, [src], [dst], {0: m.num_parameters}, [(m.weight.detach().cpu().numpy(), False)])
    simple = {
        nn.ReLU: lambda: _unary("ReLU", {}),
        nn.LeakyReLU: lambda: _unary("ReLU", {0: float(m.negative_slope)}),  # type: ignore[attr-defined]
        nn.Sigmoid: lambda: _unary("Sigmoid", {}),
        nn.SELU: lambda: _unary("SELU", {0: 1.6732632423543772, 1: 1.0507009873554805}),
        nn.Hardtanh: lambda: _unary("Clip", {0: float(m.min_val), 1: float(m.max_val)}),  # type: ignore[attr-defined]
        nn.PixelShuffle: lambda: _unary("PixelShuffle", {0: int(m.upscale_factor)}),  # type: ignore[attr-defined]
    }
    make = simple.get(type(m))
    if make is None:
        raise UnsupportedModule(f"{name}: module {type(m).__name__}")
    return make()(name, src, dst)
