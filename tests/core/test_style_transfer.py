"""Style features and loss, offline only: VGG-16 weights are made by the tests themselves."""

import shutil
import urllib.error

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import PainterError
from core.painters.features import (VGG16_FILE, OfflineFeatures, VGG16Features, get_features, load_vgg16,
                                 vgg16_cache_path)
from core.painters.style_transfer import make_style_loss

# Every test here on one thread (the shared fixture puts the number back afterwards,
# so the rest of the suite runs as a user's painting does).
pytestmark = pytest.mark.usefixtures("one_thread")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def random_vgg_state(seed: int = 0) -> dict:
    """torchvision-keyed weights with He-scaled random values, plus keys loading must skip."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, ref in VGG16Features().state_dict().items():
        if key.endswith("weight"):
            state[key] = torch.randn(ref.shape, generator=g) * (2.0 / ref[0].numel()) ** 0.5
        else:
            state[key] = torch.randn(ref.shape, generator=g) * 0.05
    state["features.24.weight"] = torch.randn(512, 512, 3, 3, generator=g) * 0.01  # beyond relu4_3
    state["classifier.0.weight"] = torch.randn(8, 8, generator=g)
    return state


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vgg") / "vgg16.pth"
    state = random_vgg_state()
    torch.save(state, path)
    return path, state


@pytest.fixture
def hub_dir(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    yield tmp_path
    torch.hub.set_dir(old)


def stripes(size: int = 48) -> np.ndarray:
    """Saturated red/blue diagonal stripes: a palette and texture far from flat grey."""
    y, x = np.mgrid[0:size, 0:size]
    red = (((x + y) // 6) % 2 == 0)[..., None]
    return np.where(red, [0.9, 0.1, 0.1], [0.1, 0.15, 0.9]).astype(np.float32)


def smooth(size: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    return np.stack([0.3 + 0.4 * x, 0.5 + 0.2 * y, 0.4 + 0.0 * x], -1).astype(np.float32)


# -- VGG-16 weights ---------------------------------------------------------------------

def test_vgg_loads_torchvision_keys_and_computes_what_the_weights_say(vgg_file):
    path, state = vgg_file
    model = load_vgg16(path)
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    feats = model(x)
    assert [tuple(f.shape) for f in feats] == [(2, 64, 32, 32), (2, 128, 16, 16), (2, 256, 8, 8),
                                               (2, 512, 4, 4)]
    h = F.relu(F.conv2d((x - MEAN) / STD, state["features.0.weight"], state["features.0.bias"], padding=1))
    relu1_2 = F.relu(F.conv2d(h, state["features.2.weight"], state["features.2.bias"], padding=1))
    torch.testing.assert_close(feats[0], relu1_2, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.features[21].weight, state["features.21.weight"])


def test_wrong_shapes_missing_keys_and_corrupt_files_name_the_file(tmp_path, vgg_file):
    state = dict(vgg_file[1])
    state["features.10.weight"] = torch.zeros(256, 128, 5, 5)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(PainterError, match="not VGG-16 ImageNet weights") as info:
        load_vgg16(bad)
    assert str(bad) in str(info.value) and "features.10.weight" in str(info.value)

    state = dict(vgg_file[1])
    del state["features.21.bias"]
    torch.save(state, bad)
    with pytest.raises(PainterError, match="features.21.bias is missing"):
        load_vgg16(bad)

    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(PainterError, match="corrupt") as info:
        load_vgg16(corrupt)
    assert str(corrupt) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_without_download_points_to_offline(hub_dir, tmp_path):
    with pytest.raises(PainterError, match="--style-features offline") as info:
        load_vgg16()
    assert str(hub_dir / "checkpoints" / VGG16_FILE) in str(info.value)
    with pytest.raises(PainterError, match="offline"):
        load_vgg16(tmp_path / "nowhere.pth", allow_download=True)  # an explicit path is never fetched


def test_download_lands_in_the_hub_cache(hub_dir, vgg_file, monkeypatch):
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        shutil.copy(vgg_file[0], dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    model = load_vgg16(allow_download=True)
    target = hub_dir / "checkpoints" / VGG16_FILE
    assert vgg16_cache_path() == target and target.is_file()
    assert calls == [("https://download.pytorch.org/models/vgg16-397923af.pth", "397923af")]
    assert sorted(p.name for p in target.parent.iterdir()) == [VGG16_FILE]
    torch.testing.assert_close(model.features[0].weight, vgg_file[1]["features.0.weight"])
    load_vgg16(allow_download=True)
    assert len(calls) == 1  # the cached file is reused


def test_failed_download_leaves_no_file_and_suggests_offline(hub_dir, monkeypatch):
    def fake_download(url, dst, hash_prefix=None, progress=True):
        with open(dst, "wb") as f:
            f.write(b"PK\x03\x04partial")
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    with pytest.raises(PainterError, match="offline") as info:
        load_vgg16(allow_download=True)
    message = str(info.value)
    assert "Name or service not known" in message and "could not download" in message
    assert "\n" not in message
    assert list((hub_dir / "checkpoints").iterdir()) == []


def test_unknown_feature_name_lists_the_choices():
    with pytest.raises(PainterError, match="offline, vgg16"):
        get_features("resnet")


# -- offline features ---------------------------------------------------------------------

def test_offline_features_depend_only_on_the_seed():
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(123)
    a = OfflineFeatures(seed=0)(x)
    torch.manual_seed(456)
    b = OfflineFeatures(seed=0)(x)
    c = OfflineFeatures(seed=1)(x)
    assert len(a) == 6 and tuple(a[0].shape) == (1, 32, 40, 40) and tuple(a[-1].shape) == (1, 32, 10, 10)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert all((p - q).abs().max() > 1e-3 for p, q in zip(a, c))
    flat = OfflineFeatures(seed=0)(torch.full((1, 3, 20, 20), 0.4))
    assert all(f.abs().max() < 1e-5 for f in flat)  # flat colour is left to the colour term


# -- style loss -----------------------------------------------------------------------------

def test_bad_style_images_are_one_line_errors():
    with pytest.raises(PainterError, match="HxWx3"):
        make_style_loss(np.zeros((8, 8), np.float32))
    with pytest.raises(PainterError, match="HxWx3"):
        make_style_loss(np.zeros((8, 8, 4), np.float32))
    with pytest.raises(PainterError, match="float"):
        make_style_loss(np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize("features", ["offline", "vgg16"])
def test_style_loss_values_gradients_and_determinism(features, vgg_file):
    path = vgg_file[0] if features == "vgg16" else None
    style = stripes(48)
    loss = make_style_loss(style, features, weights_path=path, size=48)
    same = float(loss(torch.from_numpy(style)))
    other = float(loss(torch.from_numpy(smooth(48))))
    assert same < 1e-5 and 0.1 < other < 1.0
    bigger = float(loss(torch.from_numpy(smooth(96))))  # compared at the style's size
    assert abs(bigger - other) < 0.1 * other
    batch = torch.from_numpy(np.stack([style, smooth(48)]))
    assert abs(float(loss(batch)) - (same + other) / 2) < 1e-5
    again = make_style_loss(style, features, weights_path=path, size=48)
    assert float(again(torch.from_numpy(smooth(48)))) == other

    canvas = torch.from_numpy(smooth(48)).requires_grad_(True)
    loss(canvas).backward()
    assert torch.isfinite(canvas.grad).all() and canvas.grad.abs().sum() > 0


@pytest.mark.parametrize("features", ["offline", "vgg16"])
def test_style_loss_falls_under_optimisation(features, vgg_file):
    path = vgg_file[0] if features == "vgg16" else None
    loss = make_style_loss(stripes(64), features, weights_path=path, size=48)
    logits = (0.05 * torch.randn(48, 48, 3, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.1)
    with torch.no_grad():
        start = {k: float(v) for k, v in loss.components(torch.sigmoid(logits)).items()}
    history = []
    for _ in range(40):
        value = loss(torch.sigmoid(logits))
        opt.zero_grad()
        value.backward()
        opt.step()
        history.append(value.item())
    with torch.no_grad():
        end = {k: float(v) for k, v in loss.components(torch.sigmoid(logits)).items()}
    assert 0.1 < history[0] < 1.0
    assert history[-1] < 0.5 * history[0]
    assert end["features"] < 0.7 * start["features"] and end["colour"] < 0.5 * start["colour"]
