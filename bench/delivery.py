"""Time renditions on a miss, as the renderer makes them, against pyvips' thumbnail of the original.

    python bench/delivery.py [--repeat 3] [--only "12 MP JPEG"] [--quick]

The images are bench/imaging.py's own (generated, nothing downloaded): the 12 MP JPEG, the
12 MP HEIC and the 12 MP transparent PNG. Each is first ingested as the upload handler does
(`imaging.process` with the default presets: 256, 1024 and 2048 px variants), untimed. Then
every rendition, 320, 640, 1080 and 1920 px wide in JPEG, WebP and AVIF, runs in a fresh
process pinned to one CPU (`taskset`), rounds interleaved:

- *renderer*: what the renderer runs on a miss: `geometry.choose_source` picks the smallest
  stored picture large enough, and `imaging.renditions.render` makes the rendition;
- *pyvips*: `thumbnail_buffer` of the original to the same width (shrink-on-load), saved at
  the same quality and effort (AVIF: libaom at the renderer's speed 8);
- on the HEIC, which pyvips' wheel cannot decode (no HEVC), *from the original*: the
  renderer made to render from the original, as a reference.

It prints medians of CPU time (every thread's) and peak RSS (VmHWM), each output's bytes,
and SSIM and PSNR (luma, on white) against a LANCZOS resize of the fully decoded original.
Hits are counted separately: a stored rendition is one S3 read and no render (see the
delivery tests). A benchmark, not a test: compare the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import imaging as imaging_bench  # noqa: E402  (bench/imaging.py: the images and the machine line)

from chalicelib.delivery.options import DEFAULT_QUALITY  # noqa: E402
from chalicelib.imaging.renditions import AVIF_SPEED, AVIF_SPEED_LARGE, WEBP_METHOD  # noqa: E402

WIDTHS = (320, 640, 1080, 1920)
ENCODINGS = ("jpeg", "webp", "avif")
IMAGES = ("12 MP JPEG", "12 MP HEIC", "12 MP RGBA PNG")
WORK = Path(tempfile.gettempdir()) / "imgstore-bench-delivery-v1"
# The renderer's qualities and efforts, given to libvips too (AVIF: aom's cpu-used is 9 - effort).
QUALITY = DEFAULT_QUALITY
VIPS_SAVE = {
    "jpeg": (".jpg", {"Q": QUALITY["jpeg"], "optimize_coding": True, "keep": "none"}),
    "webp": (".webp", {"Q": QUALITY["webp"], "effort": WEBP_METHOD, "keep": "none"}),
    "avif": (".avif", {"Q": QUALITY["avif"], "effort": 9 - AVIF_SPEED, "compression": "av1", "keep": "none"}),
}


# -- setup (the parent, untimed) --------------------------------------------------------


def _settings():
    from chalicelib.config import Settings

    return Settings("bench", "bench", "bench")


def ingest(name: str, path: Path) -> dict:
    """The original's variants as the upload handler stores them, and what the record says."""
    from chalicelib import imaging

    folder = WORK / path.stem
    manifest = folder / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    processed = imaging.process(path.read_bytes(), _settings())
    variants = []
    for v in processed.variants:
        target = folder / f"{v.name}.{v.ext}"
        target.write_bytes(v.data)
        variants.append({"key": str(target), "width": v.width, "height": v.height, "content_type": v.content_type})
    record = {
        "original": str(path),
        "width": processed.width,
        "height": processed.height,
        "content_type": processed.content_type,
        "has_alpha": processed.details["has_alpha"],
        "variants": variants,
    }
    manifest.write_text(json.dumps(record))
    return record


def _sources(record: dict):
    from chalicelib.config import DEFAULT_PRESETS
    from chalicelib.delivery import geometry

    quality = {p.name: p.quality for p in DEFAULT_PRESETS}
    found = [
        geometry.Source(record["original"], record["width"], record["height"], record["content_type"], original=True)
    ]
    for v in record["variants"]:
        found.append(
            geometry.Source(v["key"], v["width"], v["height"], v["content_type"], quality=quality[Path(v["key"]).stem])
        )
    return found


