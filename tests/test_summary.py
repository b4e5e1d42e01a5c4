"""summary(): per-layer parameters (seed 002, exercise 3), tied weights counted once, frozen layers,
buffers, shapes and MACs against torch.nn and torchvision's GFLOPS, exports, errors, and tsf
summary."""
import json
import math

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow import nn
from torchsorflow.cli import main
from torchsorflow.models import resnet18, vgg11
from torchsorflow.nn.summary import summary

from test_models import (no_random_draws, single_threaded_torch,  # noqa: F401 (fixtures)
                         skipped_random_draws, torch_vgg)


@pytest.fixture
def vgg():
    with skipped_random_draws():
        return vgg11(num_classes=10)


@pytest.fixture(scope="module")
def vgg_at_32():
    """One VGG11 (10 classes) and its summary at 1x3x32x32, shared by the read-only tests."""
    with skipped_random_draws():
        model = vgg11(num_classes=10)
    return model, summary(model, input_size=(1, 3, 32, 32))


def rows_by_name(info):
    return {row.name: row for row in info.rows}


def torch_layer_table(torch, model, input_size):
    """(params, output shape) per dotted module name of a torch model (built on the meta device):
    the oracle's own hooks."""
    shapes = {}

    def record(name):
        def hook(module, args, output):  # returns None: a torch hook's result replaces the output
            shapes.setdefault(name, list(output.shape))
        return hook

    handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules()]
    with torch.no_grad():  # only shapes matter: uninitialised CPU memory, no random draws
        model.to_empty(device="cpu").eval()(torch.zeros(input_size))
    for handle in handles:
        handle.remove()
    return {n: (sum(p.numel() for p in m.parameters()), shapes.get(n))
            for n, m in model.named_modules()}


# --- parameters -----------------------------------------------------------------------------------
def test_parameter_only_summary_lists_every_vgg11_layer_with_its_formula(vgg):
    info = summary(vgg)
    rows = rows_by_name(info)
    layers = [(f"{prefix}.{name}", layer) for prefix in ("features", "classifier")
              for name, layer in getattr(vgg, prefix).named_children()]
    assert len(layers) == 21 + 7
    for name, layer in layers:
        row = rows[name]
        if isinstance(layer, nn.Conv2d):
            c_out, c_in, k, _ = layer.weight.shape
            assert row.params == c_out * c_in * k * k + c_out and row.kernel_size == [3, 3]
        elif isinstance(layer, nn.Linear):
            assert row.params == layer.out_features * layer.in_features + layer.out_features
        else:
            assert row.params == 0 and row.trainable is None
        assert row.depth == 2 and row.layer_type == type(layer).__name__
    assert info.total_params == info.trainable_params == 128_807_306  # 132,863,336 - 4096·990 - 990
    assert info.non_trainable_params == 0
    assert rows[""].params == info.total_params and rows["features"].params == 9_220_480
    assert info.total_macs is None
    assert all(r.macs is None and r.output_shape is None for r in info.rows)
    assert info.param_bytes == 4 * info.total_params


def test_counts_and_output_shapes_equal_torch_layer_by_layer(torch, vgg_at_32):
    with torch.device("meta"):
        theirs = torch_vgg(torch, num_classes=10)
    reference = torch_layer_table(torch, theirs, (1, 3, 32, 32))
    info = vgg_at_32[1]
    assert [row.name for row in info.rows] == list(reference)
    for row in info.rows:
        assert (row.params, row.output_shape) == reference[row.name], row.name
    assert info.rows[0].input_shape == [1, 3, 32, 32]


def test_tied_weights_are_counted_once(torch):
    encoder, decoder = nn.Linear(8, 8), nn.Linear(8, 8)
    decoder.weight = encoder.weight
    model = nn.Sequential(encoder, nn.ReLU(), decoder)
    info = summary(model, input_size=(2, 8))
    reference = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
    reference[2].weight = reference[0].weight
    assert info.total_params == sum(p.numel() for p in reference.parameters()) == 64 + 8 + 8
    rows = rows_by_name(info)
    assert (rows["2"].params, rows["2"].tied_params) == (72, 64)
    assert (rows["0"].params, rows["0"].tied_params) == (72, 0)
    assert rows[""].tied_params == 0 and "72 (tied)" in str(info)


