"""Reading an upload safely: a byte cap while receiving, a pixel cap before decoding, one-line errors."""
from __future__ import annotations

import io
import warnings
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from ..cards import NAME_RE
from ..errors import ImageError, ZooError
from ..infer.imageio import DECODE_ERRORS
from ..infer.scaling import target_size
from .engine import FORMATS, MAX_SCALE, JobSpec
from .jobs import Limits, TooLarge

FORM_SLACK = 64 * 1024  # multipart boundaries and the small text fields around the image


def mb(n: int) -> str:
    """Bytes as a short human string."""
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


async def read_form(request: Request, limits: Limits) -> FormData:
    """The multipart form, refusing bodies over the limit before they are all in memory."""
    cap = limits.max_bytes + FORM_SLACK
    too_big = TooLarge(f"The upload is larger than the server's limit of {mb(limits.max_bytes)} "
                       f"(zoo serve --max-upload-mb).")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise too_big
    data = bytes(body)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    return await Request(request.scope, replay).form(max_files=1, max_fields=8)


def _number_field(form: FormData, name: str, default: float | None, lo: float, hi: float, kind: type = int) -> Any:
    """A form field through zoo's one number validator (5000 digits or 'nan' get its one-line error)."""
    from ..numbers import number

    raw = form.get(name)
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):
        raise ZooError(f"Field '{name}' must be a number, not a file.")
    return number(f"Field '{name}'", raw, kind=kind, lo=lo, hi=hi)


def parse_spec(form: FormData) -> JobSpec:
    """Model, noise, scale, TTA and output format; noise and scale default as `zoo upscale`'s -n and -s do."""
    import zoo

    model = form.get("model")
    if not isinstance(model, str) or not model:
        raise ZooError("No model chosen: send the field 'model' (see /api/models).")
    if model.endswith((".yaml", ".yml")) or not NAME_RE.match(model):  # never a card file on the server's disk
        raise ZooError(f"Unknown model {model[:60]!r}: choose a model name from /api/models.")
    card = zoo.get_card(model)
    tta = str(form.get("tta") or "").lower() in ("1", "true", "on", "yes")
    fmt = str(form.get("format") or "png").lower().replace("jpg", "jpeg")
    if fmt not in FORMATS:
        raise ZooError(f"Field 'format' must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}.")
    return JobSpec(model=card.name, noise=_number_field(form, "noise", None, -1, 3),
                   scale=float(_number_field(form, "scale", card.scale, 1, MAX_SCALE, float)), tta=tta, format=fmt)


def upload_file(form: FormData) -> UploadFile:
    """The form's image field."""
    item = form.get("image")
    if not isinstance(item, UploadFile):
        raise ImageError("No image in the upload: send the file in the form field 'image'.")
    return item


def decode(data: bytes, name: str, limits: Limits, scale: float) -> Image.Image:
    """Check size and pixel count, then decode fully (so a truncated file fails here, not in a job)."""
    if not data:
        raise ImageError(f"{name}: the file is empty.")
    if len(data) > limits.max_bytes:
        raise TooLarge(f"{name}: {mb(len(data))} is over the limit of {mb(limits.max_bytes)} (zoo serve --max-upload-mb).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            im = Image.open(io.BytesIO(data))
            _check_pixels(im.size, name, limits, scale)
            im.load()
            return ImageOps.exif_transpose(im) or im
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file this server can read (try PNG, JPEG, WebP, GIF or BMP).") from None
    except Image.DecompressionBombError:
        raise TooLarge(f"{name}: the image has too many pixels (limit {limits.max_pixels:,}).") from None
    except DECODE_ERRORS as exc:  # the CLI's list: Pillow raises IndexError, TypeError… on damaged files
        raise ImageError(f"{name}: the image is damaged or truncated ({type(exc).__name__}: {exc}).") from None


def _check_pixels(size: tuple[int, int], name: str, limits: Limits, scale: float) -> None:
    w, h = size
    if w * h > limits.max_pixels:
        raise TooLarge(f"{name}: {w}×{h} is {w * h:,} pixels, over the limit of {limits.max_pixels:,} "
                       f"(zoo serve --max-pixels).")
    oh, ow = target_size(w, h, scale)
    if ow * oh > limits.max_output_pixels:
        raise TooLarge(f"{name}: {w}×{h} at {scale:g}× would be {ow * oh:,} pixels, over the output "
                       f"limit of {limits.max_output_pixels:,}; choose a smaller scale.")


def check_format(size: tuple[int, int], scale: float, fmt: str) -> None:
    """The result must fit the chosen format (WebP: 16383 pixels a side, JPEG: 65500), said before computing."""
    from ..infer.batch import MAX_SIDE

    h, w = target_size(size[0], size[1], scale)
    name = FORMATS[fmt][0]
    if max(w, h) > MAX_SIDE[name]:
        raise ZooError(f"The result would be {w}×{h}, but {name} stores at most {MAX_SIDE[name]} pixels a side; "
                       "choose PNG or a smaller scale.")