def chosen_source(record: dict, width: int, encoding: str, from_original: bool = False) -> str:
    from chalicelib.delivery import geometry
    from chalicelib.delivery.options import Options

    if from_original:
        return record["original"]
    planned = geometry.plan(Options(width, format=encoding), (record["width"], record["height"]), 4096)
    return geometry.choose_source(
        _sources(record),
        planned.scaled,
        quality=QUALITY[encoding],
        lossless=False,
        has_alpha=record["has_alpha"],
        animated=False,
    ).key


# -- the child: one rendition in a fresh process --------------------------------------------


def child(pipeline: str, spec: str, out: str) -> None:
    job = json.loads(spec)
    if pipeline == "pyvips":
        import pyvips

        data = Path(job["original"]).read_bytes()
        cpu, start = time.process_time(), time.perf_counter()
        image = pyvips.Image.thumbnail_buffer(data, job["width"], height=100_000, size="down")
        if job["encoding"] == "jpeg" and image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        suffix, params = VIPS_SAVE[job["encoding"]]
        result = image.write_to_buffer(suffix, **params)
    else:
        # What the renderer function loads: Pillow, pillow-heif and chalicelib's imaging.
        import pillow_heif  # noqa: F401
        from PIL import Image

        from chalicelib.delivery.options import Options
        from chalicelib.imaging import renditions

        Image.preinit()
        settings = _settings()
        data = Path(job["source"]).read_bytes()
        cpu, start = time.process_time(), time.perf_counter()
        made = renditions.render(
            data,
            Options(job["width"], format=job["encoding"]),
            settings,
            shown=tuple(job["shown"]),
            has_alpha=job["has_alpha"],
        )
        result = made.data
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    Path(out).write_bytes(result)
    print(json.dumps({"ms": elapsed * 1000, "cpu": cpu * 1000, "mb": imaging_bench._peak_rss_kb() / 1024}))


def _measure(pipeline: str, job: dict, out: Path) -> dict:
    pin = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0])]
    done = subprocess.run(
        [*pin, sys.executable, __file__, "--child", pipeline, json.dumps(job), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"{pipeline} {job} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- quality ----------------------------------------------------------------------------


def _reference(original: Path, size: tuple[int, int]):
    """LANCZOS from the fully decoded, upright original, shown on white."""
    from PIL import Image, ImageOps

    imaging_bench._register_heif()
    image = ImageOps.exif_transpose(Image.open(original))
    return imaging_bench._on_white(image.resize(size, Image.Resampling.LANCZOS))


def _luma(image):
    import pyvips

    rgb = image.convert("RGB")
    vips = pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, 3, "uchar")
    return vips.colourspace("b-w")[0].cast("float")


def ssim_psnr(made: bytes, reference) -> tuple[float, float]:
    """Mean SSIM (Gaussian window, sigma 1.5, as Wang et al.) and PSNR, on luma."""
    from PIL import Image

    shown = imaging_bench._on_white(Image.open(io.BytesIO(made)))
    if shown.size != reference.size:
        return float("nan"), float("nan")
    x, y = _luma(shown), _luma(reference)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img):
        return img.gaussblur(1.5, precision="float")

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    mse = ((x - y) * (x - y)).avg()
    return ssim.avg(), (float("inf") if mse == 0 else 10 * math.log10(255**2 / mse))


# -- hits ------------------------------------------------------------------------------------


