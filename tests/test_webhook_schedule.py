"""The retry schedule and the SQS hops that wait it out."""
import pytest

from chalicelib.events import schedule


def test_the_standard_schedule_is_the_specs():
    assert schedule.STANDARD == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert schedule.describe(schedule.STANDARD) == "immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h"


def test_each_failure_has_the_next_attempt_due_after_its_wait_and_the_last_has_none():
    now = 1000.0
    dues = [schedule.next_due(schedule.STANDARD, n, now) for n in range(1, 9)]
    assert dues == [1005.0, 1300.0, 2800.0, 8200.0, 19000.0, 37000.0, 37000.0, None]


def test_a_wait_longer_than_sqs_allows_is_spent_in_900_s_hops():
    now, due = 0.0, 36000.0
    hops = 0
    while not schedule.is_due(due, now):
        now += schedule.queue_delay(due, now)
        hops += 1
    assert (hops, now) == (40, 36000.0)
    assert schedule.queue_delay(5.2, 0) == 6 and schedule.queue_delay(-3, 0) == 0


def test_the_schedule_can_be_configured_and_is_checked():
    assert schedule.from_environment({"WEBHOOK_RETRY_SCHEDULE": "0,1,2"}) == (0, 1, 2)
    assert schedule.from_environment({}) == schedule.STANDARD
    for bad in ("1,2", "0,x", "0,-1", ",".join(["0"] * 21)):
        with pytest.raises(RuntimeError, match="WEBHOOK_RETRY_SCHEDULE"):
            schedule.parse(bad)
