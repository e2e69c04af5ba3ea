"""Regenerate the variants of every image, or of those matching a filter, after the presets changed.

    python -m scripts.reprocess --stage dev                     # every ready or failed image
    python -m scripts.reprocess --stage dev --owner alice --tag sunset
    python -m scripts.reprocess --stage dev --image-id ID --image-id ID
    python -m scripts.reprocess --stage dev --here              # render in this process
    python -m scripts.reprocess --stage dev --restore ID        # a rejected original, back from quarantine

By default each image is handed to the upload handler, exactly as
POST /images/{id}/reprocess does (the original is copied onto itself, and S3
sends the handler an event). With --here the variants are rendered by this
process, with the presets it reads. Either way, variants that no preset names
any more are removed.

--restore puts a rejected image's quarantined original back at its key, so
that the upload handler judges it again (say after a decoder upgrade); with
--here this process does. An operator's tool on purpose: the API's role can
neither read nor write quarantine/, so nothing in it can ever be served.

Settings come from the stage in .chalice/config.json,
unless the shell sets them; boto3 goes wherever it points (AWS_ENDPOINT_URL
for the local stack).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from chalicelib import bootstrap  # noqa: E402
from chalicelib.auth import Caller  # noqa: E402
from chalicelib.domain.errors import ImgstoreError  # noqa: E402
from chalicelib.usecases.api import ApiService  # noqa: E402
from chalicelib.usecases.s3_events import S3EventService  # noqa: E402
from scripts.bootstrap import stage_environment  # noqa: E402

# It runs with the stage's AWS credentials, so it acts for every owner.
OPERATOR = Caller(owner="operator", admin=True)
DEFAULT_STATUSES = ("ready", "failed")  # rejected images need --restore; pending ones are on their way


def matching(images: ApiService, owner: str | None, tag: str | None, statuses: list[str]) -> Iterator[str]:
    """Ids of the images that match, page by page."""
    for status in statuses:
        start = None
        while True:
            page = images.store.list(owner=owner, tag=tag, status=status, limit=100, cursor=start)
            yield from (record.image_id for record in page.records)
            start = page.cursor
            if not start:
                break


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--owner", help="only this owner's images")
    parser.add_argument("--tag", help="only images with this tag")
    parser.add_argument(
        "--status",
        action="append",
        choices=("ready", "failed", "pending"),
        help=f"only images with this status (repeatable; default: {' and '.join(DEFAULT_STATUSES)})",
    )
    parser.add_argument("--image-id", action="append", default=[], help="only this image (repeatable)")
    parser.add_argument("--here", action="store_true", help="render in this process instead of in Lambda")
    parser.add_argument(
        "--restore",
        action="append",
        default=[],
        metavar="IMAGE_ID",
        help="bring this rejected image's original back from quarantine for another try (repeatable)",
    )
    return parser.parse_args(argv)


def restore(processor: S3EventService, image_id: str, here: bool) -> str:
    """Put the original back; with `here`, judge it in this process too."""
    outcome = processor.restore(image_id)
    record = processor.store.get(image_id) if outcome == "restored" and here else None
    if record is not None:
        outcome = processor.ingest(processor.settings.bucket, record.original_key)
    return outcome


def main(argv: list[str] | None = None) -> collections.Counter:
    args = parse(argv)
    for name, value in stage_environment(args.stage).items():
        os.environ.setdefault(name, value)
    images = bootstrap.api()
    processor = S3EventService(images.settings, images.store, images.blobs)
    if args.restore:
        return run(args.restore, "restoring", lambda image_id: restore(processor, image_id, args.here))
    ids = args.image_id or list(
        dict.fromkeys(matching(images, args.owner, args.tag, args.status or list(DEFAULT_STATUSES)))
    )

    def one(image_id: str) -> str:
        if args.here:
            return processor.reprocess(image_id)
        images.reprocess(OPERATOR, image_id)
        return "requested"

    return run(ids, "rendering" if args.here else "requesting", one)


def run(ids: list[str], what: str, one) -> collections.Counter:
    """`one` for each id, with a progress bar; the outcomes counted and printed."""
    from tqdm import tqdm

    outcomes: collections.Counter = collections.Counter()
    with tqdm(ids, desc=what, unit="image") as progress:
        for image_id in progress:
            try:
                outcome = one(image_id)
            except ImgstoreError as exc:  # not found, rejected, original missing: say so, go on
                tqdm.write(f"{image_id}: {exc}")
                outcome = type(exc).__name__.lower()
            outcomes[outcome] += 1
            progress.set_postfix(outcomes)
    print(", ".join(f"{n} {name}" for name, n in sorted(outcomes.items())) or "no images matched")
    return outcomes


if __name__ == "__main__":
    main()
