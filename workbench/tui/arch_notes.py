"""Short explanations of the architecture picked in the launcher: which paper, which equations.

Kept in step with the docstrings of ``models/`` (cells.py, layers.py, seq2seq.py, transformer.py);
x input, h / s hidden states, e(y) an embedding, h_s the encoder output at source position s.
"""

from __future__ import annotations

CELL_NAMES = {"rnn": "RNN (tanh)", "gru": "GRU", "lstm": "LSTM", "transformer": "Transformer"}
ATTENTION_NAMES = {
    "none": "none (fixed context c)", "additive": "additive (Bahdanau)", "dot": "dot (Luong)",
    "general": "general (Luong)", "scaled-dot": "scaled dot", "local": "local-p (Luong)",
    "multihead": "multi-head",
}
CONTEXT_NAMES = {"init": "c initialises the decoder", "every-step": "c is fed at every step"}

CELLS = {
    "rnn": ("Elman RNN (Elman 1990)", ["h' = tanh(W_ih x + W_hh h + b)"]),
    "gru": ("GRU (Cho et al. 2014)", [
        "r = σ(W_ir x + W_hr h + b_r)   reset",
        "z = σ(W_iz x + W_hz h + b_z)   update",
        "n = tanh(W_in x + r ⊙ (W_hn h + b_n))",
        "h' = (1 − z) ⊙ n + z ⊙ h",
    ]),
    "lstm": ("LSTM (Hochreiter & Schmidhuber 1997, forget gate: Gers et al. 2000)", [
        "i, f, o = σ(W_i· x + W_h· h + b_·)",
        "g = tanh(W_ig x + W_hg h + b_g)",
        "c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')",
    ]),
}

TRANSFORMER = ("Transformer (Vaswani et al. 2017)", [
    "Attention(Q, K, V) = softmax(Q Kᵀ / √d) V, split into H heads",
    "each layer: x + SelfAttn(x), then x + FFN(x), each followed by layer norm",
])  # the positional scheme's line follows (``option_lines``)

SCORES = {
    "additive": ("Bahdanau et al. 2015", "score(s, h_s) = vᵀ tanh(W_q s_{t−1} + W_k h_s)"),
    "dot": ("Luong et al. 2015", "score(h_t, h_s) = h_tᵀ h_s"),
    "general": ("Luong et al. 2015", "score(h_t, h_s) = h_tᵀ W h_s"),
    "scaled-dot": ("Vaswani et al. 2017", "score(h_t, h_s) = h_tᵀ h_s / √d"),
    "local": ("Luong et al. 2015, local-p", "p_t = S·σ(v_pᵀ tanh(W_p h_t)); general score in |s − p_t| ≤ D, "
              "times exp(−(s − p_t)² / 2σ²)"),
    "multihead": ("Vaswani et al. 2017", "H scaled-dot heads on projected q, k, v; concatenated; W_o"),
}


HEAD_NOTES = {
    "tag": ["tagging (N vs N): p(y_s | x) = softmax(W h_s) at every position s"],
    "classify": ["classification (N vs 1): p(y | x) = softmax(W pool(h_1..h_S))"],
    "mlm": ["masked LM (Devlin et al. 2019, BERT): 15% of positions chosen; 80% → [MASK], 10% random, 10% kept",
            "p(x_s | x_masked) = softmax(LN(GELU(W h_s)) Eᵀ), E the input embeddings (tied)"],
}
POOLING_NOTES = {
    "last": "pool = final state (bidirectional: forward at the end, backward at the start)",
    "mean": "pool = mean of h_s over the real positions",
    "max": "pool = max over positions, per feature (Collobert et al. 2011)",
    "attention": "pool = Σ a_s h_s,  a = softmax(vᵀ tanh(W h_s))  (a learned query; weights shown)",
    "cls": "pool = h at a [CLS] position prepended to the input (BERT)",
}


def explain_encoder(cell: str, bidirectional: bool, head: str, pooling: str) -> list[str]:
    """Lines describing an encoder-family model (tagging, classification, masked LM)."""
    if cell == "transformer":
        title, lines = TRANSFORMER
        out = [f"{title} encoder: every position attends to both sides", *lines]
    else:
        title, lines = CELLS[cell]
        side = ("bidirectional (Schuster & Paliwal 1997): h_s = [→h_s ; ←h_s] sees both sides" if bidirectional
                else "left-to-right: h_s sees x_1..x_s only, never what comes after")
        out = [f"{title} encoder", side, *lines]
    out += HEAD_NOTES[head]
    if head == "classify":
        out.append(POOLING_NOTES[pooling])
    return out


