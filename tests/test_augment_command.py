"""`idealfit augment` previews samples of every class, each row labelled with its class (issue 8)."""

from PIL import Image
from sklearn.datasets import load_sample_images

from idealfit.cli import main
from idealfit.study_commands import augment_figure, preview_samples


def _folder(root, per_class=5):
    """root/china, root/flower: tiles of the two sample photos; root/gray: flat gray images."""
    china, flower = load_sample_images().images
    for name, img in (("china", china), ("flower", flower)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(img[20 * i:20 * i + 32, 30 * i:30 * i + 32]).save(root / name / f"{i}.png")
    (root / "gray").mkdir()
    for i in range(per_class):
        Image.new("RGB", (32, 32), (100 + i, 100, 100)).save(root / "gray" / f"{i}.png")
    return root


def test_samples_come_from_every_class_in_turn(tmp_path):
    root = _folder(tmp_path / "pics")
    images, labels = preview_samples(str(root), 6)
    assert labels == ["china", "flower", "gray"] * 2  # the first 6 files would all be china and flower
    assert images.shape == (6, 3, 32, 32)
    again, _ = preview_samples(str(root), 6)
    assert (again == images).all()  # the seed fixes the pick
    other, _ = preview_samples(str(root), 6, seed=1)
    assert not (other == images).all()
    default, names = preview_samples("digits", None)
    assert len(default) == 10 and sorted(names) == [str(d) for d in range(10)]  # one per class


def test_tiles_are_labelled_with_class_names(tmp_path, capsys):
    root = _folder(tmp_path / "pics")
    fig, images, labels, _, _ = augment_figure(str(root), 4, ["flip"], seed=0)
    first_column = [fig.axes[2 * i].get_ylabel() for i in range(4)]  # original, flip per row
    assert first_column == ["china", "flower", "gray", "china"] == labels
    assert main(["augment", "--data", str(root), "--n", "3", "--out", str(tmp_path / "g.png")]) == 0
    assert "rows labelled by class, 3 classes" in capsys.readouterr().out



def test_a_mask_moves_with_flip_and_crop_and_stays_for_contrast_and_tint():
    import torch

    from idealfit.data.augment_preview import preview

    g = torch.Generator().manual_seed(0)
    mask = torch.randint(0, 2, (3, 12, 12), generator=g)
    mask[:, :, :6] = 0  # left half background, so a flip changes the mask
    images = (0.2 + 0.6 * mask.float())[:, None].repeat(1, 3, 1, 1)  # bright where the mask is 1
    grid, masks = preview(images, ["flip", {"name": "crop", "padding": 3}, "contrast", "tint"], partner=mask)
    assert grid.shape == (3, 5, 3, 12, 12) and masks.shape == (3, 5, 12, 12) and masks.dtype == mask.dtype
    for col in (1, 2):  # geometric: the mask is where the bright pixels went
        assert not torch.equal(masks[:, col], mask)
        assert torch.equal(masks[:, col], (grid[:, col, 0] > 0.5).long())
    for col in (3, 4):  # photometric: the image changed, the mask did not
        assert not torch.equal(grid[:, col], images) and torch.equal(masks[:, col], mask)


def test_a_pairs_target_moves_with_its_input():
    import torch

    from idealfit.data.augment_preview import preview

    a = torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    grid, targets = preview(a, ["flip", {"name": "crop", "padding": 3}], partner=a[:, :1].clone())
    assert targets.shape == (3, 3, 1, 12, 12) and not torch.equal(grid[:, 2], a)
    assert torch.equal(grid[:, :, :1], targets)  # the same draw for A and B: still aligned


def _seg_folder(root, n=12):
    """n 16x16 gray images in two halves (dark names a*, bright names b*), each with a 4x4 square mask."""
    import numpy as np

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(n):
        img = np.full((16, 16), 40 if k < n // 2 else 200, np.uint8)
        mask = np.zeros((16, 16), np.uint8)
        mask[2:6, 1:5] = 1
        img[mask == 1] = 120
        name = f"{'ab'[k >= n // 2]}{k:02d}.png"
        Image.fromarray(img).save(root / "images" / name)
        Image.fromarray(mask).save(root / "masks" / name)
    return root


def test_augment_shows_masks_below_images_sampled_across_the_folder(tmp_path, capsys):
    root = _seg_folder(tmp_path / "seg")
    images, labels = preview_samples(str(root), 4)
    levels = {round(float(im.max()), 2) for im in images}
    assert labels is None and levels == {round(120 / 255, 2), round(200 / 255, 2)}  # both halves, not the first 4
    fig, _, _, note, specs = augment_figure(str(root), 3, None, seed=0)
    assert len(fig.axes) == 2 * 3 * 5 and specs == ["flip", "crop", "contrast", "tint"]
    assert [fig.axes[5 * i].get_ylabel() for i in range(4)] == ["image", "mask", "image", "mask"]
    assert main(["augment", "--data", str(root), "--n", "2", "--out", str(tmp_path / "g.png")]) == 0
    assert "each image above its mask: flip and crop move the mask" in capsys.readouterr().out
    assert Image.open(tmp_path / "g.png").size[1] > Image.open(tmp_path / "g.png").size[0] * 0.6  # 4 rows of 5


def test_augment_shows_pairs_with_flip_and_crop_and_refuses_contrast(tmp_path, capsys, cli_error):
    import numpy as np

    root = tmp_path / "pairs"
    (root / "A").mkdir(parents=True)
    (root / "B").mkdir()
    rng = np.random.default_rng(0)
    for k in range(6):
        a = rng.integers(0, 256, (16, 16), dtype=np.uint8)
        Image.fromarray(a).save(root / "A" / f"{k}.png")
        Image.fromarray(255 - a).save(root / "B" / f"{k}.png")
    assert main(["augment", "--data", str(root), "--out", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "4 samples" in out and "original then flip, crop;" in out and "target B" in out
    cli_error(["augment", "--data", str(root), "--augment", "flip", "contrast", "--out", str(tmp_path / "q.png")],
              "flip, crop only", "drop contrast")
    assert not (tmp_path / "q.png").exists()


def test_an_augmented_segmentation_runs_report_shows_the_masks_too(tmp_path):
    import numpy as np

    import idealfit as fit

    rng = np.random.default_rng(0)
    x = rng.random((24, 3, 12, 12)).astype(np.float32)
    masks = (x[:, 0] > 0.6).astype(np.int64)
    run = fit.train(data=(x, masks), model="unet", epochs=1, out=tmp_path / "run", verbose=False,
                    set={"data.task": "segmentation", "data.augment": ["flip"], "train.batch_size": 8,
                         "train.progress": False, "model.widths": [4, 8]})
    w, h = Image.open(run.dir / "augment.png").size
    assert h > 3 * w  # 4 images and their 4 masks in 8 rows of 2 tiles (4 rows alone: about 2 w)
    assert "each mask or target below its image" in (run.dir / "report.html").read_text()


def test_augment_takes_the_data_options_its_error_suggests(tmp_path, capsys, cli_error):
    root = _folder(tmp_path / "pics")
    (root / "china" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "aug.png"
    msg = cli_error(["augment", "--data", str(root), "--out", str(out)])
    assert "data.skip_unreadable=true" in msg and not out.exists()
    assert main(["augment", "--data", str(root), "--out", str(out), "--set", "data.skip_unreadable=true"]) == 0
    assert out.is_file() and "6 samples" in capsys.readouterr().out
    _, images, _, _, _ = augment_figure(str(root), 3, ["flip"], sets={"data.skip_unreadable": "true",
                                                                      "data.image_size": "16"})
    assert images.shape[-2:] == (16, 16)  # read as training would read the folder with these options
    assert "data options only; --set model.dropout" in cli_error(["augment", "--data", str(root), "--set", "model.dropout=0.1"])
