"""Breaking things on purpose: fault schedules, a fault-injecting proxy, a Chaos Monkey.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

- :class:`FaultSchedule` (:mod:`.faults`): seeded latency, errors, blackholes and kills on a
  Python callable, phase by phase on a clock;
- :class:`ChaosProxy` (:mod:`.proxy`): a real asyncio TCP proxy on loopback whose latency,
  bandwidth, reset and timeout toxics change at run time, in front of a real server such as
  :class:`EchoServer` (:mod:`.echo`);
- :func:`run_experiment` (:mod:`.monkey`): a fleet behind a load balancer, a monkey killing
  instances, and the success rate and latency clients see with each set of guards;
- :func:`contention_study` (:mod:`.contention`): the AWS "Exponential Backoff And Jitter"
  simulation (calls and completion time for no, full, equal and decorrelated jitter).

Examples:
    >>> from designpatterns_ref.resilience.chaos import run_experiment
    >>> run_experiment("timeout", scenario="steady", requests=100).experiment.failed
    0
"""

from __future__ import annotations

from designpatterns_ref.resilience.chaos.contention import (
    ContentionResult,
    contention_study,
    policies,
    simulate_contention,
)
from designpatterns_ref.resilience.chaos.echo import EchoServer, LoopThread
from designpatterns_ref.resilience.chaos.faults import (
    FaultSchedule,
    FaultStats,
    InjectedError,
    InjectedTimeout,
    InstanceDown,
    Latency,
    Phase,
)
from designpatterns_ref.resilience.chaos.monkey import (
    GUARD_SETS,
    ChaosMonkey,
    ExperimentResult,
    Fleet,
    GroupResult,
    availability_table,
    run_experiment,
)
from designpatterns_ref.resilience.chaos.proxy import ChaosProxy, Toxic

__all__ = [
    "GUARD_SETS",
    "ChaosMonkey",
    "ChaosProxy",
    "ContentionResult",
    "EchoServer",
    "ExperimentResult",
    "FaultSchedule",
    "FaultStats",
    "Fleet",
    "GroupResult",
    "InjectedError",
    "InjectedTimeout",
    "InstanceDown",
    "Latency",
    "LoopThread",
    "Phase",
    "Toxic",
    "availability_table",
    "contention_study",
    "policies",
    "run_experiment",
    "simulate_contention",
]
