"""Time imgstore's imaging pipeline against the straightforward one (and libvips, if present).

    python bench/imaging.py [--repeat 5] [--only "24 MP JPEG"]

It generates its own photographic-like images (gradients, shapes, texture and
noise; nothing is downloaded), runs every pipeline on every image in a fresh
process, round after round so that noise hits all pipelines alike, and prints
the median wall time, CPU time and peak RSS (VmHWM), the ratios between
pipelines, the goal on the 24 MP JPEG, and the PSNR of the tuned variants
against the straightforward ones. Each pipeline makes the same three variants
(2048, 1024 and 256 px boxes; JPEG q85, PNG when the image has transparency).
A benchmark, not a test: compare the ratios measured in one run, not absolute
numbers across machines.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOXES = (2048, 1024, 256)
QUALITY = 85
CACHE = Path(tempfile.gettempdir()) / "imgstore-bench-v2"
GOAL_SPEEDUP, GOAL_MEMORY, GOAL_VS_VIPS = 4.0, 1 / 3, 1.2


# -- images -------------------------------------------------------------------

def _photo(size: tuple[int, int], seed: int, alpha: bool = False, grain: float = 0.2):
    """Gradients, soft shapes, texture and sensor-like noise: compresses like a photo."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    w, h = size
    sky = Image.linear_gradient("L").resize(size)
    sun = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (sun, sky.transpose(Image.Transpose.ROTATE_90).resize(size), sky))
    draw = ImageDraw.Draw(image)
    for _ in range(60):  # hills, trees, buildings
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 40, w // 6)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.polygon([(x + rng.randrange(-r, r), y + rng.randrange(-r, r)) for _ in range(5)], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(w / 800))
    texture = Image.effect_noise((w // 4, h // 4), 64).resize(size, Image.Resampling.BICUBIC)
    image = Image.blend(image, Image.merge("RGB", (texture,) * 3), 0.15)
    noise = Image.merge("RGB", [Image.effect_noise(size, 32 + 4 * i) for i in range(3)])
    image = Image.blend(image, noise, grain)
    if alpha:
        mask = Image.radial_gradient("L").resize(size).point(lambda v: 255 if v < 150 else max(0, 400 - 2 * v))
        image.putalpha(mask)
    return image


def _animation(size=(800, 600), frames=30):
    from PIL import Image

    base = _photo(size, 7, grain=0.05)
    shots = [base.rotate(i * 3, resample=Image.Resampling.BILINEAR) for i in range(frames)]
    return [s.quantize(256) for s in shots]


def images() -> dict[str, Path]:
    """name -> file, generated once into a temporary folder."""
    CACHE.mkdir(exist_ok=True)
    made = {
        "24 MP JPEG": ("photo-24mp.jpg", lambda p: _photo((6000, 4000), 1).save(p, "JPEG", quality=92)),
        "12 MP JPEG": ("photo-12mp.jpg", lambda p: _photo((4000, 3000), 2).save(p, "JPEG", quality=92)),
        "12 MP RGBA PNG": ("cutout-12mp.png", lambda p: _photo((4000, 3000), 3, alpha=True, grain=0.05).save(p, "PNG")),
        "animated GIF": ("animation.gif", lambda p: (lambda f: f[0].save(
            p, "GIF", save_all=True, append_images=f[1:], duration=80, loop=0))(_animation())),
    }
    paths = {}
    for name, (filename, make) in made.items():
        path = CACHE / filename
        if not path.exists():
            print(f"generating {name} ...", file=sys.stderr)
            partial = path.with_suffix(".partial")
            make(partial)
            partial.rename(path)
        paths[name] = path
    return paths


# -- pipelines (run in the child) -------------------------------------------------

def _fit(width, height, box):
    if max(width, height) <= box:
        return width, height
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def straightforward(data: bytes) -> list[bytes]:
    """What most code does: decode everything, then resize every variant from the full image."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if alpha else "RGB")
    out = []
    for box in BOXES:
        variant = image.resize(_fit(*image.size, box), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        variant.save(buffer, "PNG") if alpha else variant.save(buffer, "JPEG", quality=QUALITY, optimize=True)
        out.append(buffer.getvalue())
    return out


def tuned(data: bytes) -> list[bytes]:
    """imgstore's own pipeline, exactly as the upload handler runs it (placeholders included)."""
    from chalicelib import imaging
    from chalicelib.config import Preset, Settings

    settings = Settings("bench", "bench", "bench", presets=tuple(
        Preset(str(box), box, "auto", QUALITY) for box in BOXES))
    return [v.data for v in imaging.process(data, settings).variants]


def vips(data: bytes) -> list[bytes]:
    """libvips: one shrink-on-load thumbnail for the largest, then a cascade."""
    import pyvips

    # Materialised once: the cascade reads it three times.
    image = pyvips.Image.thumbnail_buffer(data, BOXES[0], height=BOXES[0], size="down").copy_memory()
    out = []
    for box in BOXES:
        if max(image.width, image.height) > box:
            image = image.thumbnail_image(box, height=box, size="down")
        if image.hasalpha():
            out.append(image.pngsave_buffer())
        else:
            out.append(image.jpegsave_buffer(Q=QUALITY, optimize_coding=True, strip=True))
    return out


PIPELINES = {"straightforward": straightforward, "tuned": tuned, "pyvips": vips}


def child(pipeline: str, path: str) -> None:
    """One measurement in this fresh process: the pipeline's time, then the process's peak RSS."""
    run = PIPELINES[pipeline]
    if pipeline == "pyvips":
        import pyvips  # noqa: F401
    else:
        # Both Pillow pipelines would run in the same upload handler, with the
        # same modules loaded: so the difference in peak RSS is the pipelines' own.
        import chalicelib.imaging  # noqa: F401
        from PIL import ImageOps  # noqa: F401
    from PIL import Image

    Image.preinit()  # Pillow imports its common plugins on first open: a one-off, not the pipeline's
    data = Path(path).read_bytes()
    cpu, start = time.process_time(), time.perf_counter()
    run(data)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"ms": elapsed * 1000, "cpu": cpu * 1000, "mb": _peak_rss_kb() / 1024}))


