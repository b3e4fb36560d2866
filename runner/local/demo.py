"""The quickstart's image set: visually distinct groups of near-duplicates.

``make_demo_images`` draws ``groups`` groups of ``per_group`` small JPEGs (each
group its own colour scheme and shape; members differ by a small shift and
noise), plus a few corrupt files, so a DIVERSITY selection has a known right
answer (one image per group) and the corruptness check has something to find.
The set shipped in ``workflows/data/quickstart`` is ``make_demo_images`` and
``make_demo_predictions`` with their defaults (``python -m runner.local.demo DIR``
regenerates it).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
#: (background, foreground) colours and a shape per group
GROUP_STYLES = [
    ((230, 40, 40), (255, 255, 255), "circle"),
    ((40, 180, 60), (10, 10, 10), "square"),
    ((40, 70, 220), (250, 220, 0), "triangle"),
    ((250, 220, 0), (120, 0, 160), "cross"),
    ((20, 20, 20), (0, 230, 230), "stripes"),
    ((240, 240, 240), (200, 0, 100), "circle"),
    ((130, 70, 20), (160, 230, 120), "square"),
    ((0, 130, 130), (255, 140, 0), "stripes"),
    ((160, 0, 160), (240, 240, 240), "triangle"),
    ((255, 150, 180), (0, 60, 0), "cross"),
]


def _draw(
    style: tuple[tuple[int, int, int], tuple[int, int, int], str], dx: int, dy: int
) -> Image.Image:
    background, foreground, shape = style
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    box = (16 + dx, 16 + dy, 48 + dx, 48 + dy)
    if shape == "circle":
        draw.ellipse(box, fill=foreground)
    elif shape == "square":
        draw.rectangle(box, fill=foreground)
    elif shape == "triangle":
        draw.polygon([(32 + dx, 12 + dy), (12 + dx, 50 + dy), (52 + dx, 50 + dy)], fill=foreground)
    elif shape == "cross":
        draw.rectangle((28 + dx, 8 + dy, 36 + dx, 56 + dy), fill=foreground)
        draw.rectangle((8 + dx, 28 + dy, 56 + dx, 36 + dy), fill=foreground)
    else:
        for x in range(0, SIZE, 12):
            draw.rectangle((x + dx, 0, x + dx + 5, SIZE), fill=foreground)
    return image


def make_demo_images(
    directory: Path, *, groups: int = 10, per_group: int = 20, corrupt: int = 3, seed: int = 0
) -> list[str]:
    """Write the image set into ``directory``; returns the relative file names written."""
    if not 1 <= groups <= len(GROUP_STYLES):
        raise ValueError(f"groups must be between 1 and {len(GROUP_STYLES)}")
    rng = np.random.default_rng(seed)
    names: list[str] = []
    for group in range(groups):
        for member in range(per_group):
            dx, dy = (int(v) for v in rng.integers(-3, 4, size=2))
            image = np.asarray(_draw(GROUP_STYLES[group], dx, dy), dtype=np.int16)
            noisy = np.clip(image + rng.integers(-12, 13, size=image.shape), 0, 255).astype(
                np.uint8
            )
            name = f"group-{group:02d}/frame-{member:03d}.jpg"
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(noisy).save(path, quality=90)
            names.append(name)
    names.extend(_write_corrupt(directory, corrupt))
    return names


def _write_corrupt(directory: Path, count: int) -> list[str]:
    buffer = io.BytesIO()
    _draw(GROUP_STYLES[0], 0, 0).save(buffer, format="JPEG")
    payloads = [
        ("corrupt/truncated.jpg", buffer.getvalue()[:300]),
        ("corrupt/not-an-image.jpg", b"this is a text file, not a JPEG\n"),
        ("corrupt/empty.png", b""),
    ]
    written = []
    for name, payload in payloads[:count]:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        written.append(name)
    return written


#: the toy model's classes: which groups show a round shape
ROUND_GROUPS = frozenset(g for g, style in enumerate(GROUP_STYLES) if style[2] == "circle")


def make_demo_predictions(directory: Path, *, groups: int = 10, per_group: int = 20) -> int:
    """Write a toy classifier's predictions in the Lightly Worker's datasource format.

    Task ``shapes`` (CLASSIFICATION: 0 round, 1 angular) under
    ``.lightly/predictions/``; the model is right, but less sure for the later frames
    of each group, so uncertainty-based selection has something to find.
    """
    root = directory / ".lightly" / "predictions"
    (root / "shapes").mkdir(parents=True, exist_ok=True)
    (root / "tasks.json").write_text(json.dumps(["shapes"]))
    schema = {
        "task_type": "classification",
        "categories": [{"id": 0, "name": "round"}, {"id": 1, "name": "angular"}],
    }
    (root / "shapes" / "schema.json").write_text(json.dumps(schema))
    written = 0
    for group in range(groups):
        for member in range(per_group):
            confidence = round(0.95 - 0.4 * member / max(per_group - 1, 1), 3)
            category = 0 if group in ROUND_GROUPS else 1
            probabilities = (
                [confidence, round(1 - confidence, 3)]
                if category == 0
                else [round(1 - confidence, 3), confidence]
            )
            name = f"group-{group:02d}/frame-{member:03d}"
            path = root / "shapes" / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            prediction = {"category_id": category, "probabilities": probabilities}
            path.write_text(json.dumps({"file_name": f"{name}.jpg", "predictions": [prediction]}))
            written += 1
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "workflows/data/quickstart")
    images = make_demo_images(target)
    predictions = make_demo_predictions(target)
    print(f"wrote {len(images)} images and {predictions} predictions to {target}")
