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


def simulate_with_meter(load, others, seconds: float = 60.0):
    """As ``simulate``, with a load meter: ``others(t)`` is the cores other processes use at time t."""
    clock = {"t": 0.0}
    applied = []
    tuner = ThreadTuner([1, 2], applied.append, others=lambda: others(clock["t"]))
    tokens, changes = 0, []
    while clock["t"] < seconds:
        step = TOKENS / load(clock["t"])[tuner.current]
        clock["t"] += step
        tokens += TOKENS
        change = tuner.observe(TOKENS, step)
        if change:
            changes.append((clock["t"], change))
    return tokens / clock["t"], tuner, changes, applied


def test_a_machine_known_to_be_quiet_is_never_probed():
    rate, tuner, changes, applied = simulate_with_meter(lambda t: QUIET, lambda t: 0.0)
    assert applied == [2] and not changes and tuner.current == 2
    assert rate >= 0.995 * QUIET[2]


def test_a_slowdown_is_timed_even_when_the_meter_reads_quiet():
    _, tuner, changes, _ = simulate_with_meter(lambda t: QUIET if t < 10 else BUSY, lambda t: 0.0)
    assert tuner.current == 1 and changes and changes[0][1].threads == 1


def test_after_a_busy_spell_the_way_back_is_timed():
    busy = lambda t: t < 20  # noqa: E731
    _, tuner, changes, _ = simulate_with_meter(lambda t: BUSY if busy(t) else QUIET,
                                               lambda t: 1.0 if busy(t) else 0.0)
    assert tuner.current == 2 and [c.threads for _, c in changes] == [1, 2]
    assert "quiet" in changes[-1][1].reason


def test_the_load_meter_reads_this_machine_or_says_it_cannot(tmp_path):
    from workbench.threads import OtherLoad

    assert OtherLoad(str(tmp_path / "missing"))() is None
    meter = OtherLoad()
    import time
    time.sleep(0.1)
    used = meter()
    assert used is None or 0.0 <= used <= (__import__("os").cpu_count() or 1) + 0.5


def test_a_machine_busy_at_start_begins_on_one_thread_and_climbs_when_quiet():
    applied = []
    tuner = ThreadTuner([1, 2], applied.append, others=lambda: 0.0, busy_now=True)
    assert applied == [1] and tuner.current == 1
    t = 0.0
    while t < 10:
        step = TOKENS / QUIET[tuner.current]
        t += step
        tuner.observe(TOKENS, step)
    assert tuner.current == 2, "a timed comparison finds two threads faster once the machine is quiet"