def _peak_rss_kb() -> int:
    # VmHWM belongs to this program's memory; getrusage's ru_maxrss would carry
    # the parent's peak across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the parent ----------------------------------------------------------------------

def _measure(pipeline: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", pipeline, str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{pipeline} on {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _on_white(image):
    """As a page shows it: the colour of a fully transparent pixel does not count."""
    from PIL import Image

    image = image.convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def _psnr(a: bytes, b: bytes) -> float:
    from PIL import Image, ImageChops, ImageStat

    x, y = (_on_white(Image.open(io.BytesIO(d))) for d in (a, b))
    if x.size != y.size:
        return float("nan")
    mse = sum(ImageStat.Stat(ImageChops.difference(x, y)).sum2) / (3 * x.width * x.height)
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _vips_available() -> str | None:
    try:
        import pyvips
    except (ImportError, OSError):
        return None
    return f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


def machine() -> list[str]:
    import PIL
    from PIL import features

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    heif = __import__("pillow_heif").__version__
    lines = [
        f"- machine: {os.cpu_count()} cores (`nproc`), {cpu}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, Pillow {PIL.__version__} "
        f"(libjpeg-turbo {features.version('libjpeg_turbo')}, zlib {features.version('zlib')}), "
        f"pillow-heif {heif}",
        f"- libvips: {_vips_available() or 'not installed (column skipped)'}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh-process runs per pipeline and image")
    parser.add_argument("--only", action="append", help="just this image (repeatable)")
    parser.add_argument("--child", nargs=2, metavar=("PIPELINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    pipelines = ["straightforward", "tuned"] + (["pyvips"] if _vips_available() else [])
    paths = {n: p for n, p in images().items() if not args.only or n in args.only}
    runs: dict = {(i, p): [] for i in paths for p in pipelines}
    for round_ in range(args.repeat):
        for name, path in paths.items():
            for pipeline in pipelines:
                runs[(name, pipeline)].append(_measure(pipeline, path))
        print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)

    def median(name, pipeline, what):
        return statistics.median(r[what] for r in runs[(name, pipeline)])

    def ratio(name, a, b, what):
        return median(name, a, what) / median(name, b, what)

    print("\n".join(machine()))
    print(f"- {args.repeat} runs of each pipeline on each image, each run a fresh process, rounds interleaved; "
          "medians of wall time, CPU time and peak RSS")
    print("- each makes 2048, 1024 and 256 px variants, JPEG q85 (PNG when the image has transparency)\n")
    vs_vips = "pyvips" in pipelines
    head = ["image", *pipelines, "tuned vs straightforward"] + (["tuned vs pyvips"] if vs_vips else [])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, path in paths.items():
        cells = [f"{name} ({path.stat().st_size / 1e6:.1f} MB)"]
        cells += [f"{median(name, p, 'ms'):.0f} ms (CPU {median(name, p, 'cpu'):.0f}) / {median(name, p, 'mb'):.0f} MB"
                  for p in pipelines]
        cells.append(f"{ratio(name, 'straightforward', 'tuned', 'ms'):.2f}x faster "
                     f"(CPU {ratio(name, 'straightforward', 'tuned', 'cpu'):.2f}x), "
                     f"{ratio(name, 'tuned', 'straightforward', 'mb'):.2f}x the memory")
        if vs_vips:
            cells.append(f"{ratio(name, 'tuned', 'pyvips', 'ms'):.2f}x the time "
                         f"(CPU {ratio(name, 'tuned', 'pyvips', 'cpu'):.2f}x)")
        print("| " + " | ".join(cells) + " |")
    goal = "24 MP JPEG"
    if goal in paths:
        checks = [
            ("faster than straightforward", ratio(goal, "straightforward", "tuned", "ms"), ">=", GOAL_SPEEDUP),
            ("peak RSS of straightforward's", ratio(goal, "tuned", "straightforward", "mb"), "<=", GOAL_MEMORY),
        ]
        if vs_vips:
            checks.append(("the time of pyvips", ratio(goal, "tuned", "pyvips", "ms"), "<=", GOAL_VS_VIPS))
        print(f"\nGoal on the {goal} (wall-time medians):")
        for what, value, op, bound in checks:
            met = value >= bound if op == ">=" else value <= bound
            print(f"- {value:.2f}x {what} (goal {op} {bound:.2f}x): {'met' if met else 'MISSED'}")
    print("\nQuality: PSNR of tuned's variants against straightforward's (2048, 1024, 256 px):")
    for name, path in paths.items():
        data = path.read_bytes()
        pairs = zip(straightforward(data), tuned(data))
        print(f"- {name}: " + ", ".join(f"{_psnr(a, b):.1f} dB" for a, b in pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