def hits(path: Path, deliveries: int = 20) -> dict:
    """One image ingested on moto, then `deliveries` requests for one rendition per Accept
    outcome, counting renders and S3 requests: the first per outcome renders, the rest read."""
    import boto3
    from moto import mock_aws

    from chalicelib import config
    from chalicelib.adapters import aws
    from chalicelib.adapters.blobs import BlobStore
    from chalicelib.adapters.store import ImageStore
    from chalicelib.domain import keys
    from chalicelib.delivery import links, service
    from chalicelib.delivery.options import Options
    from chalicelib.bootstrap import s3_events
    from scripts.bootstrap import bootstrap, stage_environment

    env = stage_environment("dev")
    os.environ.update(env, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        aws.reset()
        bootstrap(env)
        key = f"uploads/bench/{path.name}"
        boto3.client("s3").put_object(Bucket=env["IMAGES_BUCKET"], Key=key, Body=path.read_bytes())
        outcome = s3_events().ingest(env["IMAGES_BUCKET"], key)
        settings = config.load()
        record = ImageStore(settings.table).get(keys.image_id_for_object(env["IMAGES_BUCKET"], key))
        assert record is not None and record.status == "ready", outcome
        url = links.path_for(record, Options(640), settings)
        calls: list[str] = []
        aws.client("s3").meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
        blobs = BlobStore(settings.bucket)
        served = service.Renditions(
            settings, ImageStore(settings.table), blobs, render=service.render_in_process(settings, blobs)
        )
        accepts = ["image/avif,image/webp,*/*", "image/webp,*/*", "*/*"]
        per_miss, per_hit = [], []
        for i in range(deliveries):
            before, renders = len(calls), served.renders
            served.serve(url, accepts[i % 3])
            (per_miss if served.renders > renders else per_hit).append(calls[before:])
        aws.reset()
    return {"deliveries": deliveries, "renders": served.renders, "miss_calls": per_miss, "hit_calls": per_hit}


# -- the parent ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="fresh-process runs of each rendition (default 3; 1 with --quick)")
    parser.add_argument("--only", action="append", help="just this image (repeatable)")
    parser.add_argument("--quick", action="store_true", help="one run each")
    parser.add_argument("--hits", action="store_true", help="only count the renders and S3 requests of hits")
    parser.add_argument("--child", nargs=3, metavar=("PIPELINE", "JOB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if not shutil.which("taskset"):
        raise SystemExit("taskset (util-linux) is needed to pin runs to one CPU")
    if imaging_bench._vips_available() is None:
        raise SystemExit("pyvips is needed for the comparison (pip install -r requirements-bench.txt)")
    repeat = args.repeat or (1 if args.quick else 3)
    names = [n for n in IMAGES if not args.only or n in args.only]
    originals = imaging_bench.images(names)
    if args.hits:
        _print_hits(names[0], originals[names[0]])
        return 0
    records = {n: ingest(n, p) for n, p in originals.items()}
    WORK.mkdir(exist_ok=True)

    jobs = []
    for name in names:
        record = records[name]
        for width in WIDTHS:
            for encoding in ENCODINGS:
                base = {
                    "width": width,
                    "encoding": encoding,
                    "shown": [record["width"], record["height"]],
                    "has_alpha": record["has_alpha"],
                    "original": record["original"],
                }
                jobs.append(
                    (name, width, encoding, "renderer", {**base, "source": chosen_source(record, width, encoding)})
                )
                if name in imaging_bench.NO_HEVC:
                    jobs.append((name, width, encoding, "from the original", {**base, "source": record["original"]}))
                else:
                    jobs.append((name, width, encoding, "pyvips", base))
    runs: dict = {}
    begun = time.perf_counter()
    for round_ in range(repeat):
        for name, width, encoding, pipeline, job in jobs:
            out = WORK / f"{Path(records[name]['original']).stem}-{width}-{pipeline.replace(' ', '_')}.{encoding}"
            kind = "pyvips" if pipeline == "pyvips" else "renderer"
            runs.setdefault((name, width, encoding, pipeline), []).append(_measure(kind, job, out))
            runs[(name, width, encoding, pipeline, "out")] = out
        print(f"round {round_ + 1}/{repeat} done", file=sys.stderr)
    measuring = time.perf_counter() - begun

    def median(key, what):
        return statistics.median(r[what] for r in runs[key])

    print("\n".join(imaging_bench.machine()))
    print(f"- {repeat} runs of each rendition, each a fresh process pinned to one CPU, rounds interleaved; medians")
    print(
        f"- qualities: JPEG {QUALITY['jpeg']}, WebP {QUALITY['webp']} (effort {WEBP_METHOD}), "
        f"AVIF {QUALITY['avif']} (libaom speed {AVIF_SPEED}, {AVIF_SPEED_LARGE} from 2 MP: the renderer's; "
        f"libvips at effort {9 - AVIF_SPEED}, its speed {AVIF_SPEED})"
    )
    print(f"- measuring took {measuring:.0f} s\n")
    head = [
        "image",
        "px",
        "format",
        "renderer's source",
        "CPU ms renderer / reference",
        "ratio",
        "peak MB renderer / reference",
        "kB renderer / reference",
        "SSIM renderer / reference",
        "PSNR dB renderer / reference",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    quality: dict = {}
    worst = 0.0
    for name in names:
        record = records[name]
        reference_name = "from the original" if name in imaging_bench.NO_HEVC else "pyvips"
        for width in WIDTHS:
            references = {}
            for encoding in ENCODINGS:
                mine, theirs = (name, width, encoding, "renderer"), (name, width, encoding, reference_name)
                made, ref_made = runs[(*mine, "out")].read_bytes(), runs[(*theirs, "out")].read_bytes()
                from PIL import Image

                size = Image.open(io.BytesIO(made)).size
                if size not in references:
                    references[size] = _reference(Path(record["original"]), size)
                s_mine, p_mine = ssim_psnr(made, references[size])
                s_ref, p_ref = ssim_psnr(ref_made, references[size])
                quality[(name, width, encoding)] = (len(made), s_mine)
                ratio = median(mine, "cpu") / median(theirs, "cpu")
                worst = max(worst, ratio)
                source = Path(chosen_source(record, width, encoding))
                source_label = "original" if str(source) == record["original"] else source.stem
                print(
                    f"| {name if width == WIDTHS[0] and encoding == ENCODINGS[0] else ''} | {width} | {encoding} "
                    f"| {source_label} | {median(mine, 'cpu'):.0f} / {median(theirs, 'cpu'):.0f} | {ratio:.2f}x "
                    f"| {median(mine, 'mb'):.0f} / {median(theirs, 'mb'):.0f} "
                    f"| {len(made) / 1000:.1f} / {len(ref_made) / 1000:.1f} | {s_mine:.4f} / {s_ref:.4f} "
                    f"| {p_mine:.1f} / {p_ref:.1f} |"
                )
    print(
        "\nReference: pyvips' `thumbnail_buffer` of the original; on the HEIC (no HEVC decoder in pyvips' wheel) "
        "the renderer itself, made to render from the original."
    )
    print(f"Highest CPU ratio, renderer / reference: {worst:.2f}x\n")
    _print_hits(names[0], originals[names[0]])
    print("WebP and AVIF against JPEG (the renderer's outputs; bytes ratio, SSIM difference):\n")
    print("| image | px | WebP bytes / JPEG | WebP SSIM - JPEG | AVIF bytes / JPEG | AVIF SSIM - JPEG |")
    print("|---|---|---|---|---|---|")
    for name in names:
        for width in WIDTHS:
            jpeg, webp, avif = (quality[(name, width, e)] for e in ENCODINGS)
            print(
                f"| {name} | {width} | {webp[0] / jpeg[0]:.2f}x | {webp[1] - jpeg[1]:+.4f} "
                f"| {avif[0] / jpeg[0]:.2f}x | {avif[1] - jpeg[1]:+.4f} |"
            )
    return 0


def _print_hits(name: str, path: Path) -> None:
    counted = hits(path)
    hit_reads = {tuple(c) for c in counted["hit_calls"]}
    print(
        f"Hits ({name}, a 640 px `auto` rendition asked {counted['deliveries']} times, Accept cycling "
        f"through AVIF, WebP and neither; in-process on moto): {counted['renders']} renders (one per Accept "
        f"outcome), S3 requests per miss {sorted({len(c) for c in counted['miss_calls']})} "
        f"({', '.join(counted['miss_calls'][0])}), per hit {sorted({len(c) for c in counted['hit_calls']})} "
        f"({', '.join(sorted({op for c in hit_reads for op in c}))}).\n"
    )


if __name__ == "__main__":
    sys.exit(main())
