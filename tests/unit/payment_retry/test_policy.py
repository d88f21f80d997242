"""Dunning policies: shipped versions load, and invalid content is rejected with a clear reason."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest

from functions.payment_retry.policy import (
    MAX_RETRIES,
    Policy,
    UnknownPolicyError,
    available_versions,
    latest,
    load_policy,
    parse_policy,
)

SHIPPED = [
    (folder.name, version)
    for folder in (files("functions.payment_retry") / "policies").iterdir()
    if folder.is_dir()
    for version in available_versions(folder.name)
]


def _data(**changes: Any) -> dict[str, Any]:
    """The default v1 policy as plain data, with top-level fields replaced."""
    return load_policy("default", 1).model_dump() | changes


def _offsets(*offsets: str, deadline: str = "30d") -> dict[str, Any]:
    """Default data with these retry offsets, a matching email ladder and `deadline`."""
    emails = _data()["emails"] | {"attempts": ["reminder"] * len(offsets)}
    return _data(retry_offsets=list(offsets), deadline=deadline, emails=emails)


@pytest.mark.parametrize(("name", "version"), SHIPPED)
def test_every_shipped_version_loads(name: str, version: int) -> None:
    """Each policies/<name>/v<N>.toml validates and declares the name and version of its path."""
    policy = load_policy(name, version)
    assert (policy.name, policy.version) == (name, version)


def test_default_v1_is_shipped_and_latest() -> None:
    """The default policy ships version 1, with four retries over a week and a 10-day deadline."""
    assert ("default", 1) in SHIPPED
    policy = latest("default")
    assert policy.version == max(available_versions("default"))
    v1 = load_policy("default", 1)
    assert [str(offset) for offset in v1.retry_offsets] == ["1d", "3d", "5d", "7d"]
    assert str(v1.deadline) == "10d"
    assert v1.emails.attempts[-1] == "final_notice"


def test_load_policy_is_cached() -> None:
    """Loading the same version twice returns the same frozen object."""
    assert load_policy("default", 1) is load_policy("default", 1)


def test_unknown_version_names_the_shipped_ones() -> None:
    """An unknown version raises UnknownPolicyError (a ValueError) listing the shipped versions."""
    with pytest.raises(UnknownPolicyError, match=r"'default' has no version 99 \(shipped: 1"):
        load_policy("default", 99)
    assert issubclass(UnknownPolicyError, ValueError)


@pytest.mark.parametrize("name", ["nope", "../default", "", "Default"])
def test_unknown_name_names_the_available_policies(name: str) -> None:
    """An unknown or path-like policy name raises UnknownPolicyError listing the policies that exist."""
    with pytest.raises(UnknownPolicyError, match=r"no dunning policy named .*available: .*default"):
        available_versions(name)
    with pytest.raises(UnknownPolicyError):
        latest(name)


def test_at_most_eight_retries() -> None:
    """Eight retry offsets are accepted; nine break the card networks' rule and are rejected."""
    eight = [f"{day}d" for day in range(1, MAX_RETRIES + 1)]
    assert len(Policy.model_validate(_offsets(*eight)).retry_offsets) == 8
    with pytest.raises(ValueError, match="at most 8"):
        Policy.model_validate(_offsets(*eight, "9d"))


@pytest.mark.parametrize("offsets", [("1d", "1d"), ("3d", "1d"), ("2d", "48h"), ("90m", "1h")])
def test_offsets_must_strictly_increase(offsets: tuple[str, ...]) -> None:
    """Equal or decreasing retry offsets (compared as durations) are rejected."""
    with pytest.raises(ValueError, match="strictly increasing"):
        Policy.model_validate(_offsets(*offsets))


@pytest.mark.parametrize("offsets", [("23h", "1d"), ("1d", "26h")])
def test_day_and_hour_offsets_must_not_be_swappable_by_dst(offsets: tuple[str, ...]) -> None:
    """A day offset within 3 hours of an hour offset is rejected: a DST day could reorder them."""
    with pytest.raises(ValueError, match="too close"):
        Policy.model_validate(_offsets(*offsets))


