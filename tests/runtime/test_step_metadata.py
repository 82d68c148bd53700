"""Each remediation step's metadata, read by the executor and by resume, is complete and consistent."""

from __future__ import annotations

from datetime import timedelta

from nodewarden.act.results import STEP_ACTIONS
from nodewarden.heal.policy import default_policy
from nodewarden.model.remediation import STEP_SPECS, Step


def test_every_step_has_its_metadata_and_its_event_action() -> None:
    assert set(STEP_SPECS) == set(Step)
    assert set(STEP_ACTIONS) == set(Step)


def test_every_step_azure_takes_can_be_found_in_the_activity_log_after_a_crash() -> None:
    azure = {step for step in Step if step.spec.needs_azure}
    assert azure == {Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE, Step.SCALE, Step.POWER_OFF}
    assert {step for step in Step if step.spec.in_activity_log} == azure


def test_a_resumed_step_gets_the_time_a_fresh_plan_would_give_it_by_default() -> None:
    # a resumed intent carries no timeout: the drain gets the policy's default drain time, ARM operations 30 min
    assert Step.DRAIN.spec.default_timeout == default_policy().for_pool(None).drain.timeout
    assert all(step.spec.default_timeout == timedelta(minutes=30) for step in Step if step.spec.needs_azure)
    assert Step.CORDON.spec.default_timeout is None


def test_each_step_maps_to_the_event_action_of_the_same_name() -> None:
    assert all(action.value == step.value for step, action in STEP_ACTIONS.items())
