"""`zoo upscale clip.mkv`: every stream, timestamp and colour tag kept; frames equal the image path's; bad clips refused."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo_core.cli import main
from zoo_core.infer.video_frames import to_rgb
from video_media import CHAPTERS, FONT, VFR, frames, make_clip, packets

pytestmark = pytest.mark.slow  # each test encodes and decodes real (tiny) clips


def upscale(*args: str) -> int:
    """`zoo upscale … -m example-tiny`; on torch unless a test names the backend (the frame-exactness test runs the
    default ncnn path first, then torch): video behaviour does not depend on it, and it saves an export per run."""
    backend = [] if "--backend" in args else ["--backend", "torch"]
    return main(["upscale", *args, "-m", "example-tiny", "-q", *backend])


def decoded_inputs(path) -> list[np.ndarray]:
    """The input's frames as zoo decodes them (its own matrix and range), the images to compare with."""
    with av.open(str(path)) as c:
        return [to_rgb(f, False) for f in c.decode(video=0)]


@pytest.mark.parametrize("backend", ["ncnn", "torch"])  # the default CPU path first
def test_mkv_keeps_every_stream_timestamp_and_frame(tmp_path, backend):
    src = make_clip(tmp_path / "in.mkv", audio=(("libopus", 48000, 2), ("aac", 44100, 1)), subtitle=True,
                    attachment=True, chapters=True)
    out = tmp_path / "out.mkv"
    assert upscale(str(src), "-o", str(out), "--vcodec", "ffv1", "--backend", backend) == 0
    before, after = packets(src), packets(out)
    for i in (1, 2, 3):  # both audio tracks and the subtitle: the same bytes at the same times
        assert after[i] == before[i]
    got = frames(out)
    assert [f[0] for f in got] == VFR  # variable frame rate stays variable
    assert [f[1] for f in got] == [f[1] for f in frames(src)]  # durations: the same total length
    # each output frame is the decoded input frame upscaled as an image would be (ffv1: lossless RGB)
    up = zoo.load("example-tiny", backend=backend)
    for (_, _, pixels), image in zip(got, decoded_inputs(src)):
        assert np.array_equal(pixels, up.upscale_array(image))
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio", "audio", "subtitle", "attachment"]
        assert c.streams[1].metadata["language"] == "jpn" and c.streams[3].metadata["language"] == "eng"
        assert c.streams[3].disposition & av.stream.Disposition.forced  # a signs-and-songs track stays forced
        att = c.streams[4]
        assert att.metadata["filename"] == "font.ttf" and bytes(att.data) == FONT
        assert [(ch["metadata"]["title"], float(ch["start"] * ch["time_base"])) for ch in c.chapters()] == \
            [(ch["metadata"]["title"], float(ch["start"] * ch["time_base"])) for ch in CHAPTERS]
        assert c.metadata["title"] == "zoo test clip"


def test_frames_equal_the_png_path(tmp_path):
    """The same frames written as PNG and upscaled by `zoo upscale` give the video's frames."""
    src = make_clip(tmp_path / "in.mkv", pts=[0, 40, 80])
    for i, image in enumerate(decoded_inputs(src)):
        Image.fromarray(image).save(tmp_path / f"f{i}.png")
    assert upscale(str(tmp_path / "f0.png"), str(tmp_path / "f1.png"), str(tmp_path / "f2.png"),
                   "-o", str(tmp_path / "png")) == 0
    assert upscale(str(src), "-o", str(tmp_path / "out.mkv"), "--vcodec", "ffv1") == 0
    for i, (_, _, pixels) in enumerate(frames(tmp_path / "out.mkv")):
        assert np.array_equal(pixels, np.asarray(Image.open(tmp_path / "png" / f"f{i}.png")))


HDR = {"color_primaries": 9, "color_trc": 16, "colorspace": 9, "color_range": 1}  # BT.2020, PQ, BT.2020nc, limited


def test_ten_bit_hdr_stays_ten_bit_with_its_tags(tmp_path):
    src = make_clip(tmp_path / "hdr.mkv", codec="libx265", pix_fmt="yuv420p10le", pts=[0, 40, 80, 120],
                    tags=HDR, options={"x265-params": "lossless=1:log-level=error"})
    out = tmp_path / "out.mkv"
    assert upscale(str(src), "-o", str(out)) == 0  # the default encoder: x265, 10-bit
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        assert c.streams.video[0].codec_context.name == "hevc" and f.format.name == "yuv420p10le"
        assert (f.color_primaries, f.color_trc, f.colorspace, f.color_range) == (9, 16, 9, 1)
        assert (f.width, f.height) == (64, 48)
    lossless = tmp_path / "out16.mkv"
    assert upscale(str(src), "-o", str(lossless), "--vcodec", "ffv1") == 0
    with av.open(str(src)) as c:
        want = [to_rgb(f, True) for f in c.decode(video=0)]
    up = zoo.load("example-tiny", backend="torch")
    for (_, _, pixels), image in zip(frames(lossless, "rgb48le"), want):
        assert pixels.dtype == np.uint16 and np.any(pixels % 257)  # more than 8 bits survive
        assert np.abs(pixels.astype(int) - up.upscale_array(image)).max() <= 65535 // 1023 + 1  # 10-bit steps


