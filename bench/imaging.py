"""Time imgstore's imaging pipeline against libvips and the straightforward Pillow pipeline.

    python bench/imaging.py [--repeat 5] [--only "12 MP JPEG"] [--cpus 1,2] [--quick]

It generates its own photographic-like images (gradients, shapes, texture and
noise; nothing is downloaded): the mix people upload. Every pipeline runs on
every image in a fresh process, pinned to one CPU (`taskset -c 0`: what Lambda
bills at 1536 MB) and on two, round after round so that noise hits all
pipelines alike. It prints medians of the process's CPU time, wall time and
peak RSS (VmHWM), the bytes of every variant, the PSNR of every variant
against the straightforward pipeline's, and the goal's verdict per image.

Every pipeline makes the same variants: 2048, 1024 and 256 px boxes; JPEG q85,
or WebP q85 (lossy, with alpha) when the image has transparency, as
`imaging.process` does under `auto`. pyvips' wheel has no HEVC decoder, so on
the HEIC the reference is the straightforward pipeline. A benchmark, not a
test: compare the ratios measured in one run, not absolute numbers across
machines.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import shutil
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
CACHE = Path(tempfile.gettempdir()) / "imgstore-bench-v3"
PSNR_FLOOR = 38.0
# Pillow writes an 18-byte JFIF header into every JPEG and libvips leaves it out:
# "no more bytes" allows that much (0.02% of the GIF's variants), no more.
BYTES_SLACK = 1.001
NO_HEVC = {"12 MP HEIC"}  # pyvips-binary is built without an HEVC decoder


# -- images -------------------------------------------------------------------


def _photo(size: tuple[int, int], seed: int, alpha: bool = False, grain: float = 0.2, texture: float = 0.15):
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
    noise_texture = Image.effect_noise((w // 4, h // 4), 64).resize(size, Image.Resampling.BICUBIC)
    image = Image.blend(image, Image.merge("RGB", (noise_texture,) * 3), texture)
    if grain:
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


def _heic(path, image) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    image.save(path, "HEIF", quality=80)


def _gif(path, frames) -> None:
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


# name -> (file, maker). The last three are issue 12's: an iPhone's default
# format, a 4K WebP, and a 24 MP export (no sensor noise, so under 25 MB).
MIX = {
    "24 MP JPEG": ("photo-24mp.jpg", lambda p: _photo((6000, 4000), 1).save(p, "JPEG", quality=92)),
    "12 MP JPEG": ("photo-12mp.jpg", lambda p: _photo((4000, 3000), 2).save(p, "JPEG", quality=92)),
    "12 MP RGBA PNG": ("cutout-12mp.png", lambda p: _photo((4000, 3000), 3, alpha=True, grain=0.05).save(p, "PNG")),
    "animated GIF": ("animation.gif", lambda p: _gif(p, _animation())),
    "12 MP HEIC": ("phone-12mp.heic", lambda p: _heic(p, _photo((4032, 3024), 5, grain=0.1))),
    "4K WebP": ("frame-4k.webp", lambda p: _photo((3840, 2160), 6, grain=0.1).save(p, "WEBP", quality=85)),
    "24 MP PNG": ("export-24mp.png", lambda p: _photo((6000, 4000), 8, grain=0, texture=0.1).save(p, "PNG")),
}


def images(names=None) -> dict[str, Path]:
    """name -> file (all of MIX, or only `names`), generated once into a temporary folder."""
    CACHE.mkdir(exist_ok=True)
    paths = {}
    for name in names or MIX:
        filename, make = MIX[name]
        path = CACHE / filename
        if not path.exists():
            print(f"generating {name} ...", file=sys.stderr)
            partial = path.with_name(path.name + ".partial")
            make(partial)
            partial.rename(path)
        paths[name] = path
    return paths


# -- pipelines (run in the child) -------------------------------------------------


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def straightforward(data: bytes, old_auto: bool = False) -> list[bytes]:
    """What most code does: decode everything, then resize every variant from the full image."""
    from PIL import Image, ImageOps

    _register_heif()
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if alpha else "RGB")
    alpha = alpha and image.getchannel("A").getextrema()[0] < 255
    if not alpha:
        image = image.convert("RGB")
    from chalicelib.imaging.sizing import fit  # the handler's own sizes; the Pillow children load it anyway

    out = []
    for box in BOXES:
        variant = image.resize(fit(*image.size, box), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if alpha and old_auto:  # what `auto` made before issue 12
            variant.save(buffer, "PNG")
        elif alpha:
            variant.save(buffer, "WEBP", quality=QUALITY)
        else:
            variant.save(buffer, "JPEG", quality=QUALITY, optimize=True)
        out.append(buffer.getvalue())
    return out


def tuned(data: bytes) -> list[bytes]:
    """imgstore's own pipeline, exactly as the upload handler runs it (placeholders included)."""
    from chalicelib import imaging
    from chalicelib.config import Preset, Settings

    settings = Settings(
        "bench", "bench", "bench", presets=tuple(Preset(str(box), box, "auto", QUALITY) for box in BOXES)
    )
    return [v.data for v in imaging.process(data, settings).variants]


