# %% [markdown]
# # Design a Clinical NEWS Score Calculator API
#
# The National Early Warning Score 2 (NEWS2, Royal College of Physicians, 2017) turns seven
# bedside observations into a number from 0 to 20. Each observation falls in one printed band
# of the chart and scores 0 to 3; the total, and whether any single observation scored 3,
# select the clinical risk, how often to observe the patient, and who must be told.
#
# A wrong answer here is a patient-safety problem, so the design is *safe before clever*:
# validate everything before scoring anything, report every problem at once, never guess a
# unit or a missing value, and keep the chart as data that one engine reads.

# %%
import dataclasses
import json
import threading
import time
import urllib.request

import designpatterns_ref as dp
from designpatterns_ref.clinical import (
    ACVPU,
    NEWS2,
    Risk,
    Vitals,
    VitalsError,
    assess,
    news2,
    news2012,
)
from designpatterns_ref.clinical.base import Threshold
from designpatterns_ref.clinical.plot import plot_observations, plot_ward

# %% [markdown]
# ## Scoring one patient
#
# Keywords or a `Vitals` object; consciousness on the ACVPU scale (a string or the enum).

# %%
result = news2.score(
    respiration_rate=22, spo2=95, systolic_bp=118, pulse=96,
    consciousness=ACVPU.ALERT, temperature=38.05,
)  # fmt: skip
print(f"total {result.total}, risk {result.risk}, {result.monitoring}")
print("sub-scores:", result.subscores)
print("as scored:", result.values)
for line in result.response:
    print("  -", line)

# %% [markdown]
# ## One patient over a night
#
# Observations every few hours of a patient developing sepsis, then treated. The bars show which
# parameters score (stacked sub-scores), the line the total, and the shading the risk band the
# total falls in: the escalation at 8 hours (medium: urgent review) and at 12 hours (high:
# emergency response) are visible at a glance, and so is what drove them.

# %%
course = [  # hours, respiration rate, SpO2, systolic BP, pulse, ACVPU, temperature
    (0, 16, 97, 128, 78, "A", 37.1),
    (4, 18, 96, 122, 88, "A", 37.9),
    (8, 22, 95, 112, 98, "A", 38.4),
    (10, 24, 94, 104, 108, "A", 38.8),
    (12, 26, 93, 96, 118, "C", 39.1),
    (14, 22, 95, 108, 104, "A", 38.5),
    (18, 18, 96, 118, 90, "A", 37.6),
]
keys = ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness", "temperature")
hours = [row[0] for row in course]
night = [dict(zip(keys, row[1:], strict=True)) for row in course]
for h, obs in zip(hours, night, strict=True):
    r = news2.score(**obs)  # type: ignore[arg-type]
    print(f"{h:3} h: total {r.total:2}, risk {r.risk.value}")
fig = plot_observations(hours, night)
if path := dp.show(fig, "news-score-patient"):
    print("figure saved to", path)

# %% [markdown]
# ## The chart is data
#
# Every band lives in `clinical.rules`; the engine knows nothing about NEWS. Each table checks
# at import that its bands are contiguous, so every value lands in exactly one band.

# %%
for rule in NEWS2.rules:
    if hasattr(rule, "tables"):
        for key, table in rule.tables.items():
            bands = "  ".join(f"{b.label}:{b.points}" for b in table.bands)
            print(f"{rule.parameter:17} {key or ''!s:14} {bands}")

# %% [markdown]
# ## Rounding: decimal half-up, echoed back
#
# The chart prints whole numbers (temperature to 0.1 °C). Python's `round` is the wrong tool:
# `round(38.05, 1)` is `38.0` (binary floats) and `round(24.5)` is `24` (banker's rounding).
# The engine reads the float as the decimal it prints and rounds half-up.

# %%
for t in (38.04, 38.05, 38.15):
    r = news2.score(respiration_rate=16, spo2=97, systolic_bp=120, pulse=70,
                    consciousness="A", temperature=t)  # fmt: skip
    print(f"{t} °C -> scored as {r.values['temperature']} °C ({r.subscores['temperature']} point); "
          f"round() says {round(t, 1)}")  # fmt: skip