def test_rotated_phone_clip_and_sar_are_carried(tmp_path):
    src = make_clip(tmp_path / "phone.mp4", fmt="mp4", size=(32, 24), pts=[0, 33, 66], rotation=90,
                    sar=Fraction(4, 3), audio=(("aac", 44100, 1),))
    out = tmp_path / "out.mp4"
    assert upscale(str(src), "-o", str(out), "--vcodec", "libx264") == 0
    assert upscale(str(src), "-o", str(tmp_path / "hevc.mp4")) == 0
    with av.open(str(tmp_path / "hevc.mp4")) as c:
        assert c.streams.video[0].codec_context.codec_tag == "hvc1"  # playable on Apple devices
        assert next(c.decode(video=0)).rotation == 90
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        f = next(c.decode(vs))
        assert f.rotation == 90 and (f.width, f.height) == (64, 48)
        assert vs.codec_context.sample_aspect_ratio == Fraction(4, 3)
    assert packets(out)[1] == packets(src)[1]


def test_odd_sizes(tmp_path, capsys):
    src = make_clip(tmp_path / "odd.mkv", codec="ffv1", pix_fmt="yuv420p", size=(33, 25), pts=[0, 40])
    assert upscale(str(src), "-o", str(tmp_path / "out.mkv")) == 0
    assert [f[2].shape for f in frames(tmp_path / "out.mkv")] == [(50, 66, 3)] * 2
    assert upscale(str(src), "-o", str(tmp_path / "x.mkv"), "-s", "3") == 1  # 99×75 in 4:2:0: refused, said why
    assert "99×75, but yuv420p10le video needs even sizes" in capsys.readouterr().err
    full = make_clip(tmp_path / "odd444.mkv", codec="ffv1", pix_fmt="yuv444p", size=(33, 25), pts=[0, 40])
    assert upscale(str(full), "-o", str(tmp_path / "y.mkv"), "-s", "3") == 0  # 4:4:4 takes any size
    assert [f[2].shape for f in frames(tmp_path / "y.mkv")] == [(75, 99, 3)] * 2