def test_mixed_units_far_enough_apart_are_accepted() -> None:
    """Elapsed-hour retries may precede calendar-day ones when they are well apart."""
    policy = Policy.model_validate(_offsets("2h", "20h", "2d", "4d"))
    assert [offset.calendar for offset in policy.retry_offsets] == [False, False, True, True]


def test_deadline_cannot_precede_the_last_retry() -> None:
    """A deadline shorter than the last offset is rejected; an equal one is allowed."""
    with pytest.raises(ValueError, match="deadline 6d comes before the last retry at 7d"):
        Policy.model_validate(_data(deadline="6d"))
    assert str(Policy.model_validate(_data(deadline="7d")).deadline) == "7d"


@pytest.mark.parametrize("bad", ["3 days", "0d", "1w", "-1d", "d", "1.5d", 3])
def test_durations_must_be_whole_days_hours_or_minutes(bad: object) -> None:
    """Only strings like '3d', '6h' or '90m' with a positive whole number are durations."""
    with pytest.raises(ValueError, match="positive whole number then d, h or m"):
        Policy.model_validate(_data(deadline=bad))


def test_email_ladder_needs_one_template_per_attempt() -> None:
    """The attempts ladder must name exactly one template per retry offset."""
    emails = _data()["emails"] | {"attempts": ["reminder", "final_notice"]}
    with pytest.raises(ValueError, match="2 templates for 4 retries"):
        Policy.model_validate(_data(emails=emails))


@pytest.mark.parametrize(
    "changes",
    [
        {"emails": {**_data()["emails"], "on_failure": "oops"}},
        {"final_action": "delete_account"},
        {"quiet_hours": {"start": "25:00", "end": "08:00"}},
        {"unexpected": True},
        {"retry_offsets": []},
    ],
)
def test_invalid_fields_are_rejected(changes: dict[str, Any]) -> None:
    """Unknown templates, final actions, times, extra fields and an empty schedule fail validation."""
    with pytest.raises(ValueError, match="validation error"):
        Policy.model_validate(_data(**changes))


def test_quiet_hours_cannot_be_empty() -> None:
    """A quiet-hours window starting where it ends is rejected."""
    with pytest.raises(ValueError, match="window would be empty"):
        Policy.model_validate(_data(quiet_hours={"start": "08:00", "end": "08:00"}))


def test_a_code_belongs_to_one_decline_class() -> None:
    """A decline code listed both as soft and as hard is rejected, naming the code."""
    declines = _data()["declines"]
    declines["hard"] = [*declines["hard"], "insufficient_funds"]
    with pytest.raises(ValueError, match=r"more than one class: \['insufficient_funds'\]"):
        Policy.model_validate(_data(declines=declines))


def test_file_must_declare_its_own_name_and_version() -> None:
    """A policy file whose name or version differs from its path is rejected."""
    text = (files("functions.payment_retry") / "policies" / "default" / "v1.toml").read_text()
    assert parse_policy(text, name="default", version=1) == load_policy("default", 1)
    with pytest.raises(ValueError, match=r"default/v2.toml declares name='default' version=1"):
        parse_policy(text, name="default", version=2)


def test_advice_table_only_knows_stripe_advice_codes() -> None:
    """A misspelt advice code or a fraud override in [declines.advice] is rejected."""
    declines = _data()["declines"]
    for advice in ({"try_again_latr": "soft"}, {"try_again_later": "fraud"}):
        with pytest.raises(ValueError, match="validation error"):
            Policy.model_validate(_data(declines=declines | {"advice": advice}))


def test_policies_are_hashable_values() -> None:
    """A loaded policy is frozen all the way down, so it hashes and equals its own re-validation."""
    policy = load_policy("default", 1)
    assert hash(policy) == hash(Policy.model_validate(policy.model_dump()))


def test_spacing_is_data_from_default_v3_and_older_versions_keep_their_schedule() -> None:
    """v3 states the spacing of overdue steps; v1 and v2 state none, so their open cases are unchanged."""
    assert [load_policy("default", version).spacing for version in (1, 2)] == [None, None]
    spacing = load_policy("default", 3).spacing
    assert spacing is not None
    assert (str(spacing.retries), str(spacing.emails)) == ("1d", "20h")
    with pytest.raises(ValueError, match="a duration is a positive whole number"):
        Policy.model_validate(_data(spacing={"retries": "soon", "emails": "20h"}))
