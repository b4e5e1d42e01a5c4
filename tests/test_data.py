"""Datasets, the DataLoader and the bundled digits split."""
import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.data import DataLoader, Dataset, Subset, TensorDataset, datasets


class Squares(Dataset):
    """A dataset without __getitems__, so the loader collates sample by sample."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": tsf.tensor(np.full(2, i, dtype=np.float32)), "y": i * i, "w": 0.5 * i}


def test_batches_cover_the_dataset_in_order():
    ds = TensorDataset(np.arange(20).reshape(10, 2), np.arange(10))
    batches = list(DataLoader(ds, batch_size=3))
    assert [len(y) for _, y in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in batches]),
                                  np.arange(20).reshape(10, 2))
    assert len(DataLoader(ds, batch_size=3)) == 4
    dropped = list(DataLoader(ds, batch_size=3, drop_last=True))
    assert [len(y) for _, y in dropped] == [3, 3, 3] and len(DataLoader(ds, 3, drop_last=True)) == 3


def test_shuffle_is_a_seeded_permutation_that_changes_every_epoch():
    ds = TensorDataset(np.arange(50))
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    epoch1 = np.concatenate([b.numpy() for (b,) in loader])
    epoch2 = np.concatenate([b.numpy() for (b,) in loader])
    assert sorted(epoch1) == list(range(50)) and sorted(epoch2) == list(range(50))
    assert not np.array_equal(epoch1, epoch2)
    replay = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for (b,) in replay]), epoch1)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for (b,) in replay]), epoch2)


def test_global_seed_makes_unseeded_shuffles_reproducible():
    ds = TensorDataset(np.arange(30))
    tsf.manual_seed(7)
    first = [b.tolist() for (b,) in DataLoader(ds, batch_size=30, shuffle=True)]
    tsf.manual_seed(7)
    second = [b.tolist() for (b,) in DataLoader(ds, batch_size=30, shuffle=True)]
    assert first == second and first[0] != list(range(30))


def test_sample_by_sample_collation_keeps_structure_and_dtypes():
    batch = next(iter(DataLoader(Squares(), batch_size=4)))
    assert set(batch) == {"x", "y", "w"}
    assert batch["x"].shape == (4, 2) and batch["x"].dtype == np.float32
    assert batch["y"].tolist() == [0, 1, 4, 9] and batch["y"].dtype == np.int64
    assert batch["w"].dtype == np.float64  # Python floats collate to float64, as in torch
    assert [len(b["y"]) for b in DataLoader(Squares(), batch_size=4)] == [4, 3]


def test_loader_agrees_with_torch_on_fixed_batches():
    torch = pytest.importorskip("torch")
    data = np.arange(24, dtype=np.float32).reshape(12, 2)
    ours = [x.numpy() for (x,) in DataLoader(TensorDataset(data), batch_size=5, drop_last=True)]
    theirs = [x.numpy() for (x,) in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(data)), batch_size=5, drop_last=True)]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_subset_and_indexing():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [9, 2, 4])
    assert len(sub) == 3 and sub[0][0].item() == 90
    assert [b.tolist() for (b,) in DataLoader(sub, batch_size=2)] == [[90, 20], [40]]
    with pytest.raises(IndexError, match="index 10 is out of range for a dataset of 10 samples"):
        ds[10]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError,
                       match=r"Size mismatch between tensors: first dimensions are \[3, 4\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size should be a positive integer or None, got 0"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all'"):
        datasets.digits("validation")


def test_digits_split_is_fixed_stratified_and_complete():
    from sklearn.datasets import load_digits
    reference = load_digits()
    train, test = datasets.digits("train"), datasets.digits("test")
    assert (len(train), len(test)) == (1437, 360)
    test_labels = test.tensors[1].numpy()
    assert np.bincount(test_labels).tolist() == [36] * 10
    x_all, y_all = datasets.digits("all").tensors
    np.testing.assert_array_equal(x_all.numpy()[:, 0] * 16, reference.images)
    np.testing.assert_array_equal(y_all.numpy(), reference.target)
    # train and test partition the data set: every image lands in exactly one of them
    keys = lambda x: {row.tobytes() for row in x.numpy().reshape(len(x.numpy()), -1)}  # noqa: E731
    assert len(keys(train.tensors[0]) | keys(test.tensors[0])) == len(keys(x_all))
    assert train.tensors[0].dtype == np.float32 and train.tensors[0].shape == (1437, 1, 8, 8)
    assert 0.0 == x_all.numpy().min() and x_all.numpy().max() == 1.0
    again = datasets.digits("test")
    np.testing.assert_array_equal(again.tensors[0].numpy(), test.tensors[0].numpy())