def test_parameters_sharing_memory_are_one_parameter():
    # Two Parameter objects over the same array: model.parameters() lists both, memory holds one.
    encoder, decoder = nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False)
    decoder.weight = nn.Parameter(encoder.weight)
    model = nn.Sequential(encoder, decoder)
    assert sum(p.numel() for p in model.parameters()) == 32
    assert summary(model).total_params == 16


def test_frozen_layers_move_to_non_trainable(vgg):
    vgg.features.requires_grad_(False)
    info = summary(vgg, depth=1)
    rows = rows_by_name(info)
    assert info.non_trainable_params == rows["features"].params == 9_220_480
    assert info.trainable_params == rows["classifier"].params == info.total_params - 9_220_480
    assert rows["features"].trainable is False and rows["classifier"].trainable is True
    assert rows[""].trainable == "partial" and rows["avgpool"].trainable is None


def test_buffers_are_not_parameters():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4))
    info = summary(model)
    assert info.total_params == 4 * 3 * 9 + 4 + 4
    assert info.buffer_bytes == 4 * 4 + 4 * 4 + 8  # running mean and variance, int64 batch count


# --- forward pass: shapes, MACs, memory -----------------------------------------------------------
def test_vgg11_at_224_needs_torchvisions_7_61_gmacs(no_random_draws):  # noqa: F811
    info = summary(vgg11(), input_size=(1, 3, 224, 224), depth=2)
    assert round(info.total_macs / 1e9, 2) == 7.61  # torchvision's "GFLOPS" column for vgg11
    rows = rows_by_name(info)
    assert rows["features.0"].macs == 224 * 224 * 64 * 3 * 3 * 3  # out elements × C_in·k_h·k_w
    assert rows["classifier.0"].macs == 4096 * 25088 and rows["classifier.1"].macs == 0
    assert rows["features"].output_shape == [1, 512, 7, 7] and rows[""].output_shape == [1, 1000]
    assert info.input_bytes == 3 * 224 * 224 * 4
    leaf_outputs = sum(math.prod(r.output_shape) for r in info.rows
                       if r.depth == 2 or r.name == "avgpool")
    assert info.forward_backward_bytes == 2 * 4 * leaf_outputs
    assert info.total_bytes == info.input_bytes + info.forward_backward_bytes + info.param_bytes


def test_resnet18_macs_and_a_module_called_twice():
    info = summary(resnet18(), input_size=(1, 3, 224, 224))
    assert round(info.total_macs / 1e9, 2) == 1.81  # torchvision's figure for resnet18
    rows = rows_by_name(info)
    assert rows["layer1.0.relu"].calls == 2 and rows["layer1.0"].calls == 1
    assert rows["layer2.0.downsample"].output_shape == [1, 128, 28, 28]
    assert rows["layer1"].macs == sum(rows[f"layer1.{i}"].macs for i in range(2))
    assert info.rows[0].macs == info.total_macs


def test_depth_folds_deeper_layers_into_their_parent(vgg_at_32):
    vgg, deep = vgg_at_32
    shallow = summary(vgg, (1, 3, 32, 32), depth=1)
    assert [row.name for row in shallow.rows] == ["", "features", "avgpool", "classifier"]
    conv_macs = sum(r.macs for r in deep.rows if r.name.startswith("features."))
    assert rows_by_name(shallow)["features"].macs == conv_macs > 0
    assert shallow.total_macs == deep.total_macs
    assert [r.depth for r in summary(vgg, depth=None).rows].count(2) == 21 + 7