def explain(family: str, cell: str, attention: str, context: str, bidirectional: bool) -> list[str]:
    """Lines describing the architecture; the first line is its name."""
    if cell == "transformer":
        title, lines = TRANSFORMER
        kind = "decoder-only language model (causal self-attention)" if family == "lm" else \
            "encoder-decoder: self-attention in both, decoder cross-attends to the encoder"
        return [f"{title}, {kind}", *lines]
    title, cell_lines = CELLS[cell]
    if family == "lm":
        return [f"{title} language model", *cell_lines, "p(y_t | y_<t) = softmax(W h_t)   (char-RNN)"]
    enc = "bidirectional encoder: h_s = [→h_s ; ←h_s]" if bidirectional else "left-to-right encoder: h_s"
    out = [f"{title} encoder-decoder", enc, *cell_lines]
    if attention == "none":
        if context == "every-step":
            out += ["Cho et al. 2014: c = encoder's final state, fed at every step:",
                    "s_t = RNN(s_{t−1}, [e(y_{t−1}); c]),  p_t = softmax(W_o s_t)"]
        else:
            out += ["Sutskever et al. 2014: c = encoder's final state starts the decoder:",
                    "s_0 = tanh(W_b c),  s_t = RNN(s_{t−1}, e(y_{t−1})),  p_t = softmax(W_o s_t)"]
        return out
    paper, score = SCORES[attention]
    out += [f"attention ({paper}): {score}",
            "a_t = softmax_s(score),  c_t = Σ_s a_t(s) h_s"]
    if attention == "additive":
        out.append("s_t = RNN(s_{t−1}, [e(y_{t−1}); c_t]),  p_t = softmax(W_o tanh(W_r [c_t; s_t]))")
    else:
        out.append("h~_t = tanh(W_c [c_t; h_t]),  p_t = softmax(W_s h~_t)")
    return out


def valid_attentions(family: str, cell: str) -> list[str]:
    """Attention choices that make sense for a task family and cell (``models.attention_choices``)."""
    from models import attention_choices

    return list(attention_choices(family, cell))


# the options of issue 15, each with its equation (models/positions.py, hard_attention.py, seq2seq.py)
POSITION_NAMES = {"sinusoidal": "sinusoidal (added)", "learned": "learned (added)",
                  "relative": "relative (T5 bias)", "rotary": "rotary (RoPE)"}
POSITION_LINES = {
    "sinusoidal": "positions: PE(p, 2i) = sin(p / 10000^(2i/D)), cos on odd i, added to the embeddings",
    "learned": "positions: a learned vector P[p] added to each embedding (Gehring et al. 2017)",
    "relative": "positions: score(i, j) = q_i·k_j / √d + b_h[bucket(j − i)] in self-attention (T5, Raffel et al. 2020)",
    "rotary": "positions: q, k rotated by p·θ_k per feature pair, so q_i·k_j depends on i − j only (Su et al. 2021)",
}
HARD_NAMES = {"off": "soft (weighted average)", "gumbel": "hard · Gumbel straight-through", "reinforce": "hard · REINFORCE"}
HARD_LINES = {
    "gumbel": "hard: c_t = h_z, z = argmax_s (log a_t(s) + g_s); gradient of softmax((log a_t + g)/τ), τ 1 → 0.1",
    "reinforce": "hard: c_t = h_z, z ~ a_t; scorer trained by (r_t − b)·∇log a_t(z) (Xu et al. 2015)",
}
CONTEXT_FROM_NAMES = {"last": "last state", "transform": "tanh(W · last)", "mean": "mean of all states",
                      "max": "max over all states"}
CONTEXT_FROM_LINES = {
    "last": "c = h_last   (the final state; bidirectional: [→h_S; ←h_1])",
    "transform": "c = tanh(W h_last + b)   (Bahdanau et al. 2015 start their decoder from tanh(W ←h_1))",
    "mean": "c = (1/S) Σ_s h_s",
    "max": "c_i = max_s h_s,i   (max pooling over time)",
}
ENCODER_NAMES = {"rnn": "reads the source in order", "vector": "one input vector (1 vs N)",
                 "conv": "gated convolutions (ConvS2S)"}
CONV_LINE = "ConvS2S encoder (Gehring et al. 2017): h^l = (A ⊙ σ(B) + h^(l−1))·√0.5, [A; B] = Conv_k(h^(l−1)), learned positions"
VECTOR_LINE = "1 vs N: no encoder RNN; c = x = tanh(Σ_s W_p(s) e(x_s) + b), one vector for the whole input"


def option_lines(values: dict[str, str]) -> list[str]:
    """Equations of the chosen positions / hard-attention / context options (launcher values)."""
    out = []
    if values.get("cell") == "transformer" and values.get("positions"):
        out.append(POSITION_LINES[values["positions"]])
    if values.get("hard_attention", "off") != "off":
        out.append(HARD_LINES[values["hard_attention"]])
    # an RNN encoder-decoder ("context" is offered) without attention: c is fixed, and where it comes from matters
    if "context" in values and values.get("attention") == "none" and values.get("encoder", "rnn") == "rnn":
        out.append(CONTEXT_FROM_LINES[values["context_from"]])
    return out
DECODER_NAMES = {"one": "one decoder", "skip-thought": "two: sentence i−1 and i+1 (skip-thought)"}
SKIP_THOUGHT_LINES = [
    "skip-thought (Kiros et al. 2015): h_i = the encoder's final state over sentence i, read by two decoders",
    "each decoder at every step: r, z = σ(W x_{t−1} + U h_{t−1} + C h_i),  n = tanh(W x + C h_i + r ⊙ U h)",
    "h_t = (1 − z) ⊙ n + z ⊙ h_{t−1};  one decoder writes sentence i−1, the other i+1 (own W, U, C)",
    "p(w_t | w_<t, h_i) ∝ exp(V h_t), V and the word embeddings shared;  loss = −log p(s_{i−1}) − log p(s_{i+1})",
]
