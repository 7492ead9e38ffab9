"""Explainer benchmark: a 6-scene offline explainer end to end, from the mutation to COMPLETED.

    .venv/bin/python bench/explainer.py [--size 1920x1080] [--runs 1]

Starts `clipforge up` (embedded Redis, SQLite, offline providers) on a free local port, sends createExplainer,
polls the job until it ends, and prints the wall time against the video's duration (target: at most 1x) and
how long each stage took. Everything runs on 127.0.0.1 and stops by itself.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import av
import httpx

if __package__ in (None, ""):  # run as a script: `python bench/<name>.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.up import clipforge_up, poll_job, seconds  # noqa: E402

TEXT = """# Why we sort
Sorting puts things in order. Almost every language ships a fast sort, so you rarely write one, but knowing
how it works helps you choose well. Sorted data makes searching quick, because you can halve the search space
with every comparison you make.

# Insertion sort
```python
def insertion_sort(items):
    for i in range(1, len(items)):
        j = i
        while j > 0 and items[j - 1] > items[j]:
            items[j - 1], items[j] = items[j], items[j - 1]
            j -= 1
    return items
```
Insertion sort moves each item left until it sits in place. It is quick for short or nearly sorted lists.

# The limit
Any sort that only compares items needs on the order of $n \\log_2 n$ comparisons in the worst case.

# A pipeline
1. Load the records
2. Remove duplicates
3. Sort by date
4. Save the result

# Takeaway
Pick the built-in sort, know its cost, and keep your data sorted when you search it often."""
CREATE = """mutation($input: ExplainerInput!) { createExplainer(input: $input) {
  __typename ... on Job { id } ... on Problem { code message } } }"""
STATUS = """query($id: ID!) { job(id: $id) { status videoUrl error { code message }
  stages { name startedAt finishedAt } } }"""
DEADLINE_SECONDS = 600


def run_once(base: str, http: httpx.Client, size: str, work: Path) -> None:
    body = {"query": CREATE, "variables": {"input": {"sourceText": TEXT, "size": size, "maxScenes": 6}}}
    started = time.perf_counter()
    created = http.post(f"{base}/graphql", json=body).json()["data"]["createExplainer"]
    if created["__typename"] != "Job":
        raise SystemExit(f"createExplainer refused: {created}")
    job = poll_job(http, base, STATUS, created["id"], started, DEADLINE_SECONDS)
    wall = time.perf_counter() - started
    video = work / "explainer.mp4"
    video.write_bytes(http.get(job["videoUrl"]).content)
    with av.open(str(video)) as container:
        duration = float(container.duration or 0) / 1e6
    print(f"  mutation -> COMPLETED {wall:6.1f} s   video {duration:6.1f} s   ratio {wall / duration:5.2f}x"
          f"   (target <= 1.0x: {'met' if wall <= duration else 'MISSED'})")  # fmt: skip
    for stage in job["stages"]:
        print(f"    {stage['name']:<10} {seconds(stage['startedAt'], stage['finishedAt']):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1920x1080", choices=["1920x1080", "1080x1920", "1080x1080"])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with clipforge_up("clipforge-bench-explainer-") as up:
        print(f"6-scene offline explainer, {args.size}, {os.cpu_count()} cores")
        for _ in range(args.runs):
            run_once(up.base, up.http, args.size, up.work)


if __name__ == "__main__":
    main()