def test_summary_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model[2].eval()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    summary(model, input_size=(4, 1, 6, 6))
    assert model.training and model[0].training and not model[2].training
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_input_data_and_dtype_follow_the_model():
    model = nn.Sequential(nn.Linear(3, 2)).double()
    info = summary(model, input_data=tsf.ones(5, 3, dtype=np.float64))
    assert info.input_size == [5, 3] and info.input_bytes == 5 * 3 * 8
    assert summary(model, input_size=(5, 3)).input_bytes == 5 * 3 * 8


# --- errors ---------------------------------------------------------------------------------------
def test_an_input_that_does_not_fit_names_the_layer_and_the_shapes(vgg):
    with pytest.raises(ValueError) as caught:
        summary(vgg, input_size=(1, 4, 32, 32))
    message = str(caught.value)
    assert message.startswith("summary: layer 'features.0' (Conv2d) failed on input of shape "
                              "[1, 4, 32, 32]: ")
    assert "weight of size [64, 3, 3, 3]" in message and "got 4 channels" in message
    assert all(not m._forward_hooks for m in vgg.modules()) and vgg.training


def test_a_linear_layer_that_does_not_fit_is_named():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ValueError,
                       match=r"layer '1' \(Linear\) failed on input of shape \[2, 72\]: "
                             r"linear: input of shape \(2, 72\) has 72 features"):
        summary(model, input_size=(2, 8, 9))


@pytest.mark.parametrize("kwargs,message", [
    ({"input_size": (1, 0, 8)}, r"input_size\[1\] must be a positive int, got 0"),
    ({"input_size": [(1, 3), (2, 2.5)]}, r"input_size\[1\]\[1\] must be a positive int, got 2.5"),
    ({"depth": -1}, r"depth must be a non-negative int or None, got -1"),
])
def test_bad_arguments_are_reported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        summary(nn.Linear(3, 3), **kwargs)


# --- output formats -------------------------------------------------------------------------------
def test_table_json_and_markdown_agree(vgg_at_32):
    info = vgg_at_32[1]
    data = json.loads(info.to_json())
    assert data == json.loads(json.dumps(info.to_dict()))
    assert data["total_params"] == info.total_params and len(data["rows"]) == len(info.rows)
    assert data["rows"][1] == {**data["rows"][1], "name": "features", "depth": 1, "calls": 1}
    table = str(info).splitlines()
    body = table[3:3 + len(info.rows)]
    assert len({len(line) for line in table[:3 + len(info.rows)]}) == 1  # aligned columns
    assert body[1].split()[:2] == ["features", "(Sequential)"]
    assert f"Total params: {info.total_params:,}" in table
    markdown = info.to_markdown().splitlines()
    assert markdown[0].startswith("| Layer (type) | Kernel | Input shape | Output shape |")
    assert len([line for line in markdown if line.startswith("| ")]) == len(info.rows) + 2
    assert ("&nbsp;&nbsp;&nbsp;&nbsp;features.0 (Conv2d) | 3x3 | [1, 3, 32, 32] | "
            "[1, 64, 32, 32] | 1,792 | True | 1,769,472 |") in info.to_markdown()


# --- tsf summary ---------------------------------------------------------------------------------
def test_cli_prints_json_and_writes_files(tmp_path, capsys):
    assert main(["summary", "cnn", "--input-size", "2", "1", "8", "8", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "DigitsCNN" and data["input_size"] == [2, 1, 8, 8]
    assert data["total_macs"] == sum(row["macs"] for row in data["rows"][1:])
    target = tmp_path / "summary.md"
    assert main(["summary", "mlp", "--format", "markdown", "--output", str(target)]) == 0
    assert target.read_text().startswith("| Layer (type) |") and "17,226" in capsys.readouterr().out


def test_cli_reports_unknown_models_and_bad_inputs(capsys):
    assert main(["summary", "vgg12"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'vgg12'; choose one of: cnn, cnn-bn, gpt, lstm, mlp, resnet18" in err
    assert main(["summary", "mlp", "--input-size", "2", "65"]) == 2  # a known failure
    err = capsys.readouterr().err
    assert "tsf summary: layer '1' (Linear) failed on input of shape [2, 65]" in err
