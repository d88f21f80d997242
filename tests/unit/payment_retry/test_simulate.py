"""`bindery simulate`: the real engine on a virtual clock against the processor sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bindings.clock import VirtualClock
from tooling import cli
from tooling.simulation import command as simulation
from tooling.simulation import customers as campaign

# Each profile's only possible end once its case has had time to finish (arrivals + 10-day deadline).
_ENDS = {
    "recovers": "recovered",
    "stays_soft": "abandoned",
    "expired_updates": "recovered",
    "expired_silent": "abandoned",
    "fraud": "abandoned",
    "pays_elsewhere": "canceled",
    "flaky": "recovered",
}


@pytest.fixture(scope="module")
def finished() -> simulation.Simulation:
    """An 18-day campaign: failures arrive over 6 days, so every case has reached its deadline."""
    return simulation.run(days=18, customers=70, seed=3)


def test_every_profile_ends_where_its_card_leads(finished: simulation.Simulation) -> None:
    """Soft declines recover or give up, expired cards wait for a new one, paying elsewhere cancels."""
    outcome = finished.outcome
    assert sum(outcome.statuses.values()) == 70
    assert set(outcome.by_profile) == set(_ENDS), "the seed should draw every profile"
    for profile, statuses in outcome.by_profile.items():
        assert set(statuses) == {_ENDS[profile]}, (profile, statuses)


def test_the_ledger_and_the_cases_agree_on_every_charge(finished: simulation.Simulation) -> None:
    """No (case, attempt) is charged twice, and each case records exactly the charges the processor made."""
    assert finished.charges == sum(finished.outcome.charged.values()) > 0
    assert (finished.duplicate_charges, finished.disagreements) == (0, 0)
    assert max(finished.outcome.charges_per_case) <= 4, "the default policy retries 4 times"


def test_the_effects_follow_the_statuses(finished: simulation.Simulation) -> None:
    """A payment_failed notice per case, a receipt and an email per recovery, a cancel per give-up."""
    outcome = finished.outcome
    assert outcome.emails["payment_failed"] == 70
    assert outcome.receipts == outcome.emails["recovered"] == outcome.statuses["recovered"]
    assert outcome.actions == {"cancel": outcome.statuses["abandoned"]}
    assert outcome.emails["canceled"] + outcome.waiting >= outcome.statuses["abandoned"]
    assert not outcome.rejected
    assert outcome.tick_errors == 0
    assert outcome.ticks == 18 * 24 * 60


def test_each_effect_is_published_once(finished: simulation.Simulation) -> None:
    """One case.opened per case, one event per answered charge and per closed case, each id once."""
    outcome = finished.outcome
    assert outcome.published["case.opened"] == 70
    assert outcome.published["attempt.charged"] == finished.charges == sum(outcome.charged.values())
    for status in ("recovered", "abandoned", "canceled"):
        assert outcome.published[f"case.{status}"] == outcome.statuses[status], status
    assert outcome.event_ids == outcome.published.total()


def test_the_same_seed_gives_the_same_campaign() -> None:
    """Two runs with one seed end every case the same way and send the same emails."""
    first, second = (simulation.run(days=5, customers=25, seed=11) for _ in range(2))
    assert first.outcome.by_profile == second.outcome.by_profile
    assert first.outcome.emails == second.outcome.emails
    assert first.outcome.charged == second.outcome.charged


def test_the_command_prints_the_campaign(capsys: pytest.CaptureFixture[str]) -> None:
    """`bindery simulate` prints the counts and a progress bar that ends at the last day."""
    assert cli.main(["simulate", "--days", "2", "--customers", "12", "--seed", "5"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Campaign: 12 customers over 2 days (seed 5)")
    assert "payment_failed 12" in out
    assert "case.opened 12" in out
    assert "0 duplicated, 0 cases disagreeing" in out
    assert err.strip().splitlines()[-1].endswith("day   2.0/2")


def test_the_command_refuses_an_empty_campaign(capsys: pytest.CaptureFixture[str]) -> None:
    """Zero customers is a clear error, not an empty report."""
    assert cli.main(["simulate", "--customers", "0"]) == 1
    assert "at least 1" in capsys.readouterr().err


def test_customers_are_spread_over_the_arrival_window() -> None:
    """Failures fall inside the window, and the profiles are drawn by weight from the seed."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    people = campaign.customers(500, seed=2, start=start, arrivals=timedelta(days=3))
    assert all(start <= person.failed_at <= start + timedelta(days=3) for person in people)
    assert {person.profile for person in people} == set(_ENDS)
    assert people == campaign.customers(500, seed=2, start=start, arrivals=timedelta(days=3))


def test_a_virtual_clock_moves_only_forward() -> None:
    """It advances by the step asked, refuses to go back, and needs a time zone."""
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(minutes=90)) == datetime(2026, 1, 1, 1, 30, tzinfo=UTC) == clock.now()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone"):
        VirtualClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
