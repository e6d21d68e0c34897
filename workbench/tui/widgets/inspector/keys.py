"""The inspector's keys. The footer shows the decoding keys; each panel's border names its own keys;
``?`` lists them all, grouped by panel (``key_sheet.py``).

    → ← step / back        End run to the end      Home reset          ↑ ↓ previous / next example
    / type an input        s strategy (greedy, beam, sampling)         t teacher-forced on/off
    + - beam width or temperature                  o all options (beam, α, T, top-k, top-p, seed, max length)
    f force a token at the last decoded position (pick a candidate or type one), then continue
    n next hypothesis (beam)   a attention view (cross, decoder self, encoder self)   l layer   h head / mean
    m every layer × head at a glance (Enter opens one)   g state shown (hidden, cell, gates, context, encoder)
    , . unit -/+1   < > unit -/+10   v colour scale fixed / following the values
    p probe replay (attention over training time)   [ ] training step   1-5 tabs   ? keys   Esc q close
    e intervene (zero / clamp / mean a unit, zero a head, pin the attention) from this step   x clear edits
    w where decoding goes wrong over a split   c lockstep comparison with another run
    u the followed unit across the validation data   E export steps.svg, steps.cast + replay.json
    S save the panel shown or picked (1-5, or a click) as SVG and PNG
    z hard attention: the argmax position, or z_t drawn from the attention each step (seeded: o)
    L exact match and attention entropy by source length (test and long splits), other runs beside it
    d the other decoder (skip-thought: sentence i−1 / i+1)   N nearest sentences by sentence vector, 2-D map
"""

from textual.binding import Binding

from .panels import TABS

# The footer shows the shown keys in this order and cuts what does not fit: these fit 80 columns whole;
# the rest is on the ? sheet and in the panels' borders (End, Home, ↑↓, + - in the output's).
KEYS = [
    Binding("right", "step", "Step"),
    Binding("left", "back", "Back"),
    Binding("f", "force", "Force", priority=True),  # at once: keys typed right behind it are the bar's
    Binding("s", "strategy", "Strategy"),
    Binding("t", "teacher", "Teacher"),
    Binding("slash", "type_input", "Input"),
    Binding("question_mark", "keys", "Keys"),
    Binding("escape,q", "close", "Close"),
    Binding("o", "options", "Options"),
    Binding("e", "intervene", "Intervene"),
    Binding("x", "clear_edits", "Clear edits"),  # in the footer only while edits are active
    Binding("w", "errors", "Errors", show=False),
    Binding("c", "compare", "Compare", show=False),
    Binding("u", "units", "Unit in corpus", show=False),
    Binding("E", "export", "Export", show=False),
    Binding("S", "save_panel", "Save panel", show=False),
    Binding("L", "lengths", "Lengths", show=False),
    Binding("d", "decoder", "Decoder", show=False),
    Binding("N", "neighbours", "Neighbours", show=False),
    Binding("end", "run", "Run", show=False),
    Binding("home", "reset", "Reset", show=False),
    Binding("up", "example(-1)", "Example", show=False),
    Binding("down", "example(1)", "Example", show=False),
    Binding("plus,equals_sign", "adjust(1)", "Beam/T", show=False),
    Binding("minus", "adjust(-1)", "Beam/T -", show=False),
    Binding("n", "next_hyp", "Next hypothesis", show=False),
    Binding("z", "hard_sample", "Sample hard attention", show=False),
    Binding("a", "view", "Attention view", show=False),
    Binding("m", "overview", "All heads", show=False),
    Binding("l", "layer", "Layer", show=False),
    Binding("h", "head", "Head", show=False),
    Binding("g", "state", "State shown", show=False),
    Binding("v", "fix_scale", "Fixed colour scale", show=False),
    Binding("full_stop", "unit(1)", "Unit +1", show=False),
    Binding("comma", "unit(-1)", "Unit -1", show=False),
    Binding("greater_than_sign", "unit(10)", "Unit +10", show=False),
    Binding("less_than_sign", "unit(-10)", "Unit -10", show=False),
    Binding("p", "probe", "Probes", show=False),
    Binding("space", "play", "Play replay", show=False),
    Binding("right_square_bracket", "scrub(1)", "Train step +", show=False),
    Binding("left_square_bracket", "scrub(-1)", "Train step -", show=False),
    *(Binding(str(i + 1), f"tab('{name}')", f"{label[2:]} tab", show=False) for i, (name, label) in enumerate(TABS)),
]
