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
    fig, images, labels = augment_figure(str(root), 4, ["flip"], seed=0)
    first_column = [fig.axes[2 * i].get_ylabel() for i in range(4)]  # original, flip per row
    assert first_column == ["china", "flower", "gray", "china"] == labels
    assert main(["augment", "--data", str(root), "--n", "3", "--out", str(tmp_path / "g.png")]) == 0
    assert "rows labelled by class, 3 classes" in capsys.readouterr().out

