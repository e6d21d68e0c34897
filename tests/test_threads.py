"""The adaptive thread tuner on a simulated machine whose speed depends on threads and load."""

from workbench.threads import ThreadTuner, candidates_for

QUIET = {2: 30_000.0, 1: 20_000.0}  # tokens/s: two threads win on a quiet machine
BUSY = {2: 9_000.0, 1: 19_000.0}  # another process on one core: two threads collapse
TOKENS = 640  # per step


def simulate(load, seconds: float = 60.0, threads=(1, 2)):
    """Train for ``seconds`` of simulated time; ``load(t)`` gives the machine's rates at time t."""
    applied = []
    tuner = ThreadTuner(list(threads), applied.append)
    t, tokens, changes = 0.0, 0, []
    while t < seconds:
        rate = load(t)[tuner.current]
        step = TOKENS / rate
        t += step
        tokens += TOKENS
        change = tuner.observe(TOKENS, step)
        if change:
            changes.append((t, change))
    return tokens / t, tuner, changes, applied


def test_quiet_machine_keeps_the_fast_count_and_loses_little():
    rate, tuner, changes, _ = simulate(lambda t: QUIET)
    assert tuner.current == 2 and not changes
    assert rate >= 0.97 * QUIET[2]


def test_busy_machine_moves_to_one_thread_and_says_why():
    rate, tuner, changes, applied = simulate(lambda t: QUIET if t < 10 else BUSY)
    assert tuner.current == 1 and applied[-1] == 1
    when, change = changes[0]
    assert 10 < when < 13 and change.before == 2 and change.threads == 1 and "busy" in change.reason
    best_fixed = max((10 * QUIET[c] + 50 * BUSY[c]) / 60 for c in (1, 2))
    assert rate >= 0.9 * best_fixed


def test_back_to_two_threads_when_the_machine_is_quiet_again():
    _, tuner, changes, _ = simulate(lambda t: BUSY if t < 20 else QUIET, seconds=60)
    assert tuner.current == 2
    assert [c.threads for _, c in changes][-1] == 2 and "quiet" in changes[-1][1].reason


def test_a_fixed_count_never_changes():
    _, tuner, changes, applied = simulate(lambda t: BUSY, threads=(2,))
    assert not tuner.adaptive and tuner.current == 2 and not changes and applied == [2]


def test_candidates():
    assert candidates_for(0, 2, cpu=True) == [1, 2]
    assert candidates_for(0, 16, cpu=True) == [1, 2, 4]
    assert candidates_for(0, 1, cpu=True) == [1]
    assert candidates_for(3, 16, cpu=True) == [3]
    assert candidates_for(0, 8, cpu=False) == [1]
