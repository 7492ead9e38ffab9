"""Product ad benchmark: an offline 30 s ad in each style end to end, from the mutation to COMPLETED.

    .venv/bin/python bench/product_ad.py [--size 1080x1920] [--styles LUXURY,BOLD] [--runs 1]

Starts `clipforge up` (embedded Redis, SQLite, offline providers) on a free local port, uploads a product
photo it draws with createProductAd, polls the job until it ends, and prints the wall time against the ad's
30 s (target: at most 1x, faster than real time) and how long each stage took. Everything runs on 127.0.0.1
and stops by itself.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

if __package__ in (None, ""):  # run as a script: `python bench/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.up import clipforge_up, poll_job, seconds  # noqa: E402

STYLES = ("LUXURY", "ENERGETIC", "MINIMAL", "BOLD")
CREATE = """mutation($input: ProductAdInput!) { createProductAd(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
STATUS = """query($id: ID!) { job(id: $id) { status videoUrl error { code message }
  stages { name startedAt finishedAt } } }"""
DEADLINE_SECONDS = 600
AD_SECONDS = 30.0


def product_png() -> bytes:
    image = Image.new("RGBA", (1200, 1600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([340, 440, 860, 1520], radius=120, fill=(30, 144, 255, 255))
    draw.rectangle([500, 180, 700, 460], fill=(235, 235, 235, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def run_once(base: str, http: httpx.Client, size: str, style: str) -> float:
    values = {
        "productName": "Aurora Bottle",
        "style": style,
        "ctaText": "Shop now at aurora.com",
        "description": "A steel bottle that keeps drinks cold for 24 hours. Light enough for every hike.",
        "audience": "hikers",
        "size": size,
        "productImage": None,
    }
    operations = json.dumps({"query": CREATE, "variables": {"input": values}})
    mapping = json.dumps({"0": ["variables.input.productImage"]})
    started = time.perf_counter()
    created = http.post(
        f"{base}/graphql",
        data={"operations": operations, "map": mapping},
        files={"0": ("product.png", product_png(), "image/png")},
    ).json()["data"]["createProductAd"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createProductAd refused: {created}")
    job = poll_job(http, base, STATUS, created["id"], started, DEADLINE_SECONDS)
    wall = time.perf_counter() - started
    verdict = "met" if wall <= AD_SECONDS else "MISSED"
    print(f"  {style:<10} mutation -> COMPLETED {wall:6.1f} s   ad {AD_SECONDS:.0f} s   ratio "
          f"{wall / AD_SECONDS:5.2f}x   (target <= 1.0x: {verdict})")  # fmt: skip
    print(
        "    "
        + "   ".join(f"{s['name']} {seconds(s['startedAt'], s['finishedAt']):.2f} s" for s in job["stages"])
    )
    return wall / AD_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1080x1920", choices=["1920x1080", "1080x1920", "1080x1080"])
    parser.add_argument("--styles", default=",".join(STYLES))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with clipforge_up("clipforge-bench-ad-") as up:
        print(f"offline product ad, {args.size}, {os.cpu_count()} cores, one job at a time")
        ratios = [
            run_once(up.base, up.http, args.size, style.strip().upper())
            for _ in range(args.runs)
            for style in args.styles.split(",")
        ]
        print(f"  worst ratio {max(ratios):.2f}x of real time")


if __name__ == "__main__":
    main()