# %% [markdown]
# ## Safe before clever
#
# Types, units and plausibility are checked first, and every problem is reported at once.

# %%
try:
    news2.score(Vitals(respiration_rate=True, spo2=0.94, systolic_bp="118", pulse=380,
                       consciousness="confused", temperature=101.3))  # fmt: skip
except VitalsError as err:
    for p in err.problems:
        print(f"{p.field:17} {p.value!r:>10}  {p.message}")

# %% [markdown]
# Missing observations are an error unless partial scoring is asked for; a partial result says
# what is missing and gives no risk, because a missing value could only have raised it.

# %%
partial = news2.score(respiration_rate=26, spo2=95, pulse=88, consciousness="A", partial=True)
print(
    f"partial={partial.partial} total>={partial.total} missing={partial.missing} "
    f"risk={partial.risk}"
)

# %% [markdown]
# ## A second ruleset, and a local variant, on the same engine
#
# NEWS (2012) is shipped as data too: one SpO2 scale, no new-confusion category, and a single
# 3 meant "medium" risk. A hospital's local escalation rule is one more `Threshold`.

# %%
rr26 = dict(
    respiration_rate=26, spo2=97, systolic_bp=120, pulse=70, consciousness="A", temperature=37.0
)
print("NEWS2:", news2.score(**rr26).risk, "| NEWS (2012):", news2012.score(**rr26).risk)

local = dataclasses.replace(
    NEWS2, name="news2-local",
    thresholds=(*NEWS2.thresholds[:2],  # emergency (7+), urgent (5+), then the new row
                Threshold("outreach", 4, Risk.MEDIUM, "Minimum 1 hourly", ("Call outreach",)),
                *NEWS2.thresholds[2:]),
)  # fmt: skip
four = dict(
    respiration_rate=22, spo2=95, systolic_bp=120, pulse=95, consciousness="A", temperature=37.0
)
print(
    "total 4 under NEWS2:",
    assess(NEWS2, four).risk,
    "| under the local variant:",
    assess(local, four).risk,
)

# %% [markdown]
# ## The HTTP API
#
# `create_app()` serves `POST /v1/news2` (FastAPI, the `api` extra). Here a real uvicorn
# server runs on a free loopback port for a moment; `dpref serve news2 --port 8000` does the same.

# %%
try:
    import uvicorn

    from designpatterns_ref.clinical.api import create_app
    from designpatterns_ref.testing import free_port
except ImportError:
    print("the api extra is not installed: skipping the HTTP part")
else:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the socket is bound

    def post(body: bytes) -> tuple[int, dict[str, object]]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/news2", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, body = post(json.dumps({**four, "temperature": 38.4}).encode())
    print(status, body["total"], body["risk"], body["monitoring"])
    status, body = post(b'{"respiration_rate": "22", "temperature": 99.5}')
    print(status, [p["field"] for p in body["problems"]])
    server.should_exit = True
    thread.join(timeout=10)

# %% [markdown]
# ## How totals spread over a ward
#
# A seeded set of observations (mostly well patients): most score 0 to 4, a tail escalates.

# %%
import random

rng = random.Random(7)


def observation() -> dict[str, object]:
    sick = rng.random() < 0.2
    return {
        "respiration_rate": rng.randint(16, 30) if sick else rng.randint(12, 20),
        "spo2": rng.randint(88, 96) if sick else rng.randint(94, 100),
        "systolic_bp": rng.randint(85, 125) if sick else rng.randint(105, 150),
        "pulse": rng.randint(85, 135) if sick else rng.randint(55, 95),
        "consciousness": "C" if sick and rng.random() < 0.1 else "A",
        "temperature": round(rng.uniform(35.5, 39.5) if sick else rng.uniform(36.0, 37.9), 1),
    }


ward = [news2.score(**observation()) for _ in range(2_000)]
totals = [r.total for r in ward]
print("risk categories:", {r.value: sum(x.risk is r for x in ward) for r in Risk})
fig = plot_ward(ward)
if path := dp.show(fig, "news-score-ward"):
    print("figure saved to", path)
