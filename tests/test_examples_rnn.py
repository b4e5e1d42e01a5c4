"""PyTorch-style recurrent models run unmodified, with only their imports changed.

Two programs written in the style of pytorch/examples: the word-level language model
(``word_language_model``: an Embedding, an LSTM/GRU/RNN, a possibly tied Linear decoder, batchify,
truncated backpropagation with repackaged hidden states, gradient clipping and a hand-written SGD
update) and the sine-wave predictor of ``time_sequence_prediction`` (two LSTMCells unrolled by
hand, future prediction, L-BFGS). Each source below is executed twice, once after ``import torch``
and once after ``import torchsorflow as torch``; the models start from the same weights and must
give PyTorch's losses, gradients and parameters after the optimizer steps.
"""
import numpy as np
import pytest

torch_module = pytest.importorskip("torch")

HEADERS = {
    "torch": "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
             "import torch.optim as optim\n",
    "torchsorflow": "import torchsorflow as torch\nfrom torchsorflow import nn\n"
                    "import torchsorflow.nn.functional as F\nimport torchsorflow.optim as optim\n",
}


def load(source, library):
    namespace = {}
    exec(compile(HEADERS[library] + source, f"<{library} example>", "exec"), namespace)
    return namespace


WORD_LANGUAGE_MODEL = '''
class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ['LSTM', 'GRU']:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            except KeyError as e:
                raise ValueError("""An invalid option for `--model` was supplied,
                                 options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']""") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight

        self.init_weights()

        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == 'LSTM':
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


def batchify(data, bsz):
    # Work out how cleanly we can divide the dataset into bsz parts.
    nbatch = data.size(0) // bsz
    # Trim off any extra elements that wouldn't cleanly fit (remainders).
    data = data.narrow(0, 0, nbatch * bsz)
    # Evenly divide the data across the bsz batches.
    data = data.view(bsz, -1).t().contiguous()
    return data


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i+seq_len]
    target = source[i+1:i+1+seq_len].view(-1)
    return data, target


def train(model, train_data, ntokens, bptt, lr, clip, batch_size, batches, record):
    model.train()
    criterion = nn.NLLLoss()
    hidden = model.init_hidden(batch_size)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        if batch == batches:
            break
        data, targets = get_batch(train_data, i, bptt)
        # Starting each batch, we detach the hidden state from how it was previously produced.
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        record(batch, loss, model)
        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
    return hidden
'''


def _numpy(t):
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


def _run_language_model(library, rnn_type, tied, weights, corpus):
    code = load(WORD_LANGUAGE_MODEL, library)
    torch = code["torch"]
    model = code["RNNModel"](rnn_type, 50, 16, 16, 2, dropout=0.0, tie_weights=tied)
    if weights is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    start = {k: _numpy(v).copy() for k, v in model.state_dict().items()}
    train_data = code["batchify"](torch.tensor(corpus), 4)
    losses, grads = [], []

    def record(batch, loss, model):
        losses.append(loss.item())
        grads.append({n: _numpy(p.grad).copy() for n, p in model.named_parameters()})

    hidden = code["train"](model, train_data, 50, bptt=7, lr=5.0, clip=0.25, batch_size=4,
                           batches=3, record=record)
    model.eval()
    data, _ = code["get_batch"](train_data, 21, 7)
    output, _ = model(data, code["repackage_hidden"](hidden))
    final = {k: _numpy(v).copy() for k, v in model.state_dict().items()}
    return start, losses, grads, _numpy(output), final


@pytest.mark.parametrize("rnn_type,tied", [("LSTM", False), ("LSTM", True), ("GRU", False),
                                           ("RNN_TANH", False), ("RNN_RELU", True)])
def test_word_language_model_trains_like_pytorch(rnn_type, tied):
    torch_module.manual_seed(0)
    torch_module.set_num_threads(1)
    corpus = np.random.default_rng(0).integers(0, 50, 200)
    start, losses, grads, output, final = _run_language_model("torch", rnn_type, tied, None,
                                                              corpus)
    ours = _run_language_model("torchsorflow", rnn_type, tied, start, corpus)
    assert list(ours[0]) == list(start)                     # the same state_dict keys
    np.testing.assert_allclose(ours[1], losses, rtol=2e-6)
    for name in grads[0]:
        for step in range(3):
            np.testing.assert_allclose(ours[2][step][name], grads[step][name], rtol=1e-4,
                                       atol=2e-6, err_msg=f"{name} at batch {step}")
    np.testing.assert_allclose(ours[3], output, rtol=1e-4, atol=2e-5)
    for name in final:
        np.testing.assert_allclose(ours[4][name], final[name], rtol=1e-4, atol=2e-6,
                                   err_msg=name)


TIME_SEQUENCE_PREDICTION = '''
class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input, future = 0):
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):# if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def train(seq, data, steps, record):
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    seq.double()
    criterion = nn.MSELoss()
    # use LBFGS as optimizer since we can load the whole data to train
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    for i in range(steps):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            record("closure", loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = 10
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            record("test", loss.item())
            y = pred.detach().numpy()
    return y
'''


def _sine_waves():
    """generate_sine_wave.py's data, shorter: N waves of length L with random phase."""
    rng = np.random.default_rng(2)
    T, L, N = 20, 60, 8
    x = np.array(range(L)) + rng.integers(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


def _run_time_sequence(library, weights, data):
    code = load(TIME_SEQUENCE_PREDICTION, library)
    torch = code["torch"]
    seq = code["Sequence"]()
    if weights is not None:
        seq.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    start = {k: _numpy(v).astype("float64") for k, v in seq.state_dict().items()}
    log = []
    prediction = code["train"](seq, data, 2, lambda kind, value: log.append((kind, value)))
    final = {k: _numpy(v).copy() for k, v in seq.state_dict().items()}
    return start, log, prediction, final


def test_time_sequence_prediction_with_lstm_cells_matches_pytorch():
    torch_module.manual_seed(0)
    torch_module.set_num_threads(1)
    data = _sine_waves()
    start, log, prediction, final = _run_time_sequence("torch", None, data)
    ours = _run_time_sequence("torchsorflow", start, data)
    assert [kind for kind, _ in ours[1]] == [kind for kind, _ in log]   # as many evaluations
    np.testing.assert_allclose([v for _, v in ours[1]], [v for _, v in log], rtol=1e-7)
    np.testing.assert_allclose(ours[2], prediction, rtol=1e-7, atol=1e-10)
    for name in final:
        np.testing.assert_allclose(ours[3][name], final[name], rtol=1e-6, atol=1e-9,
                                   err_msg=name)