def test_cut_clip_is_one_line_and_nothing_written(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mkv", audio=(("aac", 44100, 1),))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    assert upscale(str(cut), "-o", str(tmp_path / "out" / "cut.mkv")) == 1
    err = capsys.readouterr().err
    assert "the file is cut" in err and err.count("\n") == 2 and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_streams_the_container_refuses_are_named_before_any_work(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mkv", audio=(("pcm_s16le", 8000, 1),), subtitle=True, attachment=True)
    out = tmp_path / "out.mp4"
    assert upscale(str(src), "-o", str(out)) == 1
    err = capsys.readouterr().err
    assert "stream #2 (subtitle, subrip, eng) cannot be copied into .mp4" in err and "--drop subtitle" in err
    assert not out.exists() and not list(tmp_path.glob(".out.mp4*"))
    assert upscale(str(src), "-o", str(out), "--drop", "subtitle", "--drop", "attachment", "--vcodec", "libx264") == 0
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
    webm = tmp_path / "out.webm"
    assert upscale(str(src), "-o", str(webm), "--drop", "subtitle", "--drop", "attachment") == 1
    assert "--audio reencode" in capsys.readouterr().err  # PCM does not go into WebM as it is
    assert upscale(str(src), "-o", str(webm), "--drop", "subtitle", "--drop", "attachment", "--audio", "reencode",
                   "--vcodec", "libvpx-vp9") == 0
    with av.open(str(webm)) as c:
        assert [s.codec_context.name for s in c.streams] == ["vp9", "opus"]


def test_image_and_video_outputs_are_not_mixed_up(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mkv", pts=[0, 40])
    assert upscale(str(src), "-o", str(tmp_path / "x.png")) == 1
    assert "is a video, but -o" in capsys.readouterr().err
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    assert upscale(str(tmp_path / "a.png"), "-o", str(tmp_path / "x.mp4")) == 1
    assert "a video output needs a video input" in capsys.readouterr().err


def test_preview_start_and_duration(tmp_path):
    src = make_clip(tmp_path / "in.mkv", audio=(("aac", 44100, 1),), chapters=True)
    out = tmp_path / "out.mkv"
    assert upscale(str(src), "-o", str(out), "--start", "0.2", "--duration", "0.25", "--vcodec", "ffv1") == 0
    assert [f[0] for f in frames(out)] == [p - 200 for p in VFR if 200 <= p < 450]
    audio = packets(out)[1]
    assert audio and all(-30 <= t <= 260 for t, _ in audio)
    with av.open(str(out)) as c:
        assert [ch["metadata"]["title"] for ch in c.chapters()] == ["Part A", "Part B"]


def test_folder_of_videos_and_images(tmp_path):
    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "a.mkv", pts=[0, 40])
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "in" / "b.png")
    assert upscale(str(tmp_path / "in"), "-o", str(tmp_path / "out")) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mkv", "b.png"]


LONG = list(range(0, 1200, 40))  # 30 frames; keyframes every 5 (x264 keyint) give 6 segments of 0.1 s


def test_interrupted_job_resumes_to_the_same_file(tmp_path, monkeypatch):
    import zoo_core.infer.batch as batch

    src = make_clip(tmp_path / "in.mkv", pts=LONG, audio=(("aac", 44100, 1),),
                    options={"qp": "0", "x264-params": "keyint=5:min-keyint=5:scenecut=0"})
    common = ["--vcodec", "libx264", "--segment", "0.1", "--backend", "torch"]
    assert upscale(str(src), "-o", str(tmp_path / "whole.mkv"), *common) == 0
    real, calls = batch.upscale_one, []

    def stop_at_13(*a, **k):
        calls.append(1)
        if len(calls) == 13:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(batch, "upscale_one", stop_at_13)
    out = tmp_path / "out" / "part.mkv"
    assert upscale(str(src), "-o", str(out), *common) == 130
    work = out.parent / ".part.mkv.zoo-video"
    assert not out.exists() and sorted(p.name for p in work.iterdir() if p.suffix == ".zseg") == \
        ["seg000000.zseg", "seg000001.zseg"]  # frames 0-9 finished; the third segment was dropped, not kept half
    assert not [p for p in work.iterdir() if p.name.endswith(".part")]
    calls.clear()
    monkeypatch.setattr(batch, "upscale_one", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert upscale(str(src), "-o", str(out), *common, "--resume") == 0
    assert len(calls) == 20  # only the unfinished segments were upscaled
    assert out.read_bytes() == (tmp_path / "whole.mkv").read_bytes() and not work.exists()


def test_alpha_video_is_refused_not_flattened(tmp_path, capsys):
    src = make_clip(tmp_path / "alpha.mkv", codec="ffv1", pix_fmt="yuva420p", pts=[0, 40])
    assert upscale(str(src), "-o", str(tmp_path / "out.mkv")) == 1
    assert "has an alpha channel (yuva420p)" in capsys.readouterr().err and not (tmp_path / "out.mkv").exists()


def test_sigterm_leaves_no_output_and_resume_finishes(tmp_path):
    """A real process stopped by SIGTERM mid-run: exit 143, one line, no output, no half segment; --resume ends it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    src = make_clip(tmp_path / "in.mkv", pts=list(range(0, 2400, 40)), size=(96, 72),
                    options={"qp": "0", "x264-params": "keyint=5:min-keyint=5:scenecut=0"})
    out = tmp_path / "out.mkv"
    cmd = [sys.executable, "-m", "zoo", "upscale", str(src), "-o", str(out), "-m", "example-tiny", "-q", "--tta",
           "--backend", "torch", "--vcodec", "libx264", "--segment", "0.1"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    work = tmp_path / ".out.mkv.zoo-video"
    deadline = time.monotonic() + 600  # a loaded machine can take minutes to start; the signal lands either way
    while not (work / "seg000000.zseg").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.skip(f"the run ended before it could be interrupted (rc {proc.returncode})")
    had_segment = (work / "seg000000.zseg").exists()
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert not out.exists()
    assert (work / "seg000000.zseg").exists() or not had_segment  # a finished segment is kept for --resume
    assert not [p for p in tmp_path.rglob("*.part")]
    assert upscale(str(src), "-o", str(out), "--tta", "--backend", "torch", "--vcodec", "libx264", "--segment", "0.1",
                   "--resume") == 0
    assert [f[0] for f in frames(out)] == list(range(0, 2400, 40)) and not work.exists()