def vips(data: bytes) -> list[bytes]:
    """libvips: one shrink-on-load thumbnail for the largest, then a cascade."""
    import pyvips

    # Materialised once: the cascade reads it three times.
    image = pyvips.Image.thumbnail_buffer(data, BOXES[0], height=BOXES[0], size="down").copy_memory()
    if image.hasalpha() and image[image.bands - 1].min() == 255:  # libvips gives every GIF an alpha band
        image = image.flatten()  # all opaque: JPEG, as the other pipelines choose
    out = []
    for box in BOXES:
        if max(image.width, image.height) > box:
            image = image.thumbnail_image(box, height=box, size="down")
        if image.hasalpha():
            out.append(image.webpsave_buffer(Q=QUALITY, keep="none"))
        else:
            out.append(image.jpegsave_buffer(Q=QUALITY, optimize_coding=True, keep="none"))
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
        import pillow_heif  # noqa: F401
        from PIL import ImageOps  # noqa: F401

        import chalicelib.imaging  # noqa: F401
    from PIL import Image

    Image.preinit()  # Pillow imports its common plugins on first open: a one-off, not the pipeline's
    data = Path(path).read_bytes()
    cpu, start = time.process_time(), time.perf_counter()  # process_time: every thread's CPU
    run(data)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"ms": elapsed * 1000, "cpu": cpu * 1000, "mb": _peak_rss_kb() / 1024}))


def _peak_rss_kb() -> int:
    # VmHWM belongs to this program's memory; getrusage's ru_maxrss would carry
    # the parent's peak across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


# -- the parent ----------------------------------------------------------------------


