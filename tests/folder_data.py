"""Image folders as a user makes them, written by tests that train on them (test_folder_runs, test_predict_out_guard).
Imported by name: pytest puts tests/ on sys.path for the test files beside this one."""

import numpy as np
from PIL import Image

SIDE = 32  # pix2pix's PatchGAN needs room for its stride-2 layers


def mask_folder(root, n=24, *, names=("background", "bright")):
    """root/images/<k>.png gray noise with a bright square, root/masks/<k>.png its square (class 1); a classes.txt
    of `names` (None: none, the classes are the pixel values)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(n):
        img = rng.integers(0, 90, size=(SIDE, SIDE), dtype=np.uint8)
        mask = np.zeros((SIDE, SIDE), np.uint8)
        r, c = rng.integers(0, SIDE - 12, size=2)
        mask[r : r + 12, c : c + 12] = 1
        img[mask == 1] += 150
        Image.fromarray(img).save(root / "images" / f"{k:02d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{k:02d}.png")
    if names is not None:
        (root / "classes.txt").write_text("".join(f"{name}\n" for name in names))
    return root


def pair_folder(root, n=24):
    """root/A/<k>.png gray noise, root/B/<k>.png its negative."""
    rng = np.random.default_rng(1)
    (root / "A").mkdir(parents=True)
    (root / "B").mkdir()
    for k in range(n):
        a = rng.integers(0, 256, size=(SIDE, SIDE), dtype=np.uint8)
        Image.fromarray(a).save(root / "A" / f"{k:02d}.png")
        Image.fromarray(255 - a).save(root / "B" / f"{k:02d}.png")
    return root
