"""The virtual clock: timers fire in order, each seeing its own moment; nothing moves unless driven."""

from __future__ import annotations

from datetime import timedelta

from nodewarden.twin.clock import EPOCH, Clock


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = Clock()
    assert clock.now() == EPOCH
    clock.advance(seconds=30, minutes=1)
    assert clock.now() == EPOCH + timedelta(seconds=90)


def test_timers_fire_in_time_order_and_see_their_own_moment() -> None:
    clock = Clock()
    seen: list[tuple[str, float]] = []
    clock.call_later(20, lambda: seen.append(("b", clock.elapsed())))
    clock.call_later(5, lambda: seen.append(("a", clock.elapsed())))
    clock.call_later(100, lambda: seen.append(("late", clock.elapsed())))
    clock.advance(seconds=60)
    assert seen == [("a", 5.0), ("b", 20.0)]
    assert clock.elapsed() == 60.0


def test_a_repeating_timer_fires_once_per_interval_and_can_be_cancelled() -> None:
    clock = Clock()
    ticks: list[float] = []
    handle = clock.call_every(10, lambda: ticks.append(clock.elapsed()))
    clock.advance(seconds=35)
    assert ticks == [10.0, 20.0, 30.0]
    handle.cancel()
    clock.advance(seconds=60)
    assert ticks == [10.0, 20.0, 30.0]


def test_a_timer_scheduled_by_a_timer_fires_in_the_same_advance() -> None:
    clock = Clock()
    seen: list[float] = []

    def schedule_another() -> None:
        clock.call_later(5, lambda: seen.append(clock.elapsed()))

    clock.call_later(10, schedule_another)
    clock.advance(seconds=20)
    assert seen == [15.0]


def test_a_speed_clock_runs_timers_from_real_time_on_its_own() -> None:
    import threading

    clock = Clock(speed=1000.0)
    fired = threading.Event()
    clock.call_later(30, fired.set)  # 30 twin seconds = 0.03 real seconds
    clock.start()
    try:
        assert fired.wait(timeout=5)
        assert clock.elapsed() >= 30
    finally:
        clock.stop()