def _measure(pipeline: str, path: Path, cpus: int) -> dict:
    pin = ["taskset", "-c", ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cpus])]
    done = subprocess.run(
        [*pin, sys.executable, __file__, "--child", pipeline, str(path)], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode:
        raise SystemExit(f"{pipeline} on {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _on_white(image):
    """As a page shows it: the colour of a fully transparent pixel does not count."""
    from PIL import Image

    image = image.convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def psnr(a: bytes, b: bytes) -> float:
    """PSNR of two encoded images as shown on a white page; nan when their sizes differ."""
    from PIL import Image, ImageChops, ImageStat

    x, y = (_on_white(Image.open(io.BytesIO(d))) for d in (a, b))
    if x.size != y.size:
        return float("nan")
    mse = sum(ImageStat.Stat(ImageChops.difference(x, y)).sum2) / (3 * x.width * x.height)
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


def _vips_available() -> str | None:
    try:
        import pyvips
    except (ImportError, OSError):
        return None
    return f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


def machine() -> list[str]:
    import PIL
    from PIL import features

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    heif = __import__("pillow_heif").__version__
    return [
        f"- machine: {os.cpu_count()} cores (`nproc`), {cpu}, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, Pillow {PIL.__version__} "
        f"(libjpeg-turbo {features.version('libjpeg_turbo')}, zlib {features.version('zlib')}, "
        f"libwebp {features.version('webp')}), pillow-heif {heif}",
        f"- libvips: {_vips_available() or 'not installed (column skipped)'}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


# Lambda's price (x86, us-east-1): per GB-second and per request. arm64 is 20% less per
# GB-second, but its speed on these codecs is not measured here.
GB_SECOND, REQUEST = 0.0000166667, 0.20 / 1_000_000
FULL_VCPU_MB = 1769  # Lambda gives one vCPU at 1769 MB, in proportion below, two at 3538


def _function_memory_mb() -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return int(config["stages"]["prod"]["lambda_functions"]["on_upload"]["lambda_memory_size"])


def _cost(paths, tuned_median, cpu_counts) -> None:
    """Lambda's cost of the measured CPU time: at the function's memory a CPU-bound run lasts
    its one-CPU CPU time divided by its share of a vCPU."""
    memory = _function_memory_mb()
    share = min(1.0, memory / FULL_VCPU_MB)

    def dollars(ms: float, mb: int) -> float:
        return 1000 * (ms / 1000 * mb / 1024 * GB_SECOND + REQUEST)

    print(
        f"\nLambda cost of `on_upload` at {memory} MB ({share:.2f} of a vCPU; x86 ${GB_SECOND:.10f} per GB-second, "
        "$0.20 per million requests); duration = CPU ms at one CPU / vCPU share; processing only (S3 and "
        "DynamoDB requests not included):\n"
    )
    print("| image | CPU ms (1 CPU) | billed ms | $ per 1,000 |")
    print("|---|---|---|---|")
    total = 0.0
    for name in paths:
        cpu = tuned_median(name, 1, "cpu") if 1 in cpu_counts else tuned_median(name, cpu_counts[0], "cpu")
        cost = dollars(cpu / share, memory)
        total += cost
        print(f"| {name} | {cpu:.0f} | {cpu / share:.0f} | ${cost:.4f} |")
    print(f"| the mix, equal parts | | | **${total / len(paths):.4f}** |")
    if 2 in cpu_counts:
        big = 2 * FULL_VCPU_MB
        print(
            f"\nThreads (variants encoded beside the cascade) need a second vCPU: {big} MB, {big / memory:.2f}x "
            f"the price of a millisecond at {memory} MB. Billed ms there = wall ms at two CPUs; compared with wall "
            f"ms at one CPU / {share:.2f} at {memory} MB (wall against wall, so a busy machine slows both):\n"
        )
        print(f"| image | wall ms 2 CPUs / 1 CPU | $ per 1,000 at {big} MB | against {memory} MB |")
        print("|---|---|---|---|")
        for name in paths:
            one, two = tuned_median(name, 1, "ms"), tuned_median(name, 2, "ms")
            at_big, at_memory = dollars(two, big), dollars(one / share, memory)
            print(f"| {name} | {two / one:.2f}x | ${at_big:.4f} | {at_big / at_memory:.2f}x |")


def _kb(sizes: list[int]) -> str:
    return " / ".join(f"{n / 1000:.0f}" for n in sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, help="fresh-process runs per pipeline, image and CPU count (default 5; 2 with --quick)"
    )
    parser.add_argument("--only", action="append", help="just this image (repeatable)")
    parser.add_argument("--cpus", default="1,2", help="CPU counts to pin the runs to (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="for iterating: one CPU, tuned and pyvips only")
    parser.add_argument("--child", nargs=2, metavar=("PIPELINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if not shutil.which("taskset"):
        raise SystemExit("taskset (util-linux) is needed to pin runs to one CPU")
    cpu_counts = [int(c) for c in args.cpus.split(",")]
    if args.quick:
        cpu_counts = [1]
    args.repeat = args.repeat or (2 if args.quick else 5)
    if max(cpu_counts) > len(os.sched_getaffinity(0)):
        raise SystemExit(f"this machine lets us use {len(os.sched_getaffinity(0))} CPUs, not {max(cpu_counts)}")
    have_vips = _vips_available() is not None
    pipelines = (["straightforward"] if not args.quick else []) + ["tuned"] + (["pyvips"] if have_vips else [])
    paths = {n: p for n, p in images().items() if not args.only or n in args.only}

    def plan(name):
        return [p for p in pipelines if not (p == "pyvips" and name in NO_HEVC)]

    runs: dict = {}
    begun = time.perf_counter()
    for round_ in range(args.repeat):
        for cpus in cpu_counts:
            for name, path in paths.items():
                for pipeline in plan(name):
                    runs.setdefault((name, pipeline, cpus), []).append(_measure(pipeline, path, cpus))
        print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)
    measuring = time.perf_counter() - begun

    def median(name, pipeline, cpus, what):
        return statistics.median(r[what] for r in runs[(name, pipeline, cpus)])

    def reference(name):
        if have_vips and name not in NO_HEVC:
            return "pyvips"
        return "straightforward" if "straightforward" in pipelines else None

    # Bytes and quality: each pipeline once more, in this process (not timed).
    outputs: dict = {}
    for name, path in paths.items():
        data = path.read_bytes()
        outputs[(name, "straightforward")] = straightforward(data)
        outputs[(name, "tuned")] = tuned(data)
        if have_vips and name not in NO_HEVC:
            outputs[(name, "pyvips")] = vips(data)

    print("\n".join(machine()))
    print(
        f"- {args.repeat} runs of each pipeline on each image at each CPU count ({', '.join(map(str, cpu_counts))};"
        " `taskset`), each run a fresh process, rounds interleaved; medians"
    )
    print(
        "- each makes 2048, 1024 and 256 px variants: JPEG q85, WebP q85 (lossy with alpha) when the image"
        " has transparency"
    )
    print(f"- measuring took {measuring:.0f} s\n")
    cpu_heads = []
    for cpus in cpu_counts:
        label = "1 CPU" if cpus == 1 else f"{cpus} CPUs"
        cpu_heads += [f"CPU ms ({label})", f"wall ms ({label})", f"peak MB ({label})"]
    head = ["image", "pipeline", *cpu_heads, "kB 2048 / 1024 / 256", "PSNR vs straightforward (dB)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, path in paths.items():
        first = True
        for pipeline in plan(name):
            label = f"{name} ({path.stat().st_size / 1e6:.1f} MB)" if first else ""
            first = False
            cells = [label, pipeline + (" (reference)" if pipeline == reference(name) else "")]
            for cpus in cpu_counts:
                cells += [f"{median(name, pipeline, cpus, w):.0f}" for w in ("cpu", "ms", "mb")]
            out = outputs[(name, pipeline)]
            cells.append(_kb([len(v) for v in out]))
            if pipeline == "straightforward":
                cells.append("")
            else:
                pairs = zip(outputs[(name, "straightforward")], out, strict=True)
                cells.append(" / ".join(f"{psnr(a, b):.1f}" for a, b in pairs))
            print("| " + " | ".join(cells) + " |")
        if name in NO_HEVC and have_vips:
            print(f"| | pyvips | {' | '.join(['n/a'] * 3 * len(cpu_counts))} | no HEVC decoder in its wheel | |")

    one = 1 if 1 in cpu_counts else cpu_counts[0]
    print(
        f"\nGoal per image: tuned's CPU time and peak RSS (at {one} CPU) no more than the reference's "
        f"(pyvips; the straightforward pipeline where pyvips cannot read the file), PSNR >= {PSNR_FLOOR:.0f} dB "
        "at every variant size, and no more bytes in all than the reference (0.1% allowed: Pillow's JFIF header):\n"
    )
    print(
        "| image | reference | CPU tuned / reference | peak RSS tuned / reference | lowest PSNR "
        "| bytes tuned / reference | verdict |"
    )
    print("|---|---|---|---|---|---|---|")
    verdicts = []
    for name in paths:
        ref = reference(name)
        if ref is None:
            continue
        cpu = median(name, "tuned", one, "cpu") / median(name, ref, one, "cpu")
        mb = median(name, "tuned", one, "mb") / median(name, ref, one, "mb")
        low = min(psnr(a, b) for a, b in zip(outputs[(name, "straightforward")], outputs[(name, "tuned")], strict=True))
        size = sum(map(len, outputs[(name, "tuned")])) / sum(map(len, outputs[(name, ref)]))
        missed = [
            what
            for what, ok in (
                ("CPU", cpu <= 1),
                ("memory", mb <= 1),
                ("quality", low >= PSNR_FLOOR),
                ("bytes", size <= BYTES_SLACK),
            )
            if not ok
        ]
        verdicts.append(not missed)
        print(
            f"| {name} | {ref} | {cpu:.2f}x | {mb:.2f}x | {low:.1f} dB | {size:.3f}x | "
            f"{'met' if not missed else 'MISSED: ' + ', '.join(missed)} |"
        )
    alpha = [n for n in paths if outputs[(n, "tuned")][0][:4] == b"RIFF" and n in MIX]
    for name in alpha:
        png = straightforward(paths[name].read_bytes(), old_auto=True)
        webp = outputs[(name, "tuned")]
        print(
            f"\n{name}: PNG variants (`auto` before issue 12) {_kb([len(v) for v in png])} kB; "
            f"now WebP q{QUALITY} {_kb([len(v) for v in webp])} kB "
            f"({sum(map(len, webp)) / sum(map(len, png)):.2f}x the bytes)"
        )
    _cost(paths, lambda n, cpus, what: median(n, "tuned", cpus, what), cpu_counts)
    print(f"\nGoal met on {sum(verdicts)} of {len(verdicts)} images.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
