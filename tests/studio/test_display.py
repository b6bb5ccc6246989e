"""The display copy's schedule (engines/live/display.py), on a clock the tests move: what a pause of
training draws for each motion of view, the budget it pays from, when it asks for the training state,
and what the GUI is handed."""
import numpy as np
import pytest

from engines.boltzmann.frames import ChainState
from engines.core.commands import CallMethod
from engines.registry import engine_class
from engines.live import display as d
from engines.live.training import split_state
from engines.live.display import DisplaySession, PictureBudget
from engines.live.protocol import RunSpec, State, Wanted


class Clock:
    """A clock the test moves; ``draw_s`` is added whenever it is read (each read costs that long)."""

    def __init__(self):
        self.now, self.draw_s = 100.0, 0.0

    def __call__(self) -> float:
        self.now += self.draw_s
        return self.now


def rbm_session(clock: Clock, **overrides) -> DisplaySession:
    cls = engine_class("rbm")
    return DisplaySession(RunSpec(model="rbm", data="digits", overrides={**cls.smoke_overrides, **overrides}), clock)


def share(session: DisplaySession, step: int = 5) -> None:
    """A training state arrives (the copy's own weights, at ``step``)."""
    session.engine.step = step
    tensors: list = []
    skeleton = split_state(session.engine.picture_state(), tensors)
    session.receive_state(State(skeleton, [t.clone().share_memory_() for t in tensors]))


@pytest.fixture
def clock():
    return Clock()


def test_the_budget_accrues_its_share_saves_up_a_second_and_affords_what_costs_more_once_full(clock):
    budget = PictureBudget(0.1, clock)
    assert budget.balance == pytest.approx(0.1 * d.BUDGET_SAVED_S)        # saved up before training
    budget.spend(0.1)
    assert not budget.affords(0.01)
    clock.now += 0.5
    assert budget.affords(0.05) and not budget.affords(0.06)
    clock.now += 100                                                      # a long pause of training
    assert budget.accrue() == pytest.approx(0.1 * d.BUDGET_SAVED_S)       # pays for no burst after it
    assert budget.affords(5.0)             # a costly picture, once the budget is full ...
    budget.spend(5.0)
    assert budget.balance < 0              # ... which the next seconds pay back
    budget.learn("x", 0.010)
    budget.learn("x", 0.020)
    assert 0.010 < budget.estimate("x") < 0.020 and budget.estimate("y") == 0.0


def test_a_pause_draws_a_run_of_sampling_pictures_that_move_from_the_same_weights(clock):
    session = rbm_session(clock)
    session.make_frame()                                  # the first picture, before any state
    first = session.take()
    assert {f.name for f in first.frames} >= {"chains", "filters", "reconstructions"} and not first.run
    share(session, step=4)
    session.make_frame()
    first_run = len(session.take().run)                  # the first state: a pause's worth of pictures
    assert 1 <= first_run <= d.SAMPLING_FPS / d.STATE_FPS + 1
    clock.now += 1.0
    share(session, step=5)
    assert session.due_in() == 0.0 and session.make_frame()    # drawn from a state: training waits
    message = session.take()
    assert len(message.run) == d.SAMPLING_FPS           # a second later: a second's pictures
    assert message.spacing == pytest.approx(1 / d.SAMPLING_FPS) and message.state_wall > 0
    states = [next(f for f in picture if f.name == "chains") for picture in message.run]
    assert all(isinstance(s, ChainState) and s.step == 5 for s in states)
    sweeps = 2 + first_run                                       # the first picture, the first run, then one each
    assert [int(s.gibbs_steps.max()) for s in states] == list(range(sweeps, sweeps + d.SAMPLING_FPS))
    assert states[0].probs.dtype == np.uint8                    # pixels cross the pipe as uint8
    assert not np.array_equal(states[0].probs, states[-1].probs)
    assert session.take() is None                                # each picture is handed over once


def test_the_state_views_of_the_main_area_come_with_every_state_and_side_views_once_a_second(clock):
    session = DisplaySession(RunSpec(model="toy", data="digits"), clock)
    assert session.engine.views[0].area == "main"
    drawn = []
    for i in range(6):
        clock.now += 0.25
        share(session, step=i + 1)
        session.make_frame()
        drawn.append({f.name for f in session.take().frames})
    assert all("mean" in names for names in drawn)                        # main: every state
    assert sum("bars" in names for names in drawn) == 2                   # side: every SLOW_VIEW_S


def test_it_asks_for_the_state_as_often_as_the_budget_pays_and_at_least_once_a_second(clock):
    session = DisplaySession(RunSpec(model="toy", data="digits"), clock)
    share(session)
    session.make_frame()
    assert session.state_due_in() == pytest.approx(1 / d.STATE_FPS)      # no more than STATE_FPS a second
    clock.now += 1 / d.STATE_FPS
    assert session.state_due_in() == 0.0
    session.budget.learn("mean", 10.0)            # a main picture far dearer than the budget
    session.budget.balance = -1.0
    assert 0 < session.state_due_in() <= d.STATE_MAX_AGE_S
    clock.now += d.STATE_MAX_AGE_S
    assert session.state_due_in() == 0.0          # ... yet the state is never older than a second
    session.command(Wanted(frozenset()))
    assert session.state_due_in() is None         # no panel on screen: no state asked for


def test_sampling_alone_asks_for_fewer_states_and_the_run_is_bounded_by_the_budget(clock):
    session = rbm_session(clock)
    session.command(Wanted(frozenset({"chains", "chain_history"})))
    share(session)
    session.make_frame()
    session.take()
    assert session.state_due_in() == pytest.approx(1 / d.SAMPLING_STATE_FPS)
    session.budget.share = 0.07
    session.budget.costs["sampling"] = 0.01   # pictures of 10 ms ...
    session.budget.balance = -0.035
    clock.now += 1.0                          # ... and a second accrues 70 ms: pays for three
    share(session)
    session.make_frame()
    assert len(session.take().run) == 3


def test_what_the_user_does_is_drawn_at_once_and_drops_the_run_drawn_before_it(clock):
    session = rbm_session(clock)
    clock.now += 1.0
    share(session)
    session.make_frame()
    assert session.fresh
    session.command(CallMethod("restart_chain", (0,)))
    clock.now += 1.0
    assert session.due_in() == 0.0
    assert not session.make_frame()           # drawn beside training: nobody waits for it
    message = session.take()
    assert not message.run                    # the older run would play after the restart
    chains = next(f for f in message.frames if f.name == "chains")
    assert chains.gibbs_steps[0] == 1         # restarted, then one sweep
